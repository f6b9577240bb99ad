"""An empirical privacy audit: the canary game, and a lower bound on epsilon.

A differential-privacy guarantee is a proof about a mechanism; the code that
implements it can still leak. An audit tests the code (Jagielski et al., 2020,
"Auditing differentially private machine learning: how private is private
SGD?"; Nasr et al., 2021 and 2023, on tight auditing of DP-SGD). The game:

1. Train many models on the same rows, half of them with one planted *canary*
   row added (an out-of-distribution row is the hardest to hide), each with
   its own seed.
2. The attacker scores every trial from what the model releases: the
   synthetic rows it generates and what the fitted model holds (its history,
   the generator's buffers, the released statistics). A high score says
   "the canary was in".
3. For an (epsilon, delta)-DP mechanism every test of "canary in" against
   "canary out" obeys ``TPR <= exp(epsilon) FPR + delta`` and
   ``1 - FPR <= exp(epsilon) (1 - TPR) + delta``. With one-sided
   Clopper-Pearson bounds on the rates (a lower one on TPR, an upper one on
   FPR), a threshold ``t`` ("score >= t means in") gives::

       epsilon >= max(log((TPR_low - delta) / FPR_high),
                      log((1 - FPR_high - delta) / (1 - TPR_low)))

   (the second side needs a lower bound on ``1 - FPR`` and an upper one on
   ``1 - TPR``: ``1 - FPR_high`` and ``1 - TPR_low``, the same two bounds,
   since Clopper-Pearson intervals are symmetric under swapping successes
   and failures).

How the threshold is chosen: every distinct score of the trials is tried, and
the largest bound is reported, with the confidence split so that the bounds
hold *simultaneously for all thresholds*. Over all thresholds the count of
trials with the canary at or above a threshold takes each value ``k`` at
most once, and the true TPR at the ``k``-th largest score is Beta-distributed
exactly as Clopper-Pearson assumes (for continuous scores; conservatively for
ties), so one Bonferroni term per possible count suffices: ``n_in`` for the
TPR bounds and ``n_out`` for the FPR bounds, each at ``(1 - confidence) /
(n_in + n_out)``. Scores are combined by Bonferroni too: with ``m`` scores
each holds at confidence ``1 - (1 - confidence) / m``, and the largest, the
reported bound, holds at ``confidence``. Scores that need to learn something (the spread of the
fitted models' buffers, say) learn it from separate *reference* fits without
the canary, which are not counted in the bound, so the trials stay
independent.

Reading the result: the bound holds at the stated confidence, and a correct
implementation keeps it below the epsilon it reports; a bound above the
reported epsilon is a privacy violation (or a bug in the accounting). The
audit cannot prove privacy: a bound of 0 says only that these attacks found
nothing with this many trials. The library treats the number of rows as
public, so no score reads what is the number of rows by construction (the
sampling rate in ``dp_history_``, ``n_steps_``, a default ``dp_delta``).

The audit needs scipy, numpy and pandas alone, and reads the estimator
through its public attributes, so it can audit older versions of the package.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd

from ..schema import as_frame
from .epsilon_bound import AuditBound, check_rate, epsilon_lower_bound

__all__ = [
    "AuditBound",
    "AuditResult",
    "MODEL_FEATURES",
    "ROW_SCORES",
    "canary_audit",
    "epsilon_lower_bound",
    "summarise",
]


# -- the attacker's scores ----------------------------------------------------------


@dataclass(frozen=True)
class Canary:
    """The canary as the attacker sees it, with the public rows to scale by.

    Distances are Euclidean over the numeric columns standardised by the
    mean and standard deviation of ``X`` (the rows without the canary, which
    the auditor knows), plus 1 for every categorical column that differs.

    Attributes
    ----------
    row : Series
        The canary.
    label : object
        Its class.
    numeric : list
        The numeric columns.
    mean, scale : ndarray
        Of the numeric columns over ``X``.
    radius : float
        Half the distance from the canary to its nearest row of ``X``: a
        synthetic row closer than that is nearer the canary than any real row.
    """

    row: pd.Series
    label: Any
    numeric: list
    mean: np.ndarray
    scale: np.ndarray
    radius: float

    @classmethod
    def of(cls, X: pd.DataFrame, row: pd.Series, label: Any) -> Canary:
        numeric = [
            c for c in X.columns
            if pd.api.types.is_numeric_dtype(X[c].dtype) and not pd.api.types.is_bool_dtype(X[c].dtype)
        ]
        values = X[numeric].to_numpy(dtype=float)
        mean = values.mean(axis=0) if numeric else np.zeros(0)
        scale = values.std(axis=0) if numeric else np.ones(0)
        scale = np.where(scale > 0, scale, 1.0)
        partial = cls(row, label, numeric, mean, scale, radius=0.0)
        return cls(row, label, numeric, mean, scale, radius=0.5 * float(partial.distances(X).min()))

    def distances(self, rows: pd.DataFrame) -> np.ndarray:
        """Distance from the canary to each of ``rows``."""
        squared = np.zeros(len(rows))
        if self.numeric:
            z = (rows[self.numeric].to_numpy(dtype=float) - self.mean) / self.scale
            c = (self.row[self.numeric].to_numpy(dtype=float) - self.mean) / self.scale
            squared += ((z - c) ** 2).sum(axis=1)
        for name in rows.columns.difference(self.numeric, sort=False):
            squared += (rows[name].astype(object).to_numpy() != self.row[name]).astype(float)
        return np.sqrt(squared)


def nearest_synthetic(rows: pd.DataFrame, canary: Canary) -> float:
    """Minus the distance from the canary to its nearest synthetic row."""
    return -float(canary.distances(rows).min()) if len(rows) else -math.inf


def close_synthetic(rows: pd.DataFrame, canary: Canary) -> float:
    """How many synthetic rows lie within ``canary.radius`` of the canary."""
    return float((canary.distances(rows) < canary.radius).sum())


def _numbers(prefix: str, values: Any) -> dict[str, float]:
    flat = np.asarray(values, dtype=float).ravel()
    return {f"{prefix}[{i}]": float(v) for i, v in enumerate(flat)}


def generator_buffers(model: Any) -> dict[str, float]:
    """The generator's floating-point buffers (batch-norm statistics); none
    when it has no such layers."""
    found: dict[str, float] = {}
    for name, buffer in model.generator_.named_buffers():
        if buffer.is_floating_point():
            found.update(_numbers(name, buffer.detach().double().cpu().numpy()))
    return found


def history(model: Any) -> dict[str, float]:
    """Every numeric column of ``history_`` there is, per epoch and its mean."""
    frame = model.history_.select_dtypes("number")
    found: dict[str, float] = {}
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=float)
        values = np.where(np.isfinite(values), values, 0.0)
        found.update(_numbers(str(name), values))
        found[f"{name}.mean"] = float(values.mean()) if values.size else 0.0
    return found


def released(model: Any) -> dict[str, float]:
    """The statistics the model releases besides the networks: the rows to
    add per class, and the continuous columns' bounds and modes."""
    found = {
        f"sampling_strategy[{label!r}]": float(count)
        for label, count in dict(model.sampling_strategy_).items()
    }
    for i, column in enumerate(getattr(model.transformer_, "columns_", None) or []):
        for part in ("low", "high", "center", "scale", "means", "stds", "weights"):
            if hasattr(column, part):
                found.update(_numbers(f"column{i}.{part}", getattr(column, part)))
        if hasattr(column, "means"):
            found[f"column{i}.n_modes"] = float(len(column.means))
    return found


