"""A lower bound on epsilon from a membership test's outcomes (Clopper-Pearson).

For an (epsilon, delta)-DP mechanism every test of "canary in" against
"canary out" obeys ``TPR <= exp(epsilon) FPR + delta`` and
``1 - FPR <= exp(epsilon) (1 - TPR) + delta``; one-sided Clopper-Pearson
bounds on the observed rates turn each threshold into a lower bound on
epsilon that holds at a stated confidence (see
:func:`epsilon_lower_bound`). The canary game that produces the scores is
:mod:`gan_augment.privacy.audit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np
from scipy.stats import beta

__all__ = ["AuditBound", "check_rate", "epsilon_lower_bound"]


@dataclass(frozen=True)
class AuditBound:
    """The best threshold of one score, and the epsilon lower bound it gives.

    Attributes
    ----------
    epsilon : float
        The lower bound, at least 0.
    threshold : float
        Scores at or above it are called "canary in".
    tpr, fpr : float
        The observed rates at that threshold.
    n_in, n_out : int
        Trials with and without the canary.
    k_in, k_out : int
        Trials with and without the canary that scored at or above the threshold.
    confidence : float
        The confidence of this bound, over all thresholds together.
    """

    epsilon: float
    threshold: float
    tpr: float
    fpr: float
    n_in: int
    n_out: int
    k_in: int
    k_out: int
    confidence: float


def check_rate(name: str, value: Any, low_closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}.")
    value = float(value)
    inside = (0 <= value < 1) if low_closed else (0 < value < 1)
    if not inside:
        interval = "[0, 1)" if low_closed else "(0, 1)"
        raise ValueError(f"{name} must be in {interval}; got {value!r}.")
    return value


def _scores(name: str, values: Any) -> np.ndarray:
    try:
        scores = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name} must be an array of numbers.") from error
    if scores.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional; got shape {scores.shape}.")
    if not scores.size:
        raise ValueError(f"{name} is empty: the bound needs at least one trial's score.")
    if not np.isfinite(scores).all():
        raise ValueError(f"{name} holds NaN or infinite scores.")
    return scores


def _lower(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson lower bounds of rates with ``k`` of ``n``."""
    safe = np.maximum(k, 1)
    return np.where(k > 0, beta.ppf(alpha, safe, n - safe + 1), 0.0)


def _upper(k: np.ndarray, n: int, alpha: float) -> np.ndarray:
    """One-sided Clopper-Pearson upper bounds of rates with ``k`` of ``n``."""
    safe = np.minimum(k, n - 1)
    return np.where(k < n, beta.ppf(1 - alpha, safe + 1, n - safe), 1.0)


def epsilon_lower_bound(
    scores_in: Any, scores_out: Any, delta: float = 0.0, confidence: float = 0.95
) -> AuditBound:
    """A lower bound on epsilon from the scores of trials with and without the canary.

    Every distinct score is tried as the threshold ("score >= t means the
    canary was in"), in both of DP's inequalities, and the largest bound is
    returned. The Clopper-Pearson bounds hold for all thresholds at once at
    ``confidence``: the lower bounds on TPR and the upper bounds on FPR are
    taken at ``(1 - confidence) / (n_in + n_out)``, one Bonferroni term per
    count a threshold can give (see the module's docstring).

    Parameters
    ----------
    scores_in, scores_out : array-like of float
        One score per trial with the canary, and per trial without it; higher
        means "in".
    delta : float, default=0.0
        The delta of the guarantee under audit, in [0, 1).
    confidence : float, default=0.95
        In (0, 1). A caller that tries several scores divides ``1 -
        confidence`` among them.

    Returns
    -------
    AuditBound
        ``epsilon`` is 0 when no threshold gives a positive bound.

    Raises
    ------
    ValueError
        If a score array is empty, not one-dimensional or not finite, or
        ``delta`` or ``confidence`` is out of range.
    TypeError
        If the scores are not numbers, or ``delta`` or ``confidence`` not a
        real number.

    Examples
    --------
    Perfect separation of 100 and 100 trials: the bound is then the
    Clopper-Pearson rates' alone.

    >>> import numpy as np
    >>> bound = epsilon_lower_bound(np.ones(100), np.zeros(100))
    >>> round(bound.epsilon, 2), bound.tpr, bound.fpr
    (2.45, 1.0, 0.0)
    >>> epsilon_lower_bound(np.arange(50.0), np.arange(50.0)).epsilon
    0.0
    """
    scores_in = _scores("scores_in", scores_in)
    scores_out = _scores("scores_out", scores_out)
    delta = check_rate("delta", delta, low_closed=True)
    confidence = check_rate("confidence", confidence, low_closed=False)
    n_in, n_out = len(scores_in), len(scores_out)
    alpha = (1 - confidence) / (n_in + n_out)
    thresholds = np.unique(np.concatenate([scores_in, scores_out]))
    k_in = n_in - np.searchsorted(np.sort(scores_in), thresholds, side="left")
    k_out = n_out - np.searchsorted(np.sort(scores_out), thresholds, side="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        positive = np.log((_lower(k_in, n_in, alpha) - delta) / _upper(k_out, n_out, alpha))
        negative = np.log(
            (1 - _upper(k_out, n_out, alpha) - delta) / (1 - _lower(k_in, n_in, alpha))
        )
    # A numerator at or below 0 (delta too large for the rate) bounds nothing.
    epsilons = np.nan_to_num(np.maximum(positive, negative), nan=0.0, neginf=0.0)
    best = int(np.argmax(epsilons))
    return AuditBound(
        epsilon=max(0.0, float(epsilons[best])),
        threshold=float(thresholds[best]),
        tpr=float(k_in[best] / n_in),
        fpr=float(k_out[best] / n_out),
        n_in=n_in,
        n_out=n_out,
        k_in=int(k_in[best]),
        k_out=int(k_out[best]),
        confidence=confidence,
    )
