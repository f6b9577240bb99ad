"""The privacy budget: how it is split, and what was spent (Opacus's RDP accountant).

Every mechanism that looks at the real rows is a Gaussian mechanism, so that the
whole fit is accounted for by Rényi DP (Mironov, 2017), composed and converted
to ``(epsilon, delta)`` by Opacus's RDP analysis (``compute_rdp`` and
``get_privacy_spent``, what :class:`opacus.accountants.RDPAccountant` runs; called
directly so that the budget's bisection computes DP-SGD's divergences once per
candidate noise instead of once per step of the statistics' bisection):

* the **statistics** (class and category counts, histograms of the continuous
  columns): one release of a vector of counts, sampling rate 1, one step;
* **DP-SGD** of the discriminator: ``steps`` steps at the Poisson sampling
  rate ``q = batch_size / n_rows``.

A share of ``delta`` is set aside for the category sets discovered from noisy
counts (see :mod:`gan_augment.privacy.statistics`), because a category seen in
only one of two neighbouring data sets is released with a small probability
that no RDP bound covers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ALPHAS", "PrivacyPlan", "STATISTICS_SHARES", "plan_budget", "plan_statistics"]

#: Rényi orders for the conversion to (epsilon, delta): Opacus's default orders
#: (1.1 to 63) and larger ones, which the statistics' single release at high
#: noise needs for a tight bound.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [
    80, 100, 128, 160, 200, 256, 320, 400, 512, 768, 1024,
]

#: Shares of epsilon that the statistics may cost DP-SGD (DP-SGD gets the
#: noise that alone would spend ``(1 - share) * epsilon``, and the statistics
#: the least noise that keeps the whole at ``epsilon``), largest first.
STATISTICS_SHARES = (0.2, 0.1, 0.05)
#: The share is the smallest of :data:`STATISTICS_SHARES` whose frequency
#: counts have a noise standard deviation of at most this fraction of the
#: rows: beyond that, a larger share buys the statistics nothing the model
#: can see and costs DP-SGD noise (a small table gets the largest share).
FREQUENCY_NOISE_TARGET = 0.0025
#: Share of delta set aside for releasing discovered category sets.
DISCOVERY_DELTA_SHARE = 0.1


@dataclass
class PrivacyPlan:
    """Noise levels that together spend ``epsilon`` at ``delta``.

    Attributes
    ----------
    epsilon, delta : float
        The target.
    rdp_delta : float
        The part of ``delta`` for the RDP-to-DP conversion.
    discovery_delta : float
        The part of ``delta`` for releasing discovered category sets (0 when
        every category set is declared).
    statistics_noise : float
        Noise multiplier of the statistics (noise std / L2 sensitivity).
    sgd_noise : float or None
        Noise multiplier of DP-SGD (noise std / ``max_grad_norm``); None when
        the statistics are all that is released.
    sample_rate : float
        Poisson sampling rate of DP-SGD.
    steps : int
        Planned discriminator steps.
    statistics_share : float
        The share of epsilon the statistics cost DP-SGD (one of
        :data:`STATISTICS_SHARES`).
    history : list of (noise_multiplier, sample_rate, steps)
        What has been spent so far, in the accountant's own form.
    """

    epsilon: float
    delta: float
    rdp_delta: float
    discovery_delta: float
    statistics_noise: float
    sgd_noise: float | None
    sample_rate: float
    steps: int
    statistics_share: float = STATISTICS_SHARES[0]
    history: list = field(default_factory=list)

    def spent(self) -> float:
        """Epsilon spent so far by Opacus's RDP accountant (orders :data:`ALPHAS`),
        at ``rdp_delta``; the discovery share of ``delta`` comes on top of it."""
        if not self.history:
            return 0.0
        return _epsilon(self.history, self.rdp_delta)


def _rdp(history: list) -> np.ndarray:
    """Rényi divergences at :data:`ALPHAS` of ``(noise, sample_rate, steps)`` entries."""
    # Imported here, so that the module (and the API reference, which mkdocstrings
    # builds by importing it) needs Opacus only for accounting.
    from opacus.accountants.analysis.rdp import compute_rdp

    return sum(
        np.asarray(compute_rdp(q=rate, noise_multiplier=noise, steps=steps, orders=ALPHAS))
        for noise, rate, steps in history
    )


def _epsilon_of(rdp: np.ndarray, delta: float) -> float:
    from opacus.accountants.analysis.rdp import get_privacy_spent

    return float(get_privacy_spent(orders=ALPHAS, rdp=rdp, delta=delta)[0])


def _epsilon(history: list, delta: float) -> float:
    """Epsilon that ``history`` spends at ``delta`` (orders :data:`ALPHAS`), as
    :class:`opacus.accountants.RDPAccountant` computes it."""
    return _epsilon_of(_rdp(history), delta)


def _smallest_noise(spends, epsilon: float) -> float | None:
    """The smallest noise multiplier (to 0.1%) for which ``spends(noise)`` is at
    most ``epsilon``; None if even a multiplier of 10,000 spends more."""
    low, high = 0.0, 1.0
    while spends(high) > epsilon:
        low, high = high, 2 * high
        if high > 1e4:
            return None
    while high - low > 1e-3 * high:
        middle = (low + high) / 2
        if spends(middle) > epsilon:
            low = middle
        else:
            high = middle
    return float(high)


def _split_delta(delta: float, discovery: bool) -> tuple[float, float]:
    """(delta for discovered category sets, delta for the RDP conversion)."""
    discovery_delta = DISCOVERY_DELTA_SHARE * delta if discovery else 0.0
    return discovery_delta, delta - discovery_delta


def _split(epsilon, rdp_delta, sample_rate, steps, share):
    """(statistics noise, DP-SGD noise) for one share, or None."""
    sgd_noise = _smallest_noise(
        lambda noise: _epsilon([(noise, sample_rate, steps)], rdp_delta),
        (1 - share) * epsilon,
    )
    if sgd_noise is None:
        return None
    sgd = _rdp([(sgd_noise, sample_rate, steps)])
    statistics_noise = _smallest_noise(
        lambda noise: _epsilon_of(sgd + _rdp([(noise, 1.0, 1)]), rdp_delta), epsilon
    )
    return None if statistics_noise is None else (statistics_noise, sgd_noise)


def plan_budget(
    epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    discovery: bool,
    n_rows: int | None = None,
    frequency_scale: float = 1.0,
) -> PrivacyPlan:
    """Split ``(epsilon, delta)`` between the statistics and DP-SGD.

    For a share ``s`` of :data:`STATISTICS_SHARES`, DP-SGD gets the smallest
    noise for which it alone would spend ``(1 - s) * epsilon``; the statistics
    get the smallest noise for which both together spend at most ``epsilon``
    (each found by bisection on the accountant's answer). So the statistics
    cost DP-SGD ``s`` of the budget: without them it could have spent all of
    it. (Under Rényi-DP composition, the conversion to ``(epsilon, delta)`` is
    paid once: a share of the budget buys the statistics far less noise than
    a mechanism spending that share on its own would need.)

    The share is the largest one unless ``n_rows`` is given: then it is the
    smallest whose frequency counts' noise, ``frequency_scale`` times the
    statistics' noise multiplier, stays within :data:`FREQUENCY_NOISE_TARGET`
    of ``n_rows`` (the number of rows counts as public, as in the sampling
    rate).

    Examples
    --------
    >>> plan = plan_budget(1.0, 1e-5, sample_rate=0.01, steps=1000, discovery=False)
    >>> round(plan.sgd_noise, 2) > 0, plan.statistics_share
    (True, 0.2)
    >>> plan.history = [(plan.statistics_noise, 1.0, 1), (plan.sgd_noise, 0.01, 1000)]
    >>> plan.spent() <= 1.0
    True
    """
    discovery_delta, rdp_delta = _split_delta(delta, discovery)
    chosen = None
    for share in STATISTICS_SHARES:
        split = _split(epsilon, rdp_delta, sample_rate, steps, share)
        if split is None:
            break
        if chosen is not None and split[0] * frequency_scale > FREQUENCY_NOISE_TARGET * n_rows:
            break
        chosen = share, split
        if n_rows is None:
            break
    if chosen is None:
        raise ValueError(
            f"dp_epsilon={epsilon} is too small to train for {steps} steps at "
            f"sampling rate {sample_rate:.3g}: fewer epochs or a larger dp_epsilon "
            "would do."
        )
    share, (statistics_noise, sgd_noise) = chosen
    return PrivacyPlan(
        epsilon=epsilon,
        delta=delta,
        rdp_delta=rdp_delta,
        discovery_delta=discovery_delta,
        statistics_noise=float(statistics_noise),
        sgd_noise=sgd_noise,
        sample_rate=sample_rate,
        steps=steps,
        statistics_share=share,
    )


def plan_statistics(epsilon: float, delta: float, discovery: bool) -> PrivacyPlan:
    """The whole ``(epsilon, delta)`` for the statistics (``dp_method="marginals"``):
    the smallest noise multiplier of one Gaussian mechanism that spends at most
    ``epsilon``, no DP-SGD.

    >>> plan = plan_statistics(1.0, 1e-5, discovery=False)
    >>> plan.history = [(plan.statistics_noise, 1.0, 1)]
    >>> 0.99 < plan.spent() <= 1.0, plan.sgd_noise
    (True, None)
    """
    discovery_delta, rdp_delta = _split_delta(delta, discovery)
    noise = _smallest_noise(lambda n: _epsilon([(n, 1.0, 1)], rdp_delta), epsilon)
    if noise is None:
        raise ValueError(f"dp_epsilon={epsilon} is too small to release any statistics.")
    return PrivacyPlan(
        epsilon=epsilon,
        delta=delta,
        rdp_delta=rdp_delta,
        discovery_delta=discovery_delta,
        statistics_noise=noise,
        sgd_noise=None,
        sample_rate=0.0,
        steps=0,
        statistics_share=1.0,
    )
