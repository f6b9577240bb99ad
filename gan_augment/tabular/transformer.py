"""Continuous <-> (scalar, mode one-hot) and categorical <-> one-hot.

Mode-specific normalisation follows the CTGAN paper (Xu et al., 2019, arXiv
1907.00503, section 4.2): each continuous column is modelled by a variational
Gaussian mixture; a value is represented by the mode it was drawn from (a
one-hot) and its offset within that mode, ``(x - mu_k) / (4 sigma_k)``, a scalar
in [-1, 1]. Categorical columns become one-hots.

The encoded row is laid out as ``[scalar_1, modes_1, ..., scalar_c, modes_c,
onehot_cat_1, ..., onehot_cat_d]``: continuous columns first, then categorical
ones. :class:`OutputLayout` describes the spans so that the networks can apply
the right activation to each, vectorised over all spans at once.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

from ..categories import CategoryEncoding, pooled_mask
from ..threads import resolve_n_jobs

__all__ = ["ContinuousColumn", "OutputLayout", "TabularTransformer"]

_SCALAR_CLIP = 0.99


@dataclass
class ContinuousColumn:
    """The fitted mixture of one continuous column, in standardised units.

    Values are standardised with ``(x - center) / scale`` before the mixture is
    fitted, so columns of any magnitude get the same numerical treatment.
    """

    center: float
    scale: float
    low: float
    high: float
    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray

    @property
    def n_modes(self) -> int:
        return len(self.means)

    def mode_probabilities(self, z: np.ndarray) -> np.ndarray:
        """Posterior probability of each kept mode for standardised values ``z``."""
        log_p = (
            np.log(self.weights)
            - np.log(self.stds)
            - 0.5 * ((z[:, None] - self.means) / self.stds) ** 2
        )
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)


def _fit_column(
    x: np.ndarray,
    max_modes: int,
    weight_threshold: float,
    max_fit_rows: int,
    rng: np.random.Generator,
    max_iter: int = 100,
) -> ContinuousColumn:
    center = float(np.mean(x))
    scale = float(np.std(x))
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0
    z = (x - center) / scale
    n_unique = len(np.unique(z[: max_fit_rows * 4]))
    n_components = min(max_modes, n_unique)
    if n_components <= 1:
        means, stds, weights = np.zeros(1), np.ones(1), np.ones(1)
    else:
        if len(z) > max_fit_rows:
            z_fit = rng.choice(z, size=max_fit_rows, replace=False)
        else:
            z_fit = z
        # In one dimension a "diag" covariance is the "full" one (the same
        # priors and updates; fitted weights, means and variances agree to
        # 1e-12), without the per-component Cholesky factorisations: the fit
        # takes two thirds of the time (docs/benchmarks.md).
        mixture = BayesianGaussianMixture(
            n_components=n_components,
            covariance_type="diag",
            weight_concentration_prior_type="dirichlet_process",
            weight_concentration_prior=1e-3,
            max_iter=max_iter,
            random_state=int(rng.integers(2**31 - 1)),
        )
        mixture.fit(z_fit.reshape(-1, 1))
        keep = mixture.weights_ > weight_threshold
        if not keep.any():
            keep = mixture.weights_ == mixture.weights_.max()
        weights = mixture.weights_[keep] / mixture.weights_[keep].sum()
        means = mixture.means_.ravel()[keep]
        stds = np.sqrt(mixture.covariances_.ravel()[keep])
        stds = np.maximum(stds, 1e-3)
    return ContinuousColumn(
        center=center,
        scale=scale,
        low=float(np.min(x)),
        high=float(np.max(x)),
        means=means,
        stds=stds,
        weights=weights,
    )


def _column_from_histogram(
    histogram, low: float, high: float, max_modes: int
) -> ContinuousColumn:
    """A mode-specific normalisation read off a noisy histogram (no data seen).

    The column's range is cut into ``max_modes`` segments of equal noisy mass;
    each becomes a mode centred on the segment with a standard deviation of an
    eighth of its width, so a value's offset ``(x - mu) / (4 sigma)`` spans
    [-1, 1] across its segment. Segments that coincide (a point mass, such as
    many zeros) merge into one mode.
    """
    center = (low + high) / 2
    scale = (high - low) / 2 if high > low else 1.0
    cuts = (histogram.quantiles(np.linspace(0, 1, max_modes + 1), low, high) - center) / scale
    means = (cuts[:-1] + cuts[1:]) / 2
    stds = np.maximum((cuts[1:] - cuts[:-1]) / 8, 1e-3)
    means, index = np.unique(np.round(means, 4), return_index=True)
    stds = stds[index]
    return ContinuousColumn(
        center=center,
        scale=scale,
        low=low,
        high=high,
        means=means,
        stds=stds,
        weights=np.full(len(means), 1.0 / len(means)),
    )


class OutputLayout:
    """Where each span of an encoded row lies, and how to activate it.

    Scalar spans (one value each) get ``tanh``; one-hot spans (modes of a
    continuous column, categories of a categorical one) get a Gumbel-softmax.
    All spans are handled at once through padded index tensors, so a batch is
    activated with a handful of tensor operations whatever the number of columns.

    Parameters
    ----------
    scalar_positions : list of int
        Positions of the scalar values in the encoded row.
    onehot_spans : list of (int, int)
        ``(start, size)`` of each one-hot span, mode spans first, then the
        categorical columns' spans.
    n_categorical : int
        How many of the last one-hot spans are categorical columns.
    """

    def __init__(
        self,
        scalar_positions: list[int],
        onehot_spans: list[tuple[int, int]],
        n_categorical: int,
    ) -> None:
        self.scalar_positions = list(scalar_positions)
        self.onehot_spans = list(onehot_spans)
        self.n_categorical = n_categorical
        self.width = len(self.scalar_positions) + sum(s for _, s in self.onehot_spans)
        self.max_span = max((s for _, s in self.onehot_spans), default=1)
        # Padded (n_spans, max_span) positions; padding points at an extra column
        # whose logit is -inf, so it never wins and carries no probability.
        index = np.full((len(self.onehot_spans), self.max_span), self.width, np.int64)
        for row, (start, size) in enumerate(self.onehot_spans):
            index[row, :size] = np.arange(start, start + size)
        self._onehot_index = index
        # Where each encoded position lies in [scalars..., flattened padded spans...].
        inverse = np.empty(self.width, np.int64)
        inverse[self.scalar_positions] = np.arange(len(self.scalar_positions))
        valid = index < self.width
        inverse[index[valid]] = len(self.scalar_positions) + np.flatnonzero(valid)
        self._inverse = inverse
        self._device_cache: dict[str, tuple[torch.Tensor, ...]] = {}

    @property
    def categorical_spans(self) -> list[tuple[int, int]]:
        return self.onehot_spans[len(self.onehot_spans) - self.n_categorical :]

    def _tensors(self, device: torch.device) -> tuple[torch.Tensor, ...]:
        key = str(device)
        if key not in self._device_cache:
            self._device_cache[key] = (
                torch.as_tensor(self.scalar_positions, dtype=torch.long, device=device),
                torch.as_tensor(self._onehot_index, device=device),
                torch.as_tensor(self._inverse, device=device),
            )
        return self._device_cache[key]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_device_cache"] = {}
        return state

    def span_logits(self, raw: torch.Tensor) -> torch.Tensor:
        """The one-hot spans' logits, padded: shape (batch, n_spans, max_span)."""
        _, onehot_index, _ = self._tensors(raw.device)
        padded = torch.cat([raw, raw.new_full((raw.shape[0], 1), float("-inf"))], 1)
        return padded.index_select(1, onehot_index.flatten()).view(
            raw.shape[0], *onehot_index.shape
        )

    def activate(
        self,
        raw: torch.Tensor,
        generator: torch.Generator,
        tau: float = 0.2,
        hard: bool = False,
    ) -> torch.Tensor:
        """Apply tanh to scalar spans and a Gumbel-softmax to one-hot spans.

        Columns are gathered with ``index_select`` (its backward is an
        ``index_add``), which took 7.3 ms against 9.7 ms for advanced indexing
        for the forward and backward of a 500-row batch (docs/benchmarks.md).

        The Gumbel noise comes from ``generator`` rather than the global RNG
        (``torch.nn.functional.gumbel_softmax`` cannot take one), which is what
        makes a fixed ``random_state`` reproducible.

        Parameters
        ----------
        raw : Tensor of shape (batch, width)
            The generator's raw output.
        generator : torch.Generator
            Source of the Gumbel noise.
        tau : float, default=0.2
            Softmax temperature.
        hard : bool, default=False
            Return exact one-hots (a categorical sample per span) instead of
            the relaxed softmax; used when generating rows.
        """
        scalar_positions, _, inverse = self._tensors(raw.device)
        scalars = torch.tanh(raw.index_select(1, scalar_positions))
        logits = self.span_logits(raw)
        uniform = torch.rand(
            logits.shape, generator=generator, device=raw.device, dtype=raw.dtype
        )
        gumbel = -torch.log((-torch.log(uniform.clamp_min(1e-10))).clamp_min(1e-10))
        noisy = logits + gumbel
        if hard:
            spans = torch.nn.functional.one_hot(
                noisy.argmax(-1), self.max_span
            ).to(raw.dtype)
        else:
            spans = torch.softmax(noisy / tau, dim=-1)
        flat = torch.cat([scalars, spans.flatten(1)], dim=1)
        return flat.index_select(1, inverse)


