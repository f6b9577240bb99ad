"""GAN objectives: one pair of functions per loss, one signature for all.

Every loss takes the discriminator's raw scores (logits for the probabilistic
losses, critic values for the others) and returns a scalar to minimise.

==================  ==============================================  =============================
name                discriminator minimises                         generator minimises
==================  ==============================================  =============================
``minimax``         ``-log D(x) - log(1 - D(G(z)))``                ``log(1 - D(G(z)))``
``non-saturating``  same as minimax                                 ``-log D(G(z))``
``wgan-gp``         ``C(G(z)) - C(x)`` (+ gradient penalty)         ``-C(G(z))``
``lsgan``           ``((D(x) - 1)^2 + D(G(z))^2) / 2``              ``(D(G(z)) - 1)^2 / 2``
``hinge``           ``relu(1 - D(x)) + relu(1 + D(G(z)))``          ``-D(G(z))``
==================  ==============================================  =============================

References: Goodfellow et al. 2014 (minimax, non-saturating); Gulrajani et al.
2017 (WGAN-GP); Mao et al. 2017 (LSGAN); Lim & Ye 2017, Miyato et al. 2018
(hinge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.nn.functional import softplus

__all__ = ["LOSSES", "GANLoss", "feature_matching", "gradient_penalty"]

Scores = torch.Tensor


@dataclass(frozen=True)
class GANLoss:
    """A GAN objective.

    Attributes
    ----------
    discriminator : callable (real_scores, fake_scores) -> Tensor
    generator : callable (fake_scores) -> Tensor
    gradient_penalty : bool
        Whether the discriminator loss adds the WGAN-GP penalty.
    probabilistic : bool
        Whether scores are logits of ``D(x) = P(real)``; the history then
        reports ``sigmoid(score)`` so that D(real) and D(fake) approach 0.5 at
        equilibrium. Otherwise the raw scores are reported.
    """

    discriminator: Callable[[Scores, Scores], torch.Tensor]
    generator: Callable[[Scores], torch.Tensor]
    gradient_penalty: bool = False
    probabilistic: bool = False


def _bce_discriminator(real: Scores, fake: Scores) -> torch.Tensor:
    # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
    return softplus(-real).mean() + softplus(fake).mean()


LOSSES: dict[str, GANLoss] = {
    "minimax": GANLoss(
        _bce_discriminator, lambda fake: -softplus(fake).mean(), probabilistic=True
    ),
    "non-saturating": GANLoss(
        _bce_discriminator, lambda fake: softplus(-fake).mean(), probabilistic=True
    ),
    "wgan-gp": GANLoss(
        lambda real, fake: fake.mean() - real.mean(),
        lambda fake: -fake.mean(),
        gradient_penalty=True,
    ),
    "lsgan": GANLoss(
        lambda real, fake: 0.5 * (((real - 1) ** 2).mean() + (fake**2).mean()),
        lambda fake: 0.5 * ((fake - 1) ** 2).mean(),
    ),
    "hinge": GANLoss(
        lambda real, fake: torch.relu(1 - real).mean() + torch.relu(1 + fake).mean(),
        lambda fake: -fake.mean(),
    ),
}


def gradient_penalty(
    discriminator: torch.nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    cond: torch.Tensor,
    pac: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad C(x_hat)|| - 1)^2]`` on packs of interpolates.

    One interpolation weight is drawn per pack, and the gradient norm is taken
    over the whole pack's rows, because the critic scores packs, not rows. Real
    and generated rows share the conditions ``cond``, which are held fixed.
    Rows may have any shape after the batch axis (encoded table rows, images):
    the weights broadcast over it.
    """
    n_packs = real.shape[0] // pac
    alpha = torch.rand(
        n_packs, 1, 1, generator=generator, device=real.device, dtype=real.dtype
    )
    alpha = alpha.expand(n_packs, pac, 1).reshape(-1, *[1] * (real.dim() - 1))
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(
        discriminator(mixed, cond).sum(), mixed, create_graph=True
    )
    norms = grad.reshape(n_packs, -1).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def feature_matching(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Feature matching (Salimans et al. 2016): ``||E f(x) - E f(G(z))||^2``.

    ``f`` is the discriminator's last hidden layer (its ``features`` method),
    one row per pack; the real rows' features are a fixed target (detached),
    so only the generator's gradient flows. Real and generated rows share
    their conditions, so both means are over the same mix of classes.
    """
    target = real_features.detach().mean(dim=0)
    return ((fake_features.mean(dim=0) - target) ** 2).sum()
