"""The privacy budget: how it is split, and what was spent (Opacus's RDP accountant).

Every mechanism that looks at the real rows is a Gaussian mechanism, so that the
whole fit is accounted for by one Rényi-DP accountant (Mironov, 2017), composed
and converted to ``(epsilon, delta)`` by :class:`opacus.accountants.RDPAccountant`:

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

__all__ = ["ALPHAS", "PrivacyPlan", "plan_budget"]

#: Rényi orders for the conversion to (epsilon, delta): Opacus's default orders
#: (1.1 to 63) and larger ones, which the statistics' single release at high
#: noise needs for a tight bound.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [
    80, 100, 128, 160, 200, 256, 320, 400, 512, 768, 1024,
]

#: Share of epsilon that the statistics cost DP-SGD: DP-SGD gets the noise that
#: alone would spend ``(1 - STATISTICS_SHARE) * epsilon``, and the statistics
#: the least noise that keeps the whole at ``epsilon``.
STATISTICS_SHARE = 0.2
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
    sgd_noise : float
        Noise multiplier of DP-SGD (noise std / ``max_grad_norm``).
    sample_rate : float
        Poisson sampling rate of DP-SGD.
    steps : int
        Planned discriminator steps.
    history : list of (noise_multiplier, sample_rate, steps)
        What has been spent so far, in the accountant's own form.
    """

    epsilon: float
    delta: float
    rdp_delta: float
    discovery_delta: float
    statistics_noise: float
    sgd_noise: float
    sample_rate: float
    steps: int
    history: list = field(default_factory=list)

    def spent(self) -> float:
        """Epsilon spent so far by Opacus's RDP accountant (orders :data:`ALPHAS`),
        at ``rdp_delta``; the discovery share of ``delta`` comes on top of it."""
        if not self.history:
            return 0.0
        return _epsilon(self.history, self.rdp_delta)


def _epsilon(history: list, delta: float) -> float:
    # Imported here, so that the module (and the API reference, which mkdocstrings
    # builds by importing it) needs Opacus only for accounting.
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(history)
    return float(accountant.get_epsilon(delta, alphas=ALPHAS))


def _smallest_noise(history, epsilon: float, delta: float) -> float | None:
    """The smallest noise multiplier (to 0.1%) whose ``history(noise)`` spends
    at most ``epsilon``; None if even a multiplier of 10,000 spends more."""
    low, high = 0.0, 1.0
    while _epsilon(history(high), delta) > epsilon:
        low, high = high, 2 * high
        if high > 1e4:
            return None
    while high - low > 1e-3 * high:
        middle = (low + high) / 2
        if _epsilon(history(middle), delta) > epsilon:
            low = middle
        else:
            high = middle
    return float(high)


def plan_budget(
    epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    discovery: bool,
) -> PrivacyPlan:
    """Split ``(epsilon, delta)`` between the statistics and DP-SGD.

    DP-SGD gets the smallest noise for which it alone would spend
    ``(1 - STATISTICS_SHARE) * epsilon``; the statistics get the smallest
    noise for which both together spend at most ``epsilon`` (each found by
    bisection on the accountant's answer). So the statistics cost DP-SGD
    ``STATISTICS_SHARE`` of the budget: without them it could have spent all
    of it. (Under Rényi-DP composition, the conversion to ``(epsilon,
    delta)`` is paid once: a share of the budget buys the statistics far less
    noise than a mechanism spending that share on its own would need.)

    Examples
    --------
    >>> plan = plan_budget(1.0, 1e-5, sample_rate=0.01, steps=1000, discovery=False)
    >>> round(plan.sgd_noise, 2) > 0
    True
    >>> plan.history = [(plan.statistics_noise, 1.0, 1), (plan.sgd_noise, 0.01, 1000)]
    >>> plan.spent() <= 1.0
    True
    """
    discovery_delta = DISCOVERY_DELTA_SHARE * delta if discovery else 0.0
    rdp_delta = delta - discovery_delta
    sgd_noise = _smallest_noise(
        lambda noise: [(noise, sample_rate, steps)],
        (1 - STATISTICS_SHARE) * epsilon,
        rdp_delta,
    )
    statistics_noise = None
    if sgd_noise is not None:
        statistics_noise = _smallest_noise(
            lambda noise: [(noise, 1.0, 1), (sgd_noise, sample_rate, steps)],
            epsilon,
            rdp_delta,
        )
    if statistics_noise is None:
        raise ValueError(
            f"dp_epsilon={epsilon} is too small to train for {steps} steps at "
            f"sampling rate {sample_rate:.3g}: fewer epochs or a larger dp_epsilon "
            "would do."
        )
    return PrivacyPlan(
        epsilon=epsilon,
        delta=delta,
        rdp_delta=rdp_delta,
        discovery_delta=discovery_delta,
        statistics_noise=float(statistics_noise),
        sgd_noise=sgd_noise,
        sample_rate=sample_rate,
        steps=steps,
    )