#: Scores read from the synthetic rows of the canary's class: ``(rows, canary)
#: -> float``, higher saying "in". Add one by adding an entry.
ROW_SCORES: dict[str, Callable[[pd.DataFrame, Canary], float]] = {
    "nearest_synthetic": nearest_synthetic,
    "close_synthetic": close_synthetic,
}

#: Features read from the fitted model: ``model -> {name: value}``. Each
#: becomes a score learned on the reference fits: the mean squared
#: standardised difference between a trial's features and the reference
#: fits' mean (a feature missing from a trial counts as a large difference).
MODEL_FEATURES: dict[str, Callable[[Any], dict[str, float]]] = {
    "generator_buffers": generator_buffers,
    "history": history,
    "released": released,
}

#: The standardised difference given to a feature a trial lacks, and the
#: smallest spread (relative to the mean) a feature's standardisation uses:
#: a feature every reference fit agrees on exactly but a trial does not is a
#: deterministic difference, the clearest leak there is.
_MISSING = 1e6
_RELATIVE_SPREAD = 1e-9


def _learned_scores(
    trials: Sequence[Mapping[str, float]], reference: Sequence[Mapping[str, float]]
) -> np.ndarray:
    """Each trial's mean squared standardised difference from the reference fits."""
    if not reference:
        raise ValueError("Learned scores need at least one reference fit.")
    keys = sorted(set.intersection(*(set(r) for r in reference)))
    if not keys:
        return np.zeros(len(trials))
    R = np.array([[r[k] for k in keys] for r in reference], dtype=float)
    mean = R.mean(axis=0)
    spread = np.maximum(R.std(axis=0), _RELATIVE_SPREAD * np.maximum(1.0, np.abs(mean)))
    T = np.array([[t.get(k, np.nan) for k in keys] for t in trials], dtype=float)
    z = np.where(np.isnan(T), _MISSING, (T - mean) / spread)
    return np.minimum((z**2).mean(axis=1), np.finfo(float).max)


