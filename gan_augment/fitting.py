"""One fit, from validated data to a fitted model: domain setup, the loop, bookkeeping.

:func:`fit_model` asks the domain for its :class:`~gan_augment.training.TrainingSetup`,
adds what every domain shares (the loop's configuration, the checkpoint
fingerprint), runs :func:`gan_augment.training.train` once and returns a
:class:`FitResult`: the fitted model and what the estimator reports about the
fit (history, epochs, steps, the DP guarantee).

Resuming. A checkpoint records, beside the loop's state, the root entropy of
the fit's :class:`~gan_augment.seeding.Seeds`, a digest of the raw training
data the domain was given (``TrainingSetup.fingerprint_data``), and the
parameters that shape training with their digest. With ``resume=True`` the
checkpoint is read before the domain's setup: with ``random_state=None`` the
fit takes the recorded entropy, so the encoding (mixtures, mode draws, the
hold-out) and the training stream are those the checkpoint was trained with;
with a seed, another recorded seed is refused. Other data or other parameters
are refused after the setup, with a message that says which. ``epochs`` is not
fingerprinted: a checkpoint of fewer epochs continues to the new total.
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

from .categories import unique_values
from .fitted import FittedModel
from .losses import LOSSES
from .options import Options
from .seeding import Seeds
from .training import (
    CHECKPOINT_FILE,
    CheckpointConfig,
    TrainingConfig,
    TrainingSetup,
    read_checkpoint,
    train,
)
from .training_types import PRIVATE_HISTORY_DROPPED

__all__ = ["FitResult", "data_digest", "fit_model"]

logger = logging.getLogger(__name__)

# Parameters that do not shape training, so a checkpoint stays valid across them.
# epochs says only how long to train: a checkpoint of fewer epochs continues to
# the new total. random_state is checked through the recorded seed instead,
# since None takes the checkpoint's.
_NOT_FINGERPRINTED = {
    "checkpoint_dir", "checkpoint_every", "resume", "verbose", "device", "epochs",
    "random_state",
}

# Seeds an integer random_state can give (scikit-learn's bounds); a recorded
# entropy beyond them was drawn for random_state=None.
_MAX_RANDOM_STATE = 2**32 - 1


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
    seeds : Seeds
        The fit's streams: those given, or a resumed checkpoint's when they
        took fresh entropy (``fit_resample`` draws its ``"resample"`` stream
        from them).
    """

    model: FittedModel
    history: pd.DataFrame
    n_epochs: int
    n_steps: int
    best_epoch: int | None
    privacy: Any
    rng: torch.Generator
    seeds: Seeds


def data_digest(arrays: list[np.ndarray]) -> str:
    """SHA-256 of arrays' shapes, dtypes and values, the same in every process.

    Object arrays hold pointers, so they are hashed by their categories (the
    package's one category encoding, :func:`gan_augment.categories.unique_values`)
    and each row's code, column by column.

    Examples
    --------
    >>> a = np.array([["x"], [1]], dtype=object)
    >>> data_digest([a]) == data_digest([a.copy()]) != data_digest([a[::-1]])
    True
    """
    digest = hashlib.sha256()
    for array in arrays:
        array = np.asarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.dtype != object:
            # The bytes in place: a copy of a large table would double its memory.
            digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
            continue
        if not array.size:
            continue  # the shape, hashed above, tells empty arrays apart
        for column in array.reshape(array.shape[0] if array.ndim else 1, -1).T:
            values, codes, _ = unique_values(column)
            digest.update(repr([(type(v).__qualname__, repr(v)) for v in values]).encode())
            digest.update(codes.tobytes())
    return digest.hexdigest()


def _describe(value: Any) -> str:
    """A parameter's value as a string that is the same for the same value in
    every process (a refusal message shows it)."""
    if callable(value):
        # repr() of a function holds its address.
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', value)}"
    if isinstance(value, np.ndarray):
        # repr() elides the middle of long arrays.
        return f"array({value.tolist()!r}, dtype={value.dtype})"
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(f"{k!r}: {_describe(v)}" for k, v in value.items())) + "}"
    return repr(value)


def _fingerprint(setup: TrainingSetup, options: Options, seeds: Seeds) -> dict:
    """What a checkpoint of this fit records to decide whether it may be resumed."""
    parameters = {
        name: _describe(value)
        for name, value in sorted(options.given.items())
        if name not in _NOT_FINGERPRINTED
    }
    if options.parallel is not None:
        # Each process's shard and stream depend on their number.
        parameters["processes"] = str(options.parallel.world_size)
    return {
        "entropy": seeds.entropy,
        "data": data_digest(setup.fingerprint_data),
        "parameters_digest": hashlib.sha256(repr(parameters).encode()).hexdigest(),
        "parameters": parameters,
    }


# Parameters that may differ between the processes of a data-parallel fit.
_PER_PROCESS = {"device", "verbose", "n_jobs"}


def _agree_across_ranks(X: Any, y_codes: np.ndarray, options: Options, seeds: Seeds) -> Seeds:
    """Check that every rank of the process group was given the same parameters
    and data (a ValueError on every rank if not), and give every rank rank 0's
    seeds (with ``random_state=None`` each process drew its own)."""
    from .parallel import agree

    group = options.parallel
    parameters = {
        name: _describe(value)
        for name, value in sorted(options.given.items())
        if name not in _PER_PROCESS
    }
    if isinstance(X, pd.DataFrame):
        columns = [f"{name} ({dtype})" for name, dtype in X.dtypes.items()]
        # Hashed column by column: no object array of the whole table.
        rows = pd.util.hash_pandas_object(X, index=False).to_numpy()
    else:
        columns = f"{np.shape(X)[1:]} of {np.asarray(X).dtype}"
        rows = X
    agree({
        "parameters": parameters,
        "columns": {"columns": columns},
        "rows (X and y)": f"{len(y_codes)} rows of digest {data_digest([rows, y_codes])[:16]}",
    })
    shared = Seeds.from_entropy(group.broadcast_value(seeds.entropy))
    shared.fresh = seeds.fresh
    return shared


