"""What the model learns from the real rows outside DP-SGD, released with noise.

Two Gaussian releases of counts give every statistic the model needs besides
the discriminator's gradients; the second is chosen after the first
(adaptive composition, which the accountant covers):

1. **Domains** (only for what the user did not declare in ``dp_domain``):

   * per undeclared categorical column, one count per category seen, summed
     over the classes. A category is *discovered* (released) only if its
     noisy count exceeds a threshold chosen so that a category held by a
     single row is released with probability at most the discovery share of
     delta (the thresholding argument of private partition selection);
   * per undeclared continuous column, a coarse histogram on a grid fixed in
     advance: signed powers of two from ``2**-10`` to ``2**40`` (a bin
     ``[2**k, 2**(k+1))`` per octave, one bin around zero and two open-ended
     bins), as in the approximate bounds of Google's differential-privacy
     library. The bounds are the outer edges of the outermost bins whose
     noisy count passes a threshold that an empty bin passes with
     probability :data:`FALSE_BIN_RATE` per column.

2. **Frequencies**, within the released domains:

   * per categorical column, the rows per class and released category (class
     sizes and the frequencies of conditional sampling come from these; rows
     of unreleased categories are counted nowhere); without categorical
     columns, the rows per class;
   * per continuous column, a histogram of 64 equal bins between its bounds
     (declared or released in 1.; values outside are clipped), from which
     the modes of the mode-specific normalisation are read; with
     ``per_class=True`` (``dp_method="marginals"``), one count per class and
     bin, which still adds 1 to one count per column.

A row adds 1 to one count per column of a release, so a release touching
``m`` columns has L2 sensitivity ``sqrt(m)``. The statistics' noise
multiplier (one Gaussian mechanism's worth, from
:func:`~gan_augment.privacy.accounting.plan_budget`) is split between the two
releases so that their Rényi divergences add up to that mechanism's:
:data:`DOMAIN_SHARE` of it goes to the domains when there are any to read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from ..categories import CategoryColumn, unique_values

__all__ = [
    "ColumnHistogram", "PrivateCounts", "coarse_bounds", "discovery_threshold",
    "frequency_noise_scale", "release_statistics",
]

#: Share of the statistics' Rényi budget spent on reading the domains.
DOMAIN_SHARE = 0.75
#: The same with ``dp_method="marginals"``, whose statistics have the whole
#: budget: on 2,000 rows of Adult (4 seeds) half of it read as many domains
#: and left the frequencies less noise than three quarters did
#: (docs/privacy.md).
MARGINALS_DOMAIN_SHARE = 0.5
#: Per column, the chance that an empty bin of the coarse grid passes the
#: bounds threshold (which would widen that column's bounds).
FALSE_BIN_RATE = 0.01

_OCTAVES = 2.0 ** np.arange(-10, 41)
#: Edges of the coarse grid of undeclared continuous columns.
COARSE_EDGES = np.concatenate([[-np.inf], -_OCTAVES[::-1], _OCTAVES, [np.inf]])
_LOG_GRID = 10.0 ** (np.arange(-40, 101) / 10.0)
_BOUNDED_BINS = 64


def _grid(low: float, high: float) -> np.ndarray:
    """Bin edges between known bounds: 64 equal bins, plus the points of a
    signed logarithmic grid that fall inside (which resolve a point mass at 0)."""
    signed = np.concatenate([-_LOG_GRID[::-1], [0.0], _LOG_GRID])
    inside = signed[(signed > low) & (signed < high)]
    return np.unique(np.concatenate([np.linspace(low, high, _BOUNDED_BINS + 1), inside]))


@dataclass
class ColumnHistogram:
    """A continuous column's noisy histogram between its bounds (negative counts set to 0).

    ``class_counts`` holds one histogram per class when they were released
    per class (then ``counts`` is their sum), else None.
    """

    edges: np.ndarray
    counts: np.ndarray
    class_counts: np.ndarray | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        return float(self.edges[0]), float(self.edges[-1])

    def quantiles(self, probabilities: np.ndarray, low: float, high: float) -> np.ndarray:
        """Quantiles of the noisy histogram within ``[low, high]``, linear within bins."""
        edges = np.clip(self.edges, low, high)
        counts = np.where(np.diff(edges) > 0, self.counts, 0.0)
        cumulative = np.concatenate([[0.0], np.cumsum(counts)])
        if cumulative[-1] <= 0:
            return np.linspace(low, high, len(probabilities))
        keep = np.concatenate([[True], np.diff(cumulative) > 0])
        return np.interp(
            probabilities * cumulative[-1], cumulative[keep], edges[keep]
        )


@dataclass
class PrivateCounts:
    """Everything released, after noise.

    Attributes
    ----------
    class_counts : ndarray of shape (n_classes,)
        Noisy rows per class (at least 1), from released cells only.
    categories : list of ndarray
        Per categorical column, the categories released (declared or discovered).
    pair_counts : list of ndarray of shape (n_classes, n_released)
        Per categorical column, noisy rows per class and released category (>= 0).
    histograms : list of ColumnHistogram
        Per continuous column, between its bounds.
    noise_std : tuple of float
        Standard deviation of the noise on every count of the domains release
        (0 when there was none) and of the frequencies release.
    history : list of (noise_multiplier, 1.0, 1)
        The releases in the form of Opacus's accountant.
    raw_pair_counts : list of ndarray
        ``pair_counts`` before negative counts were set to 0: unbiased, for
        estimators that weigh each count by its noise (``dp_method="pairs"``).
    """

    class_counts: np.ndarray
    categories: list
    pair_counts: list
    histograms: list
    noise_std: tuple
    history: list
    raw_pair_counts: list | None = None


def discovery_threshold(noise_std: float, n_columns: int, delta: float) -> float:
    """Noisy count a discovered category must pass.

    A row present in only one of two neighbouring data sets can bring at most
    one unseen category per column; each passes with probability
    ``P(1 + N(0, noise_std**2) > threshold)``, and the threshold makes the
    union over ``n_columns`` columns at most ``delta``.
    """
    return 1.0 + noise_std * float(norm.isf(delta / max(n_columns, 1)))


def coarse_bounds(counts: np.ndarray, noise_std: float) -> tuple[float, float] | None:
    """Bounds read off a noisy histogram on :data:`COARSE_EDGES`: the span of
    the bins that pass the threshold (an open-ended bin gives its finite
    edge); None if no bin passes."""
    threshold = noise_std * float(norm.isf(FALSE_BIN_RATE / len(counts)))
    passing = np.flatnonzero(counts > threshold)
    if not passing.size:
        return None
    low, high = COARSE_EDGES[passing[0]], COARSE_EDGES[passing[-1] + 1]
    return (
        float(low if np.isfinite(low) else COARSE_EDGES[1]),
        float(high if np.isfinite(high) else COARSE_EDGES[-2]),
    )


def _coarse_counts(x: np.ndarray) -> np.ndarray:
    bins = np.searchsorted(COARSE_EDGES, x, side="right") - 1
    return np.bincount(np.clip(bins, 0, len(COARSE_EDGES) - 2), minlength=len(COARSE_EDGES) - 1)


def _domain_share(m_domains: int) -> float:
    return DOMAIN_SHARE if m_domains else 0.0


def frequency_noise_scale(n_continuous: int, n_categorical: int, n_undeclared: int) -> float:
    """Standard deviation of each frequency count per unit of the statistics'
    noise multiplier, for a table of these columns of which ``n_undeclared``
    have their domain read from the data.

    >>> frequency_noise_scale(0, 4, 0)  # four counts per row, no domains read
    2.0
    """
    m_frequencies = n_continuous + max(n_categorical, 1)
    return float(np.sqrt(m_frequencies / (1.0 - _domain_share(n_undeclared))))


def release_statistics(
    continuous: np.ndarray,
    categorical: np.ndarray,
    y_codes: np.ndarray,
    n_classes: int,
    continuous_domains: list,
    categorical_domains: list,
    noise_multiplier: float,
    discovery_delta: float,
    rng: np.random.Generator,
    names: tuple[list, list] | None = None,
    per_class: bool = False,
    domain_share: float | None = None,
) -> PrivateCounts:
    """Release the noisy counts described in the module docstring.

    Parameters
    ----------
    continuous : ndarray of shape (n_rows, n_continuous)
    categorical : ndarray of object, shape (n_rows, n_categorical)
    y_codes : ndarray of int, shape (n_rows,)
    n_classes : int
    continuous_domains : list of (low, high) or None
        Declared bounds per continuous column; values outside are clipped.
    categorical_domains : list of array-like or None
        Declared categories per categorical column; others are discovered.
    noise_multiplier : float
        The statistics' noise multiplier, as one Gaussian mechanism: the two
        releases together spend what it alone would.
    discovery_delta : float
        Delta spent on discovered category sets.
    rng : numpy.random.Generator
        Source of the noise.
    names : (list, list), optional
        The continuous and the categorical columns' names, for messages.
    per_class : bool, default=False
        Release the continuous columns' histograms per class.
    domain_share : float, optional
        Share of the statistics' Rényi budget spent on the domains, when
        some are read; :data:`DOMAIN_SHARE` by default.

    Raises
    ------
    ValueError
        If no bin of an undeclared continuous column's coarse histogram, or
        no category of an undeclared categorical column, stands out of the
        noise: the message names the column and what to declare.
    """
    n_continuous, n_categorical = continuous.shape[1], categorical.shape[1]
    continuous_names, categorical_names = names or (
        list(range(n_continuous)), list(range(n_categorical))
    )
    undeclared_continuous = [j for j, d in enumerate(continuous_domains) if d is None]
    undeclared_categorical = [j for j, d in enumerate(categorical_domains) if d is None]
    m_domains = len(undeclared_continuous) + len(undeclared_categorical)
    m_frequencies = n_continuous + max(n_categorical, 1)
    share = (DOMAIN_SHARE if domain_share is None else domain_share) if m_domains else 0.0
    history, stds = [], []

    def release(m: int, part: float):
        multiplier = noise_multiplier / np.sqrt(part)
        history.append((float(multiplier), 1.0, 1))
        stds.append(float(multiplier * np.sqrt(m)))
        sigma = stds[-1]
        return sigma, lambda counts: counts + rng.normal(0.0, sigma, size=counts.shape)

    # 1. Domains.
    bounds = list(continuous_domains)
    categories = [None if d is None else np.asarray(list(d), dtype=object) for d in categorical_domains]
    if m_domains:
        sigma, noisy = release(m_domains, share)
        for j in undeclared_continuous:
            bounds[j] = coarse_bounds(noisy(_coarse_counts(continuous[:, j]).astype(float)), sigma)
            if bounds[j] is None:
                name = continuous_names[j]
                raise ValueError(
                    f"Column {name!r}: no bin of its noisy histogram stands out of the "
                    "noise, so no bounds can be read for it under this privacy budget. "
                    f"Pass them: dp_domain={{{name!r}: (low, high)}}."
                )
        threshold = discovery_threshold(sigma, len(undeclared_categorical), discovery_delta)
        for j in undeclared_categorical:
            values, codes, _ = unique_values(categorical[:, j])
            totals = noisy(np.bincount(codes, minlength=len(values)).astype(float))
            categories[j] = values[totals > threshold]
            if not len(categories[j]):
                name = categorical_names[j]
                raise ValueError(
                    f"Column {name!r}: no category passed the noise threshold, so its "
                    "category set cannot be released under this privacy budget. "
                    f"Declare it: dp_domain={{{name!r}: [category, ...]}}."
                )
    else:
        stds.append(0.0)

    # 2. Frequencies within the released domains.
    _, noisy = release(m_frequencies, 1.0 - share)
    histograms = []
    for j, (low, high) in enumerate(bounds):
        edges = _grid(low, high)
        values = np.clip(continuous[:, j], low, high)
        if per_class:
            cells = np.stack([
                np.histogram(values[y_codes == c], bins=edges)[0] for c in range(n_classes)
            ]).astype(float)
            cells = np.maximum(noisy(cells), 0.0)
            histograms.append(ColumnHistogram(edges, cells.sum(axis=0), cells))
        else:
            counts, _ = np.histogram(values, bins=edges)
            histograms.append(
                ColumnHistogram(edges, np.maximum(noisy(counts.astype(float)), 0.0))
            )
    pair_counts = []
    for j, values in enumerate(categories):
        codes = CategoryColumn(values).codes(categorical[:, j])
        inside = codes >= 0
        counts = np.zeros((n_classes, len(values)))
        np.add.at(counts, (y_codes[inside], codes[inside]), 1.0)
        pair_counts.append(noisy(counts))
    if n_categorical:
        # Each column's released cells sum to (about) the class sizes: average.
        class_counts = np.mean([counts.sum(axis=1) for counts in pair_counts], axis=0)
    else:
        class_counts = noisy(np.bincount(y_codes, minlength=n_classes).astype(float))
    return PrivateCounts(
        class_counts=np.maximum(class_counts, 1.0),
        categories=categories,
        pair_counts=[np.maximum(counts, 0.0) for counts in pair_counts],
        histograms=histograms,
        noise_std=tuple(stds),
        history=history,
        raw_pair_counts=pair_counts,
    )