# -- the game -------------------------------------------------------------------------


@dataclass
class AuditResult:
    """What :func:`canary_audit` measured.

    Attributes
    ----------
    trials : DataFrame
        One row per fit: ``fit`` (its index), ``seed``, ``role``
        (``"reference"``, ``"in"`` or ``"out"``), ``epsilon_reported``,
        ``delta_reported``, ``fit_seconds`` and one column per score (learned
        scores are NaN on reference fits).
    bounds : dict of str -> AuditBound
        Per score, each at confidence ``1 - (1 - confidence) / len(bounds)``.
    epsilon_lower : float
        The largest of the bounds; it holds at ``confidence``.
    best_score : str
        The score that gave it.
    epsilon_reported : float or None
        The largest epsilon the trials' models report (None without DP).
    delta : float
        The delta the bounds were computed at.
    confidence : float
    """

    trials: pd.DataFrame
    bounds: dict
    epsilon_lower: float
    best_score: str
    epsilon_reported: float | None
    delta: float
    confidence: float


def summarise(
    records: Iterable[Mapping[str, Any]],
    *,
    delta: float | None = None,
    confidence: float = 0.95,
    scores: Sequence[str] | None = None,
) -> AuditResult:
    """Bound epsilon from the records of finished fits.

    Parameters
    ----------
    records : iterable of dict
        As :func:`canary_audit` passes them to ``on_trial``: ``fit``,
        ``seed``, ``role``, ``epsilon_reported``, ``delta_reported``,
        ``fit_seconds``, one entry per row score and ``features`` (model
        feature name -> {key: value}).
    delta : float or None, default=None
        None: the largest ``delta_reported`` (0 without DP).
    confidence : float, default=0.95
        Of the largest bound; each score's is ``1 - (1 - confidence) / m``
        for ``m`` scores.
    scores : sequence of str or None, default=None
        Names from :data:`ROW_SCORES` and :data:`MODEL_FEATURES`; None: all.

    Returns
    -------
    AuditResult

    Examples
    --------
    >>> records = [
    ...     {"fit": i, "seed": i, "role": role, "epsilon_reported": None,
    ...      "delta_reported": None, "fit_seconds": 0.0,
    ...      "nearest_synthetic": float(role == "in"),
    ...      "features": {"released": {"n": float(i % 3)}}}
    ...     for i, role in enumerate(["reference"] * 4 + ["in", "out"] * 50)
    ... ]
    >>> result = summarise(records, scores=["nearest_synthetic", "released"])
    >>> result.best_score, round(result.epsilon_lower, 2)
    ('nearest_synthetic', 1.71)
    """
    names = _score_names(scores)
    confidence = check_rate("confidence", confidence, low_closed=False)
    records = sorted(records, key=lambda r: r["fit"])
    roles = np.array([r["role"] for r in records])
    canary = roles == "in"
    if not canary.any() or not (roles == "out").any():
        raise ValueError("The records need trials both with and without the canary.")
    trials = pd.DataFrame(
        [{k: v for k, v in r.items() if k != "features"} for r in records]
    ).reindex(columns=["fit", "seed", "role", "epsilon_reported", "delta_reported",
                       "fit_seconds", *[n for n in names if n in ROW_SCORES]])
    played = roles != "reference"
    for name in names:
        if name in MODEL_FEATURES:
            features = [r["features"][name] for r in records]
            reference = [f for f, role in zip(features, roles) if role == "reference"]
            learned = np.full(len(records), np.nan)
            learned[played] = _learned_scores(
                [f for f, p in zip(features, played) if p], reference
            )
            trials[name] = learned
    reported_delta = pd.to_numeric(trials["delta_reported"], errors="coerce")
    if delta is None:
        delta = 0.0 if reported_delta.isna().all() else float(reported_delta.max())
    each = 1 - (1 - confidence) / len(names)
    bounds = {
        name: epsilon_lower_bound(
            trials.loc[canary, name].to_numpy(float), trials.loc[played & ~canary, name].to_numpy(float),
            delta, each,
        )
        for name in names
    }
    best = max(bounds, key=lambda n: bounds[n].epsilon)
    reported = pd.to_numeric(trials["epsilon_reported"], errors="coerce")
    return AuditResult(
        trials=trials,
        bounds=bounds,
        epsilon_lower=bounds[best].epsilon,
        best_score=best,
        epsilon_reported=None if reported.isna().all() else float(reported.max()),
        delta=float(delta),
        confidence=confidence,
    )


