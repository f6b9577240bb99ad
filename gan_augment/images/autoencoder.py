"""The image autoencoder: trained on all classes, for latent interpolation and the BAGAN start.

The decoder is the conditional generator itself (:class:`ImageGenerator`, given
``[code, class one-hot]``) and the encoder an :class:`ImageEncoder`, whose
codes are standardised like the generator's noise. Both are trained together
to reconstruct images drawn class by class (the image batch source's draws),
so rare classes are reconstructed as often as common ones and share the
convolutions the common classes teach.

Two uses:

* ``generator="latent"`` (DeepSMOTE, Dablain et al., 2022): the autoencoder is
  the whole fit, and new images are decoded from codes interpolated between a
  training image of the class and one of its nearest neighbours in the class
  (:class:`gan_augment.images.model.LatentImageModel`);
* ``pretrain="autoencoder"`` (BAGAN, Mariani et al., 2018): the GAN starts from
  the trained decoder, and the discriminator's convolutions from the encoder's.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..training_types import HISTORY_COLUMNS, TrainingConfig, TrainingResult
from .data import ImageBatches

__all__ = ["encode", "fit_autoencoder", "reconstruct", "train_autoencoder"]


def _reconstruction_step(decoder, encoder, optimiser, real, cond) -> torch.Tensor:
    codes = encoder(real)
    loss = nn.functional.mse_loss(decoder(torch.cat([codes, cond], dim=1)), real)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return loss.detach()


def train_autoencoder(
    decoder: nn.Module,
    encoder: nn.Module,
    source: ImageBatches,
    steps: int,
    batch_size: int,
    learning_rate: float,
    betas: tuple[float, float],
    rng: torch.Generator,
    verbose: bool = False,
) -> list[float]:
    """Train ``decoder`` and ``encoder`` in place for ``steps`` steps.

    Returns
    -------
    list of float
        The mean squared reconstruction error of each step's batch.

    Raises
    ------
    FloatingPointError
        If the reconstruction error becomes NaN or infinite.
    """
    device = next(decoder.parameters()).device
    parameters = [*decoder.parameters(), *encoder.parameters()]
    optimiser = torch.optim.Adam(
        parameters, lr=learning_rate, betas=betas,
        fused=True if device.type in ("cpu", "cuda") else None,
    )
    decoder.train()
    encoder.train()
    losses = []
    for _ in tqdm(range(steps), disable=not verbose, desc="autoencoder", leave=False):
        real, batch = source.sample(batch_size, rng)
        losses.append(_reconstruction_step(decoder, encoder, optimiser, real, batch.cond))
    values = torch.stack(losses).tolist() if losses else []
    if not all(map(math.isfinite, values)):
        raise FloatingPointError(
            "The autoencoder's reconstruction error became NaN or infinite; try a "
            "smaller learning_rate."
        )
    return values


def fit_autoencoder(
    decoder: nn.Module,
    encoder: nn.Module,
    source: ImageBatches,
    config: TrainingConfig,
    rng: torch.Generator,
) -> TrainingResult:
    """The whole fit of ``generator="latent"``, in the training loop's terms.

    Trains ``config.epochs * config.steps_per_epoch`` steps; the history's
    ``generator_loss`` is each epoch's mean reconstruction error, and the
    adversarial columns are NaN (there is no discriminator).
    """
    losses = train_autoencoder(
        decoder, encoder, source, config.epochs * config.steps_per_epoch,
        config.batch_size, config.learning_rate, config.betas, rng, config.verbose,
    )
    decoder.eval()
    encoder.eval()
    result = TrainingResult()
    per_epoch = np.asarray(losses).reshape(config.epochs, config.steps_per_epoch).mean(1)
    for epoch, loss in enumerate(per_epoch.tolist()):
        result.history["epoch"].append(epoch)
        result.history[HISTORY_COLUMNS[0]].append(loss)
        for column in HISTORY_COLUMNS[1:]:
            result.history[column].append(math.nan)
        result.history["validation"].append(math.nan)
    return result


@torch.no_grad()
def encode(encoder: nn.Module, images: torch.Tensor, chunk_size: int = 1024) -> torch.Tensor:
    """The codes of ``images`` (on their device), in eval mode, chunk by chunk."""
    was_training = encoder.training
    encoder.eval()
    try:
        return torch.cat([encoder(part) for part in images.split(chunk_size)])
    finally:
        encoder.train(was_training)


@torch.no_grad()
def reconstruct(
    decoder: nn.Module, codes: torch.Tensor, classes: torch.Tensor, n_classes: int,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """The decoder's images of ``codes`` for their ``classes``, in eval mode."""
    was_training = decoder.training
    decoder.eval()
    try:
        onehot = nn.functional.one_hot(classes, n_classes).to(codes.dtype)
        return torch.cat([
            decoder(torch.cat([c, o], dim=1))
            for c, o in zip(codes.split(chunk_size), onehot.split(chunk_size))
        ])
    finally:
        decoder.train(was_training)
