"""Select, measure, generate: noisy marginals of pairs of columns (``dp_method="pairs"``).

After the statistics release (:mod:`gan_augment.privacy.statistics`: the
domains; per class, every categorical column's counts; every continuous
column's histogram, pooled), which takes :data:`PAIRS_STATISTICS_SHARE` of
the zCDP budget, the rest goes to marginals within each class, chosen
adaptively as AIM does (McKenna et al., 2022, "AIM: an adaptive and
iterative mechanism for differentially private synthetic data"):

1. **Cells.** Each column is cut into a few cells from what was released: a
   categorical column's released categories (rows of unreleased ones fall in
   its most frequent released category), a continuous column's fine noisy
   histogram merged into at most :data:`PAIR_BINS` cells of about equal noisy
   mass. This is post-processing; the cells are fixed before any pair is read.
   Then every continuous column's counts per class and cell are measured in
   one Gaussian release.
2. **Rounds.** Each round, the model fitted so far
   (:class:`~gan_augment.privacy.marginal_fit.MarginalGenerator`) answers
   every candidate: every pair of columns within each class (the triple with
   the class column; :data:`PAIR_CANDIDATES`). The exponential mechanism
   picks the candidate whose model answer is furthest from the real
   counts, less the noise its measurement would carry
   (``||M(D) - M(model)||_1 - sqrt(2/pi) * sigma * cells``, sensitivity 1),
   and the Gaussian mechanism measures it (a row adds 1 to one cell: L2
   sensitivity 1). The model is refitted to all measurements before the next
   round. As in AIM, when a new measurement changed the model's answer by
   less than its own expected noise, the rounds still to come get twice the
   budget each (the noise falls by sqrt(2)); the last round spends what is
   left exactly.
3. **Accounting.** Each selection with parameter ``epsilon_0`` is
   ``epsilon_0**2 / 8``-zCDP (Cesar and Rogers, 2021), the Rényi curve of a
   Gaussian mechanism of noise multiplier ``2 / epsilon_0``; so every step is
   recorded as a Gaussian ``(noise_multiplier, 1.0, 1)`` entry for Opacus's
   RDP accountant, the same accountant as the statistics. A round costs
   ``rho = 1 / (2 sigma**2) + epsilon_0**2 / 8``; the rounds' ``rho`` add up to
   the share of the budget left after the statistics.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..categories import CategoryColumn
from .statistics import PrivateCounts

__all__ = [
    "Cells", "Measurement", "PAIR_BINS", "PAIRS_STATISTICS_SHARE", "ROUNDS_PER_COLUMN",
    "SELECTION_SHARE",
    "cut_cells", "initial_measurements", "measure_pairs",
]

#: Share of the zCDP budget spent on the statistics release (domains and
#: one-way counts per class); the pair marginals get the rest.
PAIRS_STATISTICS_SHARE = 0.5
#: Most cells a continuous column is cut into for the pair marginals (32 on
#: the full Adult table scored no higher than 8, docs/privacy.md).
PAIR_BINS = 8
#: Rounds planned per column before any budget is doubled (AIM plans 16 per
#: column and anneals; on 2,000 Adult rows at epsilon 1, half a round per
#: column, each twice as precise, scored above one, docs/privacy.md).
ROUNDS_PER_COLUMN = 0.5
#: Which pair marginals are candidates: per class, pooled over the classes, or
#: both ("per-class", "pooled", "both"); on 2,000 Adult rows at epsilon 1 the
#: per-class ones alone scored above both (docs/privacy.md).
PAIR_CANDIDATES = "per-class"
#: Share of a round's zCDP budget spent on choosing its marginal (AIM's 0.1).
SELECTION_SHARE = 0.1


@dataclass
class Cells:
    """How every column is cut into cells: continuous columns first, then categorical.

    Attributes
    ----------
    sizes : list of int
        Cells per column.
    fine_to_cell : list of ndarray of int
        Per continuous column, the cell of each bin of its released histogram.
    fallback : list of int
        Per categorical column, the cell of categories that were not released.
    """

    sizes: list
    fine_to_cell: list
    fallback: list

    @property
    def offsets(self) -> np.ndarray:
        """Where each column's cells start in a row of all columns' one-hots."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)

    def encode(
        self, counts: PrivateCounts, continuous: np.ndarray, categorical: np.ndarray
    ) -> np.ndarray:
        """Each row's cell per column, shape (n_rows, n_columns)."""
        columns = []
        for histogram, mapping, x in zip(counts.histograms, self.fine_to_cell, continuous.T):
            fine = np.searchsorted(histogram.edges, x, side="right") - 1
            columns.append(mapping[np.clip(fine, 0, len(mapping) - 1)])
        for values, fallback, x in zip(counts.categories, self.fallback, categorical.T):
            codes = CategoryColumn(values).codes(x)
            columns.append(np.where(codes >= 0, codes, fallback))
        return np.stack(columns, axis=1) if columns else np.empty((len(continuous), 0), int)

    def decode(
        self, counts: PrivateCounts, cells: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Values for cells: a continuous value is drawn uniformly within a bin
        of its cell, the bin with the pooled noisy histogram's weights; a
        categorical cell is its category."""
        n_continuous = len(counts.histograms)
        continuous = np.empty((len(cells), n_continuous))
        for j, (histogram, mapping) in enumerate(zip(counts.histograms, self.fine_to_cell)):
            weights = histogram.counts + 1e-9
            for cell in range(self.sizes[j]):
                rows = np.flatnonzero(cells[:, j] == cell)
                if not rows.size:
                    continue
                bins = np.flatnonzero(mapping == cell)
                p = weights[bins] / weights[bins].sum()
                chosen = bins[rng.choice(len(bins), rows.size, p=p)]
                continuous[rows, j] = rng.uniform(
                    histogram.edges[chosen], histogram.edges[chosen + 1]
                )
        categorical = np.empty((len(cells), len(counts.categories)), dtype=object)
        for j, values in enumerate(counts.categories):
            categorical[:, j] = np.asarray(values, dtype=object)[cells[:, n_continuous + j]]
        return continuous, categorical


def cut_cells(counts: PrivateCounts, max_bins: int | None = None) -> Cells:
    """Cut every column into cells from the released counts alone (post-processing):
    at most ``max_bins`` (default :data:`PAIR_BINS`) per continuous column.

    >>> import numpy as np
    >>> from gan_augment.privacy.statistics import ColumnHistogram, PrivateCounts
    >>> edges = np.linspace(0, 16, 17)
    >>> counts = PrivateCounts(np.array([8.0]), [], [], [ColumnHistogram(edges, np.ones(16))],
    ...                        (0.0, 1.0), [])
    >>> cut_cells(counts, max_bins=4).fine_to_cell[0].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]
    """
    max_bins = PAIR_BINS if max_bins is None else max_bins
    sizes, fine_to_cell, fallback = [], [], []
    for histogram in counts.histograms:
        weights = histogram.counts if histogram.counts.sum() > 0 else np.ones(len(histogram.counts))
        fine_to_cell.append(_equal_mass_cells(weights, max_bins))
        sizes.append(int(fine_to_cell[-1].max()) + 1)
    for values, pairs in zip(counts.categories, counts.pair_counts):
        sizes.append(len(values))
        fallback.append(int(np.argmax(pairs.sum(axis=0))))
    return Cells(sizes, fine_to_cell, fallback)


def _equal_mass_cells(weights: np.ndarray, max_bins: int) -> np.ndarray:
    """Consecutive bins merged into at most ``max_bins`` cells: a bin holding
    more than ``1 / max_bins`` of the mass (a point mass, such as a column
    that is mostly 0) is a cell of its own, and the bins between such cells
    share the remaining cells in proportion to their mass, cut at equal-mass
    quantiles."""
    total = weights.sum()
    heavy = weights > total / max_bins
    cells = np.zeros(len(weights), dtype=int)
    runs, start = [], 0
    for i in np.flatnonzero(heavy):
        runs += [(start, i), (i, i + 1)]
        start = i + 1
    runs.append((start, len(weights)))
    runs = [(a, b) for a, b in runs if b > a]
    # The remaining cells shared by largest remainder; a run given none joins
    # the cell before it (or the one after, at the start).
    share = np.array([0.0 if heavy[a] else weights[a:b].sum() for a, b in runs])
    share = (max_bins - int(heavy.sum())) * share / max(share.sum(), 1e-300)
    given = np.floor(share).astype(int)
    order = np.argsort(given - share)[: max_bins - int(heavy.sum()) - given.sum()]
    given[order] += 1
    next_cell = 0
    for (a, b), n in zip(runs, given):
        if heavy[a]:
            cells[a], next_cell = next_cell, next_cell + 1
            continue
        if n == 0:
            cells[a:b] = max(next_cell - 1, 0)
            continue
        mass = np.cumsum(weights[a:b])
        quantiles = mass[-1] * np.arange(1, n) / n
        # A bin's cell within the run: how many of the inner quantiles lie below it.
        run = np.searchsorted(np.unique(np.searchsorted(mass, quantiles, side="left")),
                              np.arange(b - a), side="left")
        _, run = np.unique(run, return_inverse=True)
        cells[a:b] = next_cell + run
        next_cell += int(run.max()) + 1
    return cells


@dataclass
class Measurement:
    """One noisy marginal.

    Attributes
    ----------
    columns : tuple of int
        The columns it counts over (one or two).
    per_class : bool
        Counted within each class (then ``answer`` has one row per class) or
        pooled over them.
    answer : ndarray
        The noisy counts, of shape (n_classes, cells) or (cells,), cells in
        row-major order of the columns' cells.
    std : ndarray
        The noise's standard deviation per count (broadcastable to ``answer``).
    """

    columns: tuple
    per_class: bool
    answer: np.ndarray
    std: np.ndarray


def initial_measurements(counts: PrivateCounts, cells: Cells) -> list[Measurement]:
    """The statistics' per-class counts of each categorical column, as released
    (negative counts kept: they are unbiased)."""
    offset = len(counts.histograms)
    std = counts.noise_std[1]
    return [
        Measurement((offset + j,), True, pairs, np.full(pairs.shape[1], std))
        for j, pairs in enumerate(counts.raw_pair_counts)
    ]


def _candidates(n_columns: int) -> list[tuple[tuple, bool]]:
    pairs = list(itertools.combinations(range(n_columns), 2))
    kinds = {"both": (False, True), "per-class": (True,), "pooled": (False,)}[PAIR_CANDIDATES]
    return [(pair, per_class) for pair in pairs for per_class in kinds]


def _true_counts(codes: np.ndarray, y_codes: np.ndarray, cells: Cells, n_classes: int):
    """Per class, the co-occurrence counts of every two cells, shape (n_classes, W, W)."""
    offsets = cells.offsets
    onehot = np.zeros((len(codes), offsets[-1]))
    for j in range(codes.shape[1]):
        onehot[np.arange(len(codes)), offsets[j] + codes[:, j]] = 1.0
    return np.stack([onehot[y_codes == c].T @ onehot[y_codes == c] for c in range(n_classes)])


def pair_block(moments: np.ndarray, cells: Cells, pair: tuple, per_class: bool) -> np.ndarray:
    """A pair's counts out of per-class co-occurrence counts (n_classes, W, W)."""
    offsets = cells.offsets
    a, b = pair
    block = moments[:, offsets[a]:offsets[a + 1], offsets[b]:offsets[b + 1]]
    block = block.reshape(len(moments), -1)
    return block if per_class else block.sum(axis=0)