def _cannot_resume(
    path: Path,
    why: str,
    advice: str = "Use another checkpoint_dir, or fit with resume=False to start again.",
) -> ValueError:
    return ValueError(f"Cannot resume from checkpoint '{path}': {why}. {advice}")


def _read_resumable(options: Options, device: torch.device) -> dict | None:
    """The checkpoint to resume, if ``resume=True`` finds one."""
    # Under differential privacy the setup refuses checkpoint_dir (its
    # message says why); a checkpoint there is not read.
    if options.checkpoint_dir is None or not options.resume or options.privacy is not None:
        return None
    state = read_checkpoint(options.checkpoint_dir, device)
    if state is not None and "fit" not in state:
        raise _cannot_resume(
            Path(options.checkpoint_dir) / CHECKPOINT_FILE,
            "it was written by an older version of gan-augment, which did not record "
            "its seed, data and parameters",
        )
    return state


def _resumed_seeds(state: dict, seeds: Seeds, path: Path) -> Seeds:
    """The seeds to resume with: the checkpoint's, which must be the given ones
    unless those took fresh entropy (``random_state=None``)."""
    recorded = state["fit"]["entropy"]
    if seeds.fresh:
        return Seeds.from_entropy(recorded)
    if recorded != seeds.entropy:
        written = (
            f"random_state={recorded}" if recorded <= _MAX_RANDOM_STATE
            else "random_state=None"
        )
        raise _cannot_resume(
            path,
            f"it was written with another seed ({written}; this fit's seed is "
            f"{seeds.entropy})",
            "Resume with the random_state it was written with (or None, which "
            "takes the checkpoint's), use another checkpoint_dir, or fit with "
            "resume=False to start again.",
        )
    return seeds


def _check_resumable(state: dict, record: dict, path: Path) -> None:
    """Refuse a checkpoint of other data or other parameters, saying which."""
    written = state["fit"]
    if written["data"] != record["data"]:
        raise _cannot_resume(
            path,
            "the data differ from those it was written for (the rows of X or the "
            "labels)",
        )
    if written["parameters_digest"] != record["parameters_digest"]:
        old, new = written["parameters"], record["parameters"]
        changes = ", ".join(
            f"{name} {old.get(name, '(unset)')} -> {new.get(name, '(unset)')}"
            for name in sorted(old.keys() | new.keys())
            if old.get(name) != new.get(name)
        )
        raise _cannot_resume(
            path, f"parameters differ from those it was written with: {changes}"
        )


def _checkpoint(
    setup: TrainingSetup, options: Options, seeds: Seeds, state: dict | None
) -> CheckpointConfig | None:
    if options.checkpoint_dir is None or setup.fingerprint_data is None:
        return None
    directory = Path(options.checkpoint_dir)
    record = _fingerprint(setup, options, seeds)
    if state is not None:
        _check_resumable(state, record, directory / CHECKPOINT_FILE)
    return CheckpointConfig(directory, options.checkpoint_every, record, state)


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
        With ``resume=True`` and a checkpoint, replaced by the checkpoint's if
        they took fresh entropy.
    device : torch.device

    Raises
    ------
    ValueError
        If ``resume=True`` finds a checkpoint it cannot continue: corrupted, of
        another seed, other data, other parameters, or more epochs.
    """
    group = options.parallel
    if group is not None:
        seeds = _agree_across_ranks(X, y_codes, options, seeds)
    state = _read_resumable(options, device)
    if state is not None:
        # Before the setup: the encoding draws from the seeds too.
        seeds = _resumed_seeds(state, seeds, Path(options.checkpoint_dir) / CHECKPOINT_FILE)
    setup = domain.setup(X, y_codes, classes, description, options, device, seeds)
    config = TrainingConfig(
        epochs=setup.epochs,
        steps_per_epoch=setup.steps_per_epoch,
        batch_size=(
            options.batch_size if group is None
            else group.per_rank_batch(options.batch_size, options.pac)
        ),
        noise_dim=options.noise_dim,
        n_critic=options.n_critic,
        learning_rate=options.learning_rate,
        pac=options.pac,
        loss=LOSSES[options.loss],
        feature_matching=options.feature_matching,
        betas=options.betas,
        checkpoint=_checkpoint(setup, options, seeds, state),
        early_stopping=setup.early_stopping,
        privacy=None if setup.privacy is None else setup.privacy.dpsgd,
        verbose=options.verbose and (group is None or group.is_main),
        parallel=group,
        precision=options.given.get("precision", "float32"),
    )
    logger.info("Training on %s: %s.", device, setup.description)
    start = time.perf_counter()
    run = train if setup.trainer is None else setup.trainer
    result = run(setup.generator, setup.discriminator, setup.source, config, setup.rng)
    logger.info(
        "Trained %d epochs in %.1f s.", result.epochs_done, time.perf_counter() - start
    )
    history = pd.DataFrame(result.history).set_index("epoch")
    if config.early_stopping is None:
        history = history.drop(columns="validation")
    if setup.privacy is not None:
        # The critic's loss and its scores of real rows are computed on the
        # sampled real rows without noise: only the generator's side (its loss
        # and the private discriminator's scores of rows generated from the
        # released counts) is post-processing of the DP release.
        history = history.drop(columns=list(PRIVATE_HISTORY_DROPPED))
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
        seeds=seeds,
    )
