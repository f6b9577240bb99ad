"""A table drawn from the released per-class marginals (``dp_method="marginals"``).

Post-processing of the noisy counts of :mod:`gan_augment.privacy.statistics`,
released per class: each row of class ``c`` holds, column by column and
independently, a category drawn with the class's noisy frequencies, or a
value drawn uniformly within a bin drawn with the class's noisy histogram.
The GAN trains on this table without DP: it never sees a real row, so
nothing it learns costs budget beyond the counts (the marginal-based
synthesis that Tao et al., 2021, "Benchmarking differentially private
synthetic data generation algorithms", found ahead of DP-trained GANs on
tables).
"""

from __future__ import annotations

import numpy as np

from .statistics import PrivateCounts

__all__ = ["marginal_table"]


def _probabilities(*candidates: np.ndarray) -> np.ndarray:
    """The first candidate with positive mass, normalised (uniform if none)."""
    for weights in candidates:
        total = weights.sum()
        if total > 0:
            return weights / total
    return np.full(len(candidates[0]), 1.0 / len(candidates[0]))


def marginal_table(
    counts: PrivateCounts, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw as many rows as the noisy class sizes add up to, class by class.

    A class or column whose noisy counts are all zero falls back on the
    classes pooled, then on uniform draws.

    Returns
    -------
    continuous : ndarray of float, shape (n_rows, n_continuous)
    categorical : ndarray of object, shape (n_rows, n_categorical)
    y_codes : ndarray of int, shape (n_rows,)

    Examples
    --------
    >>> import numpy as np
    >>> from gan_augment.privacy.statistics import release_statistics
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 500)
    >>> x = np.where(y == 0, 1.0, 9.0)[:, None]
    >>> counts = release_statistics(
    ...     x, np.empty((1000, 0), dtype=object), y, 2, [(0.0, 10.0)], [],
    ...     noise_multiplier=1.0, discovery_delta=0.0, rng=rng, per_class=True)
    >>> continuous, _, y_codes = marginal_table(counts, rng)
    >>> [round(float(np.median(continuous[y_codes == c, 0]))) for c in (0, 1)]
    [1, 9]
    """
    class_counts = np.maximum(counts.class_counts, 1.0)
    sizes = np.maximum(np.rint(class_counts), 1).astype(int)
    continuous, categorical, y_codes = [], [], []
    for c, size in enumerate(sizes):
        columns = []
        for histogram in counts.histograms:
            own = histogram.class_counts[c] if histogram.class_counts is not None else histogram.counts
            bins = rng.choice(len(own), size, p=_probabilities(own, histogram.counts))
            low, high = histogram.edges[bins], histogram.edges[bins + 1]
            columns.append(rng.uniform(low, high))
        continuous.append(np.stack(columns, axis=1) if columns else np.empty((size, 0)))
        cells = np.empty((size, len(counts.categories)), dtype=object)
        for j, (values, pairs) in enumerate(zip(counts.categories, counts.pair_counts)):
            p = _probabilities(pairs[c], pairs.sum(axis=0))
            cells[:, j] = np.asarray(values, dtype=object)[rng.choice(len(values), size, p=p)]
        categorical.append(cells)
        y_codes.append(np.full(size, c, dtype=np.int64))
    return np.concatenate(continuous), np.concatenate(categorical), np.concatenate(y_codes)
