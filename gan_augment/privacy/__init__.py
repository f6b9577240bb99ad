"""Differential privacy for the GAN, and evidence of privacy for its output.

* :mod:`~gan_augment.privacy.accounting`: the budget split and Opacus's RDP
  accountant;
* :mod:`~gan_augment.privacy.statistics`: the noisy counts that replace every
  statistic of the real rows outside DP-SGD;
* :mod:`~gan_augment.privacy.dpsgd`: DP-SGD of the discriminator (Opacus);
* :mod:`~gan_augment.privacy.batches`: Poisson sampling of the real rows;
* :mod:`~gan_augment.privacy.setup`: all of it put together for a fit (the
  private variant of the tabular setup);
* :mod:`~gan_augment.privacy.report`: :func:`report`, the privacy report of a
  synthetic data set (exact copies, distances to closest records, membership
  inference, utility).

Opacus is needed only for training with ``dp_epsilon``; the report needs
scikit-learn alone.
"""

from .report import report

__all__ = ["report"]
