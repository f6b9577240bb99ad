"""What the model learns from the real rows outside DP-SGD, released with noise.

One Gaussian mechanism releases, in a single vector, every count the model
needs besides the discriminator's gradients:

* per class and per category of each categorical column, the number of rows
  (without categorical columns, per class): class sizes, category sets and
  the frequencies of training-by-sampling come from these;
* per continuous column, a histogram over a grid fixed in advance: from the
  user's bounds (64 equal bins, plus the grid below falling inside them), or,
  without bounds, a signed logarithmic grid from 1e-4 to 1e10 (10 bins per
  decade, and two open-ended bins). Bounds and the modes of the mode-specific
  normalisation are read from the noisy histogram.

A row adds 1 to one count per categorical column (or to its class count) and
to one bin per continuous column, so the vector's L2 sensitivity is
``sqrt(max(n_categorical, 1) + n_continuous)``.

Category sets that the user did not declare (a list in ``dp_domain``, or a
pandas ``category`` dtype) are *discovered*: a category is kept only if its
noisy count, summed over the classes, exceeds a threshold chosen so that a
category held by a single row is released with probability at most the
discovery share of delta (the standard thresholding argument for private
partition selection).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from ..categories import CategoryColumn, unique_values

__all__ = ["ColumnHistogram", "PrivateCounts", "release_statistics"]

_LOG_GRID = 10.0 ** (np.arange(-40, 101) / 10.0)
_BOUNDED_BINS = 64


def _grid(bounds: tuple[float, float] | None) -> np.ndarray:
    """Bin edges, fixed before looking at the data."""
    signed = np.concatenate([-_LOG_GRID[::-1], [0.0], _LOG_GRID])
    if bounds is None:
        return np.concatenate([[-np.inf], signed, [np.inf]])
    low, high = bounds
    inside = signed[(signed > low) & (signed < high)]
    return np.unique(np.concatenate([np.linspace(low, high, _BOUNDED_BINS + 1), inside]))


@dataclass
class ColumnHistogram:
    """A continuous column's noisy histogram (negative counts set to 0)."""

    edges: np.ndarray
    counts: np.ndarray
    declared: bool

    def bounds(self, threshold: float) -> tuple[float, float] | None:
        """Declared bounds, or the span of bins whose noisy count passes
        ``threshold`` (open-ended bins give their finite edge); None if none does."""
        if self.declared:
            return float(self.edges[0]), float(self.edges[-1])
        passing = np.flatnonzero(self.counts > threshold)
        if not passing.size:
            return None
        finite = self.edges[np.isfinite(self.edges)]
        low = self.edges[passing[0]]
        high = self.edges[passing[-1] + 1]
        return (
            float(low if np.isfinite(low) else finite[0]),
            float(high if np.isfinite(high) else finite[-1]),
        )

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
        Noisy rows per class (at least 1).
    categories : list of ndarray
        Per categorical column, the categories kept.
    pair_counts : list of ndarray of shape (n_classes, n_kept)
        Per categorical column, noisy rows per class and kept category (>= 0).
    histograms : list of ColumnHistogram
        Per continuous column.
    noise_std : float
        Standard deviation of the noise added to every count.
    """

    class_counts: np.ndarray
    categories: list
    pair_counts: list
    histograms: list
    noise_std: float


def discovery_threshold(noise_std: float, n_classes: int, n_columns: int, delta: float) -> float:
    """Noisy count (summed over ``n_classes`` cells) a discovered category must pass.

    A row present in only one of two neighbouring data sets can bring at most
    one unseen category per column; each passes with probability
    ``P(1 + N(0, n_classes * noise_std**2) > threshold)``, and the threshold
    makes the union over ``n_columns`` columns at most ``delta``.
    """
    return 1.0 + noise_std * np.sqrt(n_classes) * float(norm.isf(delta / max(n_columns, 1)))


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
        Noise standard deviation per unit of L2 sensitivity.
    discovery_delta : float
        Delta spent on discovered category sets.
    rng : numpy.random.Generator
        Source of the noise.
    """
    n_continuous, n_categorical = continuous.shape[1], categorical.shape[1]
    sensitivity = np.sqrt(max(n_categorical, 1) + n_continuous)
    sigma = noise_multiplier * sensitivity

    def noisy(counts: np.ndarray) -> np.ndarray:
        return counts + rng.normal(0.0, sigma, size=counts.shape)

    histograms = []
    for j, bounds in enumerate(continuous_domains):
        edges = _grid(bounds)
        x = continuous[:, j] if bounds is None else np.clip(continuous[:, j], *bounds)
        if bounds is None:
            bins = np.searchsorted(edges, x, side="right") - 1
            counts = np.bincount(np.clip(bins, 0, len(edges) - 2), minlength=len(edges) - 1)
        else:
            counts, _ = np.histogram(x, bins=edges)
        histograms.append(
            ColumnHistogram(edges, np.maximum(noisy(counts.astype(float)), 0.0), bounds is not None)
        )

    categories, pair_counts, class_totals = [], [], []
    undeclared = sum(domain is None for domain in categorical_domains)
    threshold = discovery_threshold(sigma, n_classes, undeclared, discovery_delta)
    for j, domain in enumerate(categorical_domains):
        column = categorical[:, j]
        if domain is None:
            values, codes, _ = unique_values(column)
        else:
            values = np.asarray(list(domain), dtype=object)
            codes = CategoryColumn(values).codes(column)
        inside = codes >= 0
        counts = np.zeros((n_classes, len(values)))
        np.add.at(counts, (y_codes[inside], codes[inside]), 1.0)
        counts = noisy(counts)
        class_totals.append(counts.sum(axis=1))
        if domain is None:
            kept = counts.sum(axis=0) > threshold
            values, counts = values[kept], counts[:, kept]
        categories.append(values)
        pair_counts.append(np.maximum(counts, 0.0))

    if n_categorical:
        # Each column's counts sum to the class sizes: average the estimates.
        class_counts = np.mean(class_totals, axis=0)
    else:
        class_counts = noisy(np.bincount(y_codes, minlength=n_classes).astype(float))
    return PrivateCounts(
        class_counts=np.maximum(class_counts, 1.0),
        categories=categories,
        pair_counts=pair_counts,
        histograms=histograms,
        noise_std=float(sigma),
    )