class TabularTransformer:
    """Encode a table for the GAN and decode generated rows.

    Parameters
    ----------
    max_modes : int, default=10
        Most mixture components per continuous column.
    weight_threshold : float, default=0.005
        Components whose weight falls under this are dropped.
    max_fit_rows : int, default=5000
        The mixtures are fitted on at most this many rows per column (a random
        subsample): the fit costs ~0.4 s per column at 1,000 rows and ~2 s at
        20,000 on one core, and the modes of a one-dimensional density are
        already well placed with a few thousand points.
    max_iter : int, default=100
        Most EM iterations of each column's mixture; most columns use them all
        (the Dirichlet-process prior empties surplus components slowly).
        ``benchmarks/mixture_budget.py`` measures what fewer iterations or rows
        change (docs/benchmarks.md).
    max_categories : int or None, default=100
        Most one-hot entries per categorical column. Categories and pooling
        follow :mod:`gan_augment.categories`: from ``max_categories``
        categories on, the most frequent ``max_categories - 1`` keep their own
        entry and the rest share one, and a generated row that lands on the shared entry gets one of those rare
        categories, drawn by its training frequency. This bounds the width of
        an encoded row, and so the memory of the fit, whatever the number of
        categories. None keeps every category.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> continuous = rng.normal(size=(50, 1))
    >>> categorical = np.array([["a"], ["b"]] * 25, dtype=object)
    >>> t = TabularTransformer(max_modes=1).fit(continuous, categorical, rng)
    >>> encoded, codes = t.transform(continuous, categorical, rng)
    >>> encoded.shape, codes.shape
    ((50, 4), (50, 1))
    """

    def __init__(
        self,
        max_modes: int = 10,
        weight_threshold: float = 0.005,
        max_fit_rows: int = 5000,
        max_categories: int | None = 100,
        max_iter: int = 100,
    ) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows
        self.max_iter = max_iter
        self.max_categories = max_categories

    def fit(
        self,
        continuous: np.ndarray,
        categorical: np.ndarray,
        rng: np.random.Generator,
        n_jobs: int | None = None,
    ) -> TabularTransformer:
        """Fit the mixtures of the continuous columns and the categories.

        The columns' mixtures are fitted on ``n_jobs`` threads (joblib's rule:
        None is 1, -1 every core). Each column draws from its own stream,
        seeded from ``rng`` before any is fitted, so the fit is the same
        whatever ``n_jobs``.
        """
        seeds = rng.integers(2**63 - 1, size=continuous.shape[1])
        # Threads, not processes: scikit-learn's EM spends its time in numpy
        # calls that release the GIL, and a process pool would cost more to
        # start (about 2.5 s) than a typical table's mixtures take.
        # The warnings filter is set here, around the threads: it is global,
        # and warnings.catch_warnings inside each thread would race.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.columns_ = Parallel(n_jobs=resolve_n_jobs(n_jobs), backend="threading")(
                delayed(_fit_column)(
                    continuous[:, j],
                    self.max_modes,
                    self.weight_threshold,
                    self.max_fit_rows,
                    np.random.default_rng(seed),
                    self.max_iter,
                )
                for j, seed in enumerate(seeds)
            )
        self.n_categorical_ = categorical.shape[1]
        self.encoding_ = CategoryEncoding.fit(categorical, self.max_categories)
        self.categories_ = [column.values for column in self.encoding_.columns]
        self.pooled_ = [
            None if column.pooled is None else (column.pooled, column.pooled_weights)
            for column in self.encoding_.columns
        ]
        self.layout_ = self._build_layout()
        return self

    @classmethod
    def from_statistics(
        cls,
        counts,
        max_modes: int = 10,
        max_categories: int | None = 100,
    ) -> TabularTransformer:
        """A transformer built from noisy statistics alone (for DP training).

        Parameters
        ----------
        counts : gan_augment.privacy.statistics.PrivateCounts
            Released bounds, histograms, categories and their counts (the
            release refuses a column for which nothing stood out of the noise).
        max_modes, max_categories : int
            As for the constructor.
        """
        transformer = cls(max_modes=max_modes, max_categories=max_categories)
        transformer.columns_ = [
            _column_from_histogram(histogram, *histogram.bounds, max_modes)
            for histogram in counts.histograms
        ]
        transformer.n_categorical_ = len(counts.categories)
        transformer.categories_, transformer.pooled_ = [], []
        transformer.code_maps_ = []
        for values, pair_counts in zip(counts.categories, counts.pair_counts):
            totals = pair_counts.sum(axis=0)
            # Own entries in order of noisy frequency (the released counts are
            # all there is to order by); pooling follows the package's rule.
            order = np.argsort(-totals, kind="stable")
            pooled = pooled_mask(totals, max_categories)[order]
            own, rare = order[~pooled], order[pooled]
            code_map = np.empty(len(values), dtype=np.int64)
            code_map[own] = np.arange(len(own))
            code_map[rare] = len(own)
            transformer.categories_.append(np.asarray(values, dtype=object)[own])
            if rare.size:
                weights = totals[rare] + 1e-12
                transformer.pooled_.append(
                    (np.asarray(values, dtype=object)[rare], weights / weights.sum())
                )
            else:
                transformer.pooled_.append(None)
            transformer.code_maps_.append((pd.Index(values), code_map, code_map[order[0]]))
        transformer.layout_ = transformer._build_layout()
        return transformer

    def _encode_categories(self, categorical: np.ndarray) -> np.ndarray:
        """Each categorical value's one-hot index (rows with categories outside a
        released set take the most frequent one: they cannot be represented)."""
        if not hasattr(self, "code_maps_"):
            return self.encoding_.codes(categorical)
        codes = np.empty(categorical.shape, dtype=np.int64)
        for j, (values, code_map, fallback) in enumerate(self.code_maps_):
            index = values.get_indexer(categorical[:, j])
            codes[:, j] = np.where(index >= 0, code_map[index], fallback)
        return codes

    @property
    def n_categories(self) -> list[int]:
        """One-hot entries of each categorical column (a pooled entry counts one)."""
        return [
            len(c) + (pool is not None) for c, pool in zip(self.categories_, self.pooled_)
        ]

    def get_state(self) -> dict:
        """The fitted state as plain values and 1-D arrays (for safe persistence)."""
        return {
            "params": {
                "max_modes": self.max_modes,
                "weight_threshold": self.weight_threshold,
                "max_fit_rows": self.max_fit_rows,
                "max_categories": self.max_categories,
                "max_iter": self.max_iter,
            },
            "columns": [dataclasses.asdict(c) for c in self.columns_],
            "categories": self.categories_,
            "pooled": [None if p is None else list(p) for p in self.pooled_],
        }

    @classmethod
    def from_state(cls, state: dict) -> TabularTransformer:
        """Rebuild a fitted transformer (for decoding only) from :meth:`get_state`.

        Raises
        ------
        ValueError
            If the state is not one a fit could have produced: mixtures whose
            means and deviations differ in length or are not finite, category
            sets that are not 1-D arrays, pooled categories without matching
            weights (the state comes from a file, which may have been edited).
        TypeError
            If a column lacks a field or has one too many.
        """
        transformer = cls(**state["params"])
        transformer.columns_ = [
            ContinuousColumn(**{k: np.asarray(v) if isinstance(v, (list, np.ndarray)) else v
                                for k, v in column.items()})
            for column in state["columns"]
        ]
        transformer.categories_ = list(state["categories"])
        transformer.pooled_ = [None if p is None else tuple(p) for p in state["pooled"]]
        transformer.n_categorical_ = len(transformer.categories_)
        transformer._check_state()
        transformer.layout_ = transformer._build_layout()
        return transformer

    def _check_state(self) -> None:
        """What decoding relies on in a rebuilt state (see :meth:`from_state`)."""
        for j, column in enumerate(self.columns_):
            parts = (column.means, column.stds, column.weights)
            scalars = (column.center, column.scale, column.low, column.high)
            if (
                not all(p.ndim == 1 and p.dtype.kind in "if" and len(p) for p in parts)
                or len({len(p) for p in parts}) != 1
                or not all(isinstance(v, (int, float)) for v in scalars)
                or not all(np.isfinite(p).all() for p in (*parts, scalars))
            ):
                raise ValueError(f"the mixture of continuous column {j} is invalid")
        if len(self.pooled_) != len(self.categories_):
            raise ValueError("the transformer's pooled categories do not match its columns")
        for j, (values, pool) in enumerate(zip(self.categories_, self.pooled_)):
            if not isinstance(values, np.ndarray) or values.ndim != 1:
                raise ValueError(f"the categories of categorical column {j} are not an array")
            if pool is None:
                if not len(values):
                    raise ValueError(f"categorical column {j} has no category")
                continue
            if len(pool) != 2:
                raise ValueError(f"the pooled categories of categorical column {j} are invalid")
            rare, weights = (np.asarray(p) for p in pool)
            if (
                rare.ndim != 1
                or weights.shape != rare.shape
                or not len(rare)
                or weights.dtype.kind not in "if"
                or not np.isfinite(weights).all()
                or (weights < 0).any()
            ):
                raise ValueError(f"the pooled categories of categorical column {j} are invalid")

    def _build_layout(self) -> OutputLayout:
        scalars: list[int] = []
        mode_spans: list[tuple[int, int]] = []
        position = 0
        for column in self.columns_:
            scalars.append(position)
            mode_spans.append((position + 1, column.n_modes))
            position += 1 + column.n_modes
        category_spans = []
        for size in self.n_categories:
            category_spans.append((position, size))
            position += size
        return OutputLayout(scalars, mode_spans + category_spans, self.n_categorical_)

    def transform(
        self,
        continuous: np.ndarray,
        categorical: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encode rows.

        Returns
        -------
        encoded : ndarray of float32, shape (n_rows, layout_.width)
        codes : ndarray of int64, shape (n_rows, n_categorical)
            Each categorical value's index into ``categories_``.
        """
        n_rows = len(continuous) if continuous.size else len(categorical)
        encoded = np.zeros((n_rows, self.layout_.width), dtype=np.float32)
        for column, (start, size), x in zip(
            self.columns_, self.layout_.onehot_spans, continuous.T
        ):
            z = (x - column.center) / column.scale
            p = column.mode_probabilities(z)
            # One categorical draw per row: the first mode whose cumulative
            # probability passes a uniform number.
            u = rng.random(n_rows)[:, None]
            mode = np.minimum((p.cumsum(axis=1) < u).sum(axis=1), column.n_modes - 1)
            offset = (z - column.means[mode]) / (4 * column.stds[mode])
            encoded[:, start - 1] = np.clip(offset, -_SCALAR_CLIP, _SCALAR_CLIP)
            encoded[np.arange(n_rows), start + mode] = 1.0
        if self.n_categorical_:
            codes = self._encode_categories(categorical)
            for (start, _), column_codes in zip(
                self.layout_.categorical_spans, codes.T
            ):
                encoded[np.arange(n_rows), start + column_codes] = 1.0
        else:
            codes = np.zeros((n_rows, 0), dtype=np.int64)
        return encoded, codes

    def inverse_transform(
        self, encoded: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decode rows into a continuous (float64) and a categorical (object) part.

        Continuous values are clipped to their column's training range; each
        one-hot span is read by its arg-max, so categories come only from the
        training set (a pooled entry becomes one of its rare categories, drawn
        with ``rng`` by training frequency).
        """
        n_rows = len(encoded)
        continuous = np.empty((n_rows, len(self.columns_)), dtype=np.float64)
        for j, (column, (start, size)) in enumerate(
            zip(self.columns_, self.layout_.onehot_spans)
        ):
            mode = encoded[:, start : start + size].argmax(axis=1)
            offset = np.clip(encoded[:, start - 1].astype(np.float64), -1.0, 1.0)
            z = offset * 4 * column.stds[mode] + column.means[mode]
            x = z * column.scale + column.center
            continuous[:, j] = np.clip(x, column.low, column.high)
        categorical = np.empty((n_rows, self.n_categorical_), dtype=object)
        for j, (start, size) in enumerate(self.layout_.categorical_spans):
            code = encoded[:, start : start + size].argmax(axis=1)
            frequent = self.categories_[j]
            pooled = code == len(frequent)
            categorical[~pooled, j] = frequent[code[~pooled]]
            if pooled.any():
                rare, weights = self.pooled_[j]
                categorical[pooled, j] = rng.choice(rare, size=pooled.sum(), p=weights)
        return continuous, categorical
