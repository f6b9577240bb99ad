"""One fit, from validated data to a fitted model: domain setup, the loop, bookkeeping.

:func:`fit_model` asks the domain for its :class:`~gan_augment.training.TrainingSetup`,
adds what every domain shares (the loop's configuration, the checkpoint
fingerprint), runs :func:`gan_augment.training.train` once and returns a
:class:`FitResult`: the fitted model and what the estimator reports about the
fit (history, epochs, steps, the DP guarantee).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from .fitted import FittedModel
from .losses import LOSSES
from .options import Options
from .seeding import Seeds
from .training import CheckpointConfig, TrainingConfig, TrainingSetup, train

__all__ = ["FitResult", "fit_model"]

logger = logging.getLogger(__name__)

# Parameters that do not shape training, so a checkpoint stays valid across them.
_NOT_FINGERPRINTED = {"checkpoint_dir", "checkpoint_every", "resume", "verbose", "device"}


@dataclass
class FitResult:
    """What a fit produced.

    Attributes
    ----------
    model : FittedModel
    history : DataFrame
        Per epoch (the index): the losses and mean scores, and ``validation``
        with early stopping.
    n_epochs, n_steps : int
    best_epoch : int or None
    privacy : gan_augment.privacy.setup.PrivacyResult or None
    rng : torch.Generator
        The training stream, where training left it (``fit_resample`` goes on
        generating from it).
    """

    model: FittedModel
    history: pd.DataFrame
    n_epochs: int
    n_steps: int
    best_epoch: int | None
    privacy: Any
    rng: torch.Generator


def _checkpoint(setup: TrainingSetup, options: Options) -> CheckpointConfig | None:
    if options.checkpoint_dir is None or setup.fingerprint_data is None:
        return None
    # What makes a checkpoint valid for this fit: the encoded data, the labels
    # and every parameter that shapes training (not where or how to report).
    digest = hashlib.sha256()
    for array in setup.fingerprint_data:
        digest.update(np.ascontiguousarray(array).tobytes())
    params = {k: v for k, v in options.given.items() if k not in _NOT_FINGERPRINTED}
    digest.update(repr(sorted(params.items(), key=str)).encode())
    return CheckpointConfig(
        Path(options.checkpoint_dir), options.checkpoint_every, options.resume,
        digest.hexdigest(),
    )


def fit_model(
    domain: Any,
    X: Any,
    y_codes: np.ndarray,
    classes: np.ndarray,
    description: Any,
    options: Options,
    seeds: Seeds,
    device: torch.device,
) -> FitResult:
    """Train a model of ``domain`` on validated data.

    Parameters
    ----------
    domain : gan_augment.domains.Domain
    X : the validated input; description : what ``domain.check_input`` said of it
    y_codes : ndarray of int
        Class indices into ``classes``.
    options : Options
    seeds : Seeds
    device : torch.device
    """
    setup = domain.setup(X, y_codes, classes, description, options, device, seeds)
    config = TrainingConfig(
        epochs=setup.epochs,
        steps_per_epoch=setup.steps_per_epoch,
        batch_size=options.batch_size,
        noise_dim=options.noise_dim,
        n_critic=options.n_critic,
        learning_rate=options.learning_rate,
        pac=options.pac,
        loss=LOSSES[options.loss],
        betas=options.betas,
        checkpoint=_checkpoint(setup, options),
        early_stopping=setup.early_stopping,
        privacy=None if setup.privacy is None else setup.privacy.dpsgd,
        verbose=options.verbose,
    )
    logger.info("Training on %s: %s.", device, setup.description)
    start = time.perf_counter()
    result = train(setup.generator, setup.discriminator, setup.source, config, setup.rng)
    logger.info(
        "Trained %d epochs in %.1f s.", result.epochs_done, time.perf_counter() - start
    )
    history = pd.DataFrame(result.history).set_index("epoch")
    if config.early_stopping is None:
        history = history.drop(columns="validation")
    privacy = None
    if setup.privacy is not None:
        privacy = setup.privacy.finish(result.private_steps)
        logger.info(
            "Spent epsilon %.3f of %.3f (delta %.3g).",
            privacy.epsilon_spent, setup.privacy.plan.epsilon, privacy.delta,
        )
    return FitResult(
        model=setup.model,
        history=history,
        n_epochs=result.epochs_done,
        n_steps=result.epochs_done * setup.steps_per_epoch,
        best_epoch=result.best_epoch,
        privacy=privacy,
        rng=setup.rng,
    )