def _zcdp_noise(rho: float) -> float:
    """The noise multiplier of a Gaussian mechanism that is ``rho``-zCDP."""
    return float(np.sqrt(1.0 / (2.0 * rho)))


def measure_pairs(
    codes: np.ndarray,
    y_codes: np.ndarray,
    n_classes: int,
    cells: Cells,
    measurements: list[Measurement],
    model,
    rho: float,
    rng: np.random.Generator,
) -> list[tuple[float, float, int]]:
    """Spend ``rho`` (zCDP) on adaptively chosen pair marginals, appending
    them to ``measurements`` and refitting ``model`` after each.

    ``model`` has ``fit(measurements, steps)``, ``moments()`` (its expected
    per-class co-occurrence counts, as :func:`_true_counts` computes the real
    ones) and ``warm_steps``. Returns the releases in the form of Opacus's
    accountant.
    """
    candidates = _candidates(codes.shape[1])
    if not candidates or rho <= 0:
        return []
    real = _true_counts(codes, y_codes, cells, n_classes)
    rounds_left = max(1, round(ROUNDS_PER_COLUMN * codes.shape[1]))
    history, remaining = [], rho
    n_continuous = len(cells.fine_to_cell)
    if n_continuous:
        # Every continuous column's counts per class and cell, in one release
        # (a row adds 1 to one count per column: L2 sensitivity sqrt(columns)),
        # as precise as each round's measurement will be.
        rho_round = rho / (rounds_left + (1 - SELECTION_SHARE) * n_continuous)
        multiplier = _zcdp_noise((1 - SELECTION_SHARE) * rho_round * n_continuous)
        sigma = multiplier * np.sqrt(n_continuous)
        offsets = cells.offsets
        for j in range(n_continuous):
            exact = np.stack([
                np.diag(real[c])[offsets[j]:offsets[j + 1]] for c in range(n_classes)
            ])
            noisy = exact + rng.normal(0.0, sigma, size=exact.shape)
            measurements.append(Measurement((j,), True, noisy, np.full(exact.shape[1], sigma)))
        history.append((multiplier, 1.0, 1))
        remaining -= (1 - SELECTION_SHARE) * rho_round * n_continuous
        model.fit(measurements, model.warm_steps)
    chosen = set()
    while remaining > 1e-12 * rho:
        per_round = remaining / rounds_left if rounds_left > 1 else remaining
        sigma = _zcdp_noise((1 - SELECTION_SHARE) * per_round)
        epsilon_0 = float(np.sqrt(8 * SELECTION_SHARE * per_round))
        estimate = model.moments()
        scores = np.full(len(candidates), -np.inf)
        for i, (pair, per_class) in enumerate(candidates):
            if (pair, per_class) in chosen:
                continue
            exact = pair_block(real, cells, pair, per_class)
            error = np.abs(exact - pair_block(estimate, cells, pair, per_class)).sum()
            scores[i] = error - np.sqrt(2 / np.pi) * sigma * exact.size
        if not np.isfinite(scores).any():
            break
        # The exponential mechanism (sensitivity 1) as a Gumbel-max draw.
        logits = epsilon_0 / 2 * scores
        index = int(np.argmax(logits + rng.gumbel(size=len(logits))))
        pair, per_class = candidates[index]
        chosen.add((pair, per_class))
        exact = pair_block(real, cells, pair, per_class)
        answer = exact + rng.normal(0.0, sigma, size=exact.shape)
        history += [(2.0 / epsilon_0, 1.0, 1), (sigma, 1.0, 1)]
        before = pair_block(estimate, cells, pair, per_class)
        measurements.append(Measurement(pair, per_class, answer, np.full(answer.shape, sigma)))
        model.fit(measurements, model.warm_steps)
        after = pair_block(model.moments(), cells, pair, per_class)
        remaining -= per_round
        rounds_left = max(rounds_left - 1, 1)
        if np.abs(after - before).sum() <= np.sqrt(2 / np.pi) * sigma * exact.size:
            # The measurement taught the model less than its noise: measure
            # more precisely from now on (AIM's annealing).
            rounds_left = max(1, rounds_left // 2)
    return history