def _score_names(scores: Sequence[str] | None) -> list[str]:
    known = [*ROW_SCORES, *MODEL_FEATURES]
    if scores is None:
        return known
    if isinstance(scores, str):
        raise TypeError("scores must be a sequence of score names, not one string.")
    names = list(dict.fromkeys(scores))
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ValueError(f"Unknown scores {unknown}; choose among {known}.")
    return names


def _check_count(name: str, value: Any, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__}.")
    if value < least:
        raise ValueError(f"{name} must be at least {least}; got {value}.")
    return int(value)


def canary_audit(
    make_estimator: Callable[[int], Any],
    X: Any,
    y: Any,
    canary_X: Any,
    canary_y: Any,
    n_trials: int,
    *,
    delta: float | None = None,
    confidence: float = 0.95,
    random_state: int = 0,
    n_reference: int = 20,
    n_synthetic: int = 1000,
    scores: Sequence[str] | None = None,
    done: Iterable[Mapping[str, Any]] = (),
    on_trial: Callable[[dict], None] | None = None,
) -> AuditResult:
    """Play the canary game and bound epsilon from below.

    Fits ``n_reference`` reference models without the canary (they only
    teach the learned scores what a model without it looks like), then
    ``n_trials`` trials, alternately with the canary appended to ``(X, y)``
    and without. Fit ``i`` (references first) gets seed ``random_state + i``.
    Each trial is scored from ``n_synthetic`` rows that ``sample`` generates
    for the canary's class (:data:`ROW_SCORES`) and from the fitted model
    (:data:`MODEL_FEATURES`), and each score's bound comes from
    :func:`epsilon_lower_bound`, the confidence split over the scores.

    The fits run one after another in this process; give the estimator one
    thread (``n_jobs=1``) and run audits side by side to use more cores.

    Parameters
    ----------
    make_estimator : callable
        ``make_estimator(seed)`` returns an unfitted estimator with ``fit(X,
        y)``, ``sample(n, y)``, ``history_``, ``generator_``,
        ``transformer_`` and ``sampling_strategy_``, e.g. a
        :class:`~gan_augment.GANOversampler` with ``random_state=seed``.
    X : DataFrame or array of shape (n_samples, n_features)
        The rows every fit trains on; the auditor knows them.
    y : array-like of shape (n_samples,)
    canary_X : DataFrame or array of shape (1, n_features)
        The canary, with ``X``'s columns.
    canary_y : label
        Its class, a class of ``y``.
    n_trials : int
        Trials counted in the bound (at least 2): ``ceil(n_trials / 2)`` with
        the canary.
    delta : float or None, default=None
        The delta of the guarantee; None: the models' ``dp_delta_`` (0 without DP).
    confidence : float, default=0.95
        Of the reported (largest) bound.
    random_state : int, default=0
    n_reference : int, default=20
        Fits without the canary for the learned scores (at least 1; not counted).
    n_synthetic : int, default=1000
        Synthetic rows of the canary's class per trial.
    scores : sequence of str or None, default=None
        Which scores to use; None: all of :data:`ROW_SCORES` and :data:`MODEL_FEATURES`.
    done : iterable of dict, default=()
        Records of fits already made (as ``on_trial`` received them), which
        are not made again: a caller resumes an interrupted audit with them.
    on_trial : callable or None, default=None
        Called with each new fit's record (JSON-serialisable), e.g. to save it.

    Returns
    -------
    AuditResult

    Raises
    ------
    ValueError
        If the canary is not one row with ``X``'s columns, ``canary_y`` is
        not a class of ``y``, ``y`` does not match ``X``, or a count, ``delta``,
        ``confidence`` or a score name is out of range.
    TypeError
        If a count is not an integer.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from gan_augment import GANOversampler
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100)})
    >>> y = np.r_[np.zeros(70, int), np.ones(30, int)]
    >>> canary = pd.DataFrame({"a": [6.0], "b": [6.0]})
    >>> def make(seed):
    ...     return GANOversampler(epochs=1, batch_size=50, generator_dims=(8,),
    ...                           discriminator_dims=(8,), random_state=seed, n_jobs=1)
    >>> result = canary_audit(make, X, y, canary, 1, n_trials=4, n_reference=2,
    ...                       n_synthetic=50)
    >>> sorted(result.bounds) == sorted(result.trials.columns[6:])
    True
    """
    names = _score_names(scores)
    n_trials = _check_count("n_trials", n_trials, 2)
    n_reference = _check_count("n_reference", n_reference, 1)
    n_synthetic = _check_count("n_synthetic", n_synthetic, 1)
    random_state = _check_count("random_state", random_state, 0)
    if delta is not None:
        check_rate("delta", delta, low_closed=True)
    check_rate("confidence", confidence, low_closed=False)
    frame = as_frame(X, "X")
    canary_frame = as_frame(canary_X, "canary_X")
    if len(canary_frame) != 1 or list(canary_frame.columns) != list(frame.columns):
        raise ValueError(
            f"canary_X must be one row with X's {frame.shape[1]} columns, in X's order; "
            f"got shape {canary_frame.shape}."
        )
    y = np.asarray(y)
    if y.shape != (len(frame),):
        raise ValueError(f"y must have one label per row of X ({len(frame)}); got shape {y.shape}.")
    if not (y == canary_y).any():
        raise ValueError(f"canary_y={canary_y!r} is not a class of y.")
    if isinstance(X, pd.DataFrame):
        canary_frame = canary_frame.astype(X.dtypes.to_dict())
        X_in = pd.concat([X, canary_frame], ignore_index=True).astype(X.dtypes.to_dict())
    else:
        X_in = np.concatenate([np.asarray(X), np.asarray(canary_X, dtype=np.asarray(X).dtype)])
    y_in = np.concatenate([y, np.asarray([canary_y], dtype=y.dtype)])
    canary = Canary.of(frame, canary_frame.iloc[0], canary_y)

    records = {r["fit"]: dict(r) for r in done}
    for fit in range(n_reference + n_trials):
        if fit in records:
            continue
        role = "reference" if fit < n_reference else ("in" if (fit - n_reference) % 2 == 0 else "out")
        records[fit] = _play(make_estimator, fit, random_state + fit, role,
                             (X_in, y_in) if role == "in" else (X, y), canary, n_synthetic, names)
        if on_trial is not None:
            on_trial(records[fit])
    wanted = [r for fit, r in records.items() if fit < n_reference + n_trials]
    return summarise(wanted, delta=delta, confidence=confidence, scores=names)


def _play(
    make_estimator: Callable[[int], Any],
    fit: int,
    seed: int,
    role: str,
    data: tuple,
    canary: Canary,
    n_synthetic: int,
    names: list[str],
) -> dict:
    """One fit of the game, and what the attacker reads from it."""
    model = make_estimator(seed)
    start = time.perf_counter()
    model.fit(*data)
    record: dict[str, Any] = {
        "fit": fit,
        "seed": seed,
        "role": role,
        "epsilon_reported": _number(getattr(model, "dp_epsilon_spent_", None)),
        "delta_reported": _number(getattr(model, "dp_delta_", None)),
        "fit_seconds": time.perf_counter() - start,
    }
    row_scores = [n for n in names if n in ROW_SCORES]
    if row_scores:
        rows = as_frame(model.sample(n_synthetic, canary.label), "the synthetic rows")
        rows.columns = canary.row.index
        record.update({n: ROW_SCORES[n](rows, canary) for n in row_scores})
    record["features"] = {n: MODEL_FEATURES[n](model) for n in names if n in MODEL_FEATURES}
    return record


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
