"""DP-SGD for the discriminator, with Opacus (imported only when DP is asked for).

Only the discriminator sees real rows, so it is the part trained privately:
Opacus's :class:`~opacus.GradSampleModule` computes per-example gradients and
its :class:`~opacus.optimizers.DPOptimizer` clips each to ``max_grad_norm``
and adds Gaussian noise of ``noise_multiplier * max_grad_norm`` to their sum.
The generator learns only through the discriminator's scores, so everything it
produces is post-processing of a DP release.

An example is one real row and the fake row generated from its conditions:
the discriminator scores both in two passes whose per-example gradients Opacus
adds up before clipping, so clipping bounds what one real row can change.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

__all__ = ["DPSGD", "make_private", "public_pass", "quiet_hooks"]


@dataclass
class DPSGD:
    """DP-SGD settings of the discriminator.

    Attributes
    ----------
    noise_multiplier : float
    max_grad_norm : float
    sample_rate : float
        Poisson sampling rate of the real rows.
    expected_batch_size : float
        ``sample_rate * n_rows``: the sum of clipped gradients is divided by it.
    """

    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    expected_batch_size: float


def make_private(
    discriminator: nn.Module,
    optimizer: torch.optim.Optimizer,
    settings: DPSGD,
    generator: torch.Generator,
) -> tuple[GradSampleModule, DPOptimizer]:
    """Wrap the discriminator and its optimiser for DP-SGD.

    The noise is drawn from ``generator``, so a fit with a fixed random state
    is reproducible (use Opacus's ``secure_mode`` outside this library if the
    noise must come from a cryptographically secure source).
    """
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer
    module = GradSampleModule(discriminator, loss_reduction="mean")
    private = DPOptimizer(
        optimizer,
        noise_multiplier=settings.noise_multiplier,
        max_grad_norm=settings.max_grad_norm,
        expected_batch_size=max(1, round(settings.expected_batch_size)),
        loss_reduction="mean",
        generator=generator,
    )
    return module, private


def empty_step(module: GradSampleModule, optimizer: DPOptimizer) -> None:
    """A step on an empty Poisson sample: the update is noise alone, as DP-SGD
    requires (skipping it would reveal that the sample was empty)."""
    optimizer.zero_grad(set_to_none=True)
    for p in module.parameters():
        if p.requires_grad:
            p.grad_sample = p.new_zeros((0, *p.shape))
    optimizer.step()


@contextmanager
def public_pass(module: nn.Module):
    """Run the discriminator's forward and backward passes of the generator's
    step without per-example hooks (that step sees no real row)."""
    if not hasattr(module, "disable_hooks"):
        yield
        return
    module.disable_hooks()
    try:
        yield
    finally:
        module.enable_hooks()


@contextmanager
def quiet_hooks():
    """Opacus's per-example hooks fire on outputs whose inputs (rows) need no
    gradient; torch warns about that at every backward pass, harmlessly."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Full backward hook", UserWarning)
        yield
