"""What the training loop takes and gives: its data contracts, and nothing that runs.

The domains build a :class:`TrainingSetup` (a :class:`BatchSource`, the two
networks, the fitted model around the generator, the budget);
:mod:`gan_augment.fitting` adds a :class:`TrainingConfig` (with a
:class:`CheckpointConfig` and :class:`EarlyStopping` when asked) and gets a
:class:`TrainingResult` back from :func:`gan_augment.training.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from .losses import GANLoss

__all__ = [
    "BatchSource",
    "CheckpointConfig",
    "EarlyStopping",
    "HISTORY_COLUMNS",
    "PRIVATE_HISTORY_DROPPED",
    "TrainingConfig",
    "TrainingResult",
    "TrainingSetup",
]

HISTORY_COLUMNS = ("generator_loss", "discriminator_loss", "d_real", "d_fake")
#: The history's columns computed on real rows without noise, which a private
#: fit does not keep.
PRIVATE_HISTORY_DROPPED = ("discriminator_loss", "d_real")

class BatchSource(Protocol):
    """What the loop needs from a data domain."""

    cond_dim: int

    def sample(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, Any]:
        """Real rows and the batch's conditions (``batch.cond``)."""

    def activate(self, raw: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Turn the generator's raw output into rows the discriminator compares."""

    def condition_loss(self, raw: torch.Tensor, fake: torch.Tensor, batch: Any) -> torch.Tensor:
        """Extra generator loss that makes outputs honour the conditions, from
        the generator's raw output and the activated rows made of it."""

    def sample_conditions(self, n: int, generator: torch.Generator) -> Any:
        """Conditions for a generator step (``.cond``), drawn without real rows
        where privacy requires it."""


@dataclass
class CheckpointConfig:
    """Where and how often to checkpoint, and what to continue from.

    Attributes
    ----------
    directory : Path
        The checkpoint is ``directory / "checkpoint.pt"``.
    every : int
        Epochs between checkpoints.
    record : dict
        Written into every checkpoint under ``"fit"`` and never read by the
        loop: what the caller needs to decide whether a checkpoint may be
        resumed (plain values that ``torch.load(weights_only=True)`` reads).
    state : dict or None
        A checkpoint from :func:`read_checkpoint` that the caller has accepted;
        training continues from it. None starts afresh.
    """

    directory: Path
    every: int
    record: dict = field(default_factory=dict)
    state: dict | None = None


@dataclass
class EarlyStopping:
    """Stop when a validation score has not improved for a while.

    Attributes
    ----------
    score : callable (generator) -> float
        Lower is better; called with the generator in eval mode.
    every : int
        Epochs between scores.
    patience : int
        Scores without improvement before training stops; the generator with
        the best score is then kept.
    """

    score: Callable[[nn.Module], float]
    every: int
    patience: int


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
    feature_matching : float
        Weight of feature matching in the generator's loss (0: none); the
        discriminator must then have a ``features(rows, cond)`` method.
    betas : tuple of float
        Adam's ``(beta1, beta2)`` for both networks.
    max_retries : int
        Roll-backs after non-finite values before giving up.
    checkpoint : CheckpointConfig or None
    early_stopping : EarlyStopping or None
    privacy : gan_augment.privacy.dpsgd.DPSGD or None
        Train the discriminator with DP-SGD (Opacus); the batch source must then
        sample rows by Poisson sampling. A non-finite loss then stops training
        instead of rolling back, since discarded steps would still have spent
        privacy budget.
    verbose : bool
        Show a tqdm progress bar with live losses.
    parallel : gan_augment.parallel.ProcessGroup or None
        Train across the ranks of a process group (data-parallel):
        ``batch_size`` is then each rank's share of the step's batch.
    precision : {"float32", "bfloat16"}
        The networks' forward passes in float32, or under bf16 autocast with
        float32 weights and outputs.
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
    feature_matching: float = 0.0
    betas: tuple[float, float] = (0.5, 0.9)
    max_retries: int = 3
    checkpoint: CheckpointConfig | None = None
    early_stopping: EarlyStopping | None = None
    privacy: Any = None
    verbose: bool = False
    parallel: Any = None
    precision: str = "float32"


@dataclass
class TrainingSetup:
    """What a domain hands the training loop.

    Attributes
    ----------
    source : BatchSource
    generator, discriminator : torch.nn.Module
        Initialised on the device; ``model.generator`` is ``generator``, which
        the loop trains in place.
    model : gan_augment.fitted.FittedModel
    rng : torch.Generator
        The training stream; ``fit_resample`` goes on drawing from it to generate.
    epochs, steps_per_epoch : int
    fingerprint_data : list of ndarray or None
        The raw training data a checkpoint must have been written for (what the
        domain was given, not a random encoding of it, so that a fit with fresh
        seeds still recognises its checkpoint); None if the fit cannot
        checkpoint (DP).
    early_stopping : EarlyStopping or None
    privacy : gan_augment.privacy.setup.PrivateAccounting or None
    description : str
        For the log: what is trained on what.
    trainer : callable or None
        The domain's own training in place of :func:`gan_augment.training.train`
        (the latent-interpolation autoencoder), with its signature
        ``(generator, discriminator, source, config, rng) -> TrainingResult``.
    """

    source: BatchSource
    generator: nn.Module
    discriminator: nn.Module
    model: Any
    rng: torch.Generator
    epochs: int
    steps_per_epoch: int
    fingerprint_data: list[np.ndarray] | None
    early_stopping: EarlyStopping | None = None
    privacy: Any = None
    description: str = ""
    trainer: Callable[..., TrainingResult] | None = None


@dataclass
class TrainingResult:
    """What training produced besides the trained modules.

    Attributes
    ----------
    history : dict of list
        Per completed epoch: ``epoch`` and the mean of each of
        :data:`HISTORY_COLUMNS`.
    rollbacks : int
        How many times non-finite values were rolled back.
    interrupted : bool
        Whether a ``KeyboardInterrupt`` ended training early.
    best_epoch : int or None
        With early stopping, the epoch whose generator was kept; None when the
        generator is the last complete epoch's (no score was taken yet).
    best_score : float
        The score of ``best_epoch`` (infinite while there is none).
    checks_without_improvement : int
        Scores since the best one; early stopping ends training when it
        reaches the patience.
    private_steps : int
        DP-SGD steps of the discriminator taken (0 without privacy).
    """

    history: dict[str, list[float]] = field(
        default_factory=lambda: {
            "epoch": [], **{k: [] for k in HISTORY_COLUMNS}, "validation": []
        }
    )
    rollbacks: int = 0
    interrupted: bool = False
    best_epoch: int | None = None
    best_score: float = float("inf")
    checks_without_improvement: int = 0
    private_steps: int = 0

    @property
    def epochs_done(self) -> int:
        return len(self.history["epoch"])
