"""The training loop: alternating discriminator and generator steps.

The loop takes plain ``nn.Module``s (a generator of ``[noise, cond]`` and a
discriminator of ``(rows, cond)``) and a *batch source* that knows the data
domain (:class:`gan_augment.tabular.data.TabularBatches` for tables). It owns
the optimisers, the steps, the per-epoch history and the progress bar, and
knows nothing of pandas or of the user's columns.

Losses are accumulated on the device and read back once per epoch, so a step
never waits for a host-device copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import nn
from tqdm.auto import tqdm

from .losses import GANLoss, gradient_penalty

__all__ = ["BatchSource", "TrainingConfig", "HISTORY_COLUMNS", "train"]

HISTORY_COLUMNS = ("generator_loss", "discriminator_loss", "d_real", "d_fake")


class BatchSource(Protocol):
    """What the loop needs from a data domain."""

    cond_dim: int

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, Any]:
        """Real rows and the batch's conditions (``batch.cond``)."""

    def activate(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Turn the generator's raw output into rows the discriminator compares."""

    def condition_loss(self, raw: torch.Tensor, batch: Any) -> torch.Tensor:
        """Extra generator loss that makes outputs honour the conditions."""


@dataclass
class TrainingConfig:
    """How long and how to train.

    Attributes
    ----------
    epochs : int
        Passes; each is ``steps_per_epoch`` generator steps.
    steps_per_epoch : int
    batch_size : int
        Rows per step; a multiple of ``pac``.
    noise_dim : int
    n_critic : int
        Discriminator steps per generator step.
    learning_rate : float
    pac : int
    loss : GANLoss
    gp_weight : float
        Weight of the WGAN-GP gradient penalty.
    verbose : bool
        Show a tqdm progress bar with live losses.
    """

    epochs: int
    steps_per_epoch: int
    batch_size: int
    noise_dim: int
    n_critic: int
    learning_rate: float
    pac: int
    loss: GANLoss
    gp_weight: float = 10.0
    verbose: bool = False


def _score_summary(scores: torch.Tensor, probabilistic: bool) -> torch.Tensor:
    return (torch.sigmoid(scores) if probabilistic else scores).mean()


def train(
    generator: nn.Module,
    discriminator: nn.Module,
    source: BatchSource,
    config: TrainingConfig,
    rng: torch.Generator,
) -> dict[str, list[float]]:
    """Train ``generator`` against ``discriminator`` on batches from ``source``.

    Returns
    -------
    history : dict of list of float
        Per epoch: ``epoch`` and the mean of each of :data:`HISTORY_COLUMNS`.

    Raises
    ------
    FloatingPointError
        If a loss becomes NaN or infinite.
    """
    device = next(generator.parameters()).device
    betas = (0.5, 0.9)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.learning_rate, betas=betas)
    opt_d = torch.optim.Adam(
        discriminator.parameters(), lr=config.learning_rate, betas=betas
    )
    loss = config.loss
    b = config.batch_size
    generator.train()
    discriminator.train()

    def fake_rows(cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(b, config.noise_dim, generator=rng, device=device)
        raw = generator(torch.cat([noise, cond], dim=1))
        return raw, source.activate(raw, rng)

    history: dict[str, list[float]] = {"epoch": [], **{k: [] for k in HISTORY_COLUMNS}}
    bar = tqdm(
        range(config.epochs), disable=not config.verbose, desc="GANOversampler", unit="epoch"
    )
    for epoch in bar:
        totals = torch.zeros(len(HISTORY_COLUMNS), device=device)
        for _ in range(config.steps_per_epoch):
            for _ in range(config.n_critic):
                real, batch = source.sample(b, rng)
                with torch.no_grad():
                    _, fake = fake_rows(batch.cond)
                real_scores = discriminator(real, batch.cond)
                fake_scores = discriminator(fake, batch.cond)
                loss_d = loss.discriminator(real_scores, fake_scores)
                if loss.gradient_penalty:
                    loss_d = loss_d + config.gp_weight * gradient_penalty(
                        discriminator, real, fake, batch.cond, config.pac, rng
                    )
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()

            _, batch = source.sample(b, rng)
            raw, fake = fake_rows(batch.cond)
            fake_scores = discriminator(fake, batch.cond)
            loss_g = loss.generator(fake_scores) + source.condition_loss(raw, batch)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            totals += torch.stack(
                [
                    loss_g.detach(),
                    loss_d.detach(),
                    _score_summary(real_scores.detach(), loss.probabilistic),
                    _score_summary(fake_scores.detach(), loss.probabilistic),
                ]
            )
        means = (totals / config.steps_per_epoch).tolist()
        if not all(math.isfinite(v) for v in means):
            raise FloatingPointError(
                f"GAN training diverged at epoch {epoch + 1}: the losses became "
                f"NaN or infinite ({dict(zip(HISTORY_COLUMNS, means))}). Try a "
                "smaller learning_rate, or loss='wgan-gp'."
            )
        history["epoch"].append(epoch + 1)
        for key, value in zip(HISTORY_COLUMNS, means):
            history[key].append(value)
        if config.verbose:
            bar.set_postfix(
                g=f"{means[0]:.3f}", d=f"{means[1]:.3f}",
                d_real=f"{means[2]:.3f}", d_fake=f"{means[3]:.3f}",
            )
    return history
