"""The training loop: alternating discriminator and generator steps, and its faults.

The loop takes plain ``nn.Module``s (a generator of ``[noise, cond]`` and a
discriminator of ``(rows, cond)``; a discriminator with an ``adapt(real_scores,
fake_scores)`` method is given each discriminator step's scores) and a *batch source* that knows the data
domain (:class:`gan_augment.tabular.data.TabularBatches` for tables). It owns
the optimisers, the steps, the per-epoch history, the progress bar, the
checkpoints and the handling of faults, and knows nothing of pandas or of the
user's columns.

Faults:

* **Non-finite values.** Every step checks that both losses are finite (one
  host-device read per step); every epoch checks the generator's weights. On
  a fault, training rolls back to the last good state (weights, optimiser
  state and random stream, saved at epoch boundaries), halves the learning
  rate and goes on; after ``max_retries`` faults it stops with a
  ``FloatingPointError`` that says what to try. A generator with non-finite
  weights is never returned.
* **Interruption.** A ``KeyboardInterrupt`` ends training with the
  generator that training would have kept had it ended at the last complete
  epoch: with early stopping the best one scored so far (if any was), else the
  generator at the end of that epoch (a :class:`TrainingWarning` says how far
  it got); one during the first epoch propagates.
* **Checkpoints.** With a :class:`CheckpointConfig`, the state is written
  every ``every`` epochs (atomically), with the caller's ``record`` beside it;
  :func:`read_checkpoint` reads it back and a ``CheckpointConfig.state``
  continues from it, to ``epochs`` (which may be more than the checkpoint was
  written for). On the CPU a resumed run gives bit-identical results to an
  uninterrupted one.

The result always describes one state: ``history`` holds the completed epochs
(none that a roll-back discarded), ``best_epoch`` is the epoch of the
generator left in ``generator`` (None when it is simply the last complete
epoch's).
"""

from __future__ import annotations

import copy
import logging
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .exceptions import TrainingWarning
from .files import atomic_write
from .losses import feature_matching, gradient_penalty
from .training_types import (
    HISTORY_COLUMNS,
    BatchSource,
    CheckpointConfig,
    EarlyStopping,
    TrainingConfig,
    TrainingResult,
    TrainingSetup,
)

__all__ = [
    "BatchSource",
    "CheckpointConfig",
    "EarlyStopping",
    "HISTORY_COLUMNS",
    "TrainingConfig",
    "TrainingResult",
    "TrainingSetup",
    "read_checkpoint",
    "train",
]

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "checkpoint.pt"

# The last good state is saved at an epoch boundary at most this often (in
# generator steps), so that data sets with one-step epochs do not pay for a
# copy of both networks and optimisers at every step.
_SNAPSHOT_STEPS = 25


def _in_precision(call, precision: str, device_type: str):
    """``call`` (a network's forward) run under bf16 autocast when ``precision``
    is ``"bfloat16"``, its output handed back in float32; else ``call`` itself.

    Matrix products then run in bf16 (native on CPUs with AVX-512-BF16 or AMX,
    and on GPUs) while weights, optimiser states, Gumbel-softmax activations,
    losses and the gradient penalty's norms stay float32 (the weights are
    their own master copy).
    """
    if precision == "float32":
        return call

    def low(*args):
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return call(*args).float()

    return low


class _NonFinite(Exception):
    """A loss or a weight became NaN or infinite."""


class _Trainer:
    def __init__(self, generator, discriminator, source, config, rng) -> None:
        self.g, self.d, self.source, self.config, self.rng = (
            generator, discriminator, source, config, rng,
        )
        self.device = next(generator.parameters()).device
        # The fused Adam kernel updates every parameter in one call; the default
        # per-tensor loop cost 3.4 ms a step on the CPU, about a fifth of a
        # 100-row step (profile in docs/benchmarks.md).
        adam = {
            "lr": config.learning_rate,
            "betas": config.betas,
            "fused": True if self.device.type in ("cpu", "cuda") else None,
        }
        self.opt_g = torch.optim.Adam(generator.parameters(), **adam)
        self.opt_d = torch.optim.Adam(discriminator.parameters(), **adam)
        self._backward_context = self._public_pass = nullcontext
        if config.privacy is not None:
            from .privacy.dpsgd import make_private, public_pass, quiet_hooks

            self.d, self.opt_d = make_private(discriminator, self.opt_d, config.privacy, rng)
            self._backward_context = quiet_hooks
            self._public_pass = lambda: public_pass(self.d)
        # In data-parallel training the steps run through DistributedDataParallel
        # wrappers (gradients averaged over the ranks); the state, generation and
        # the generator step's pass through the discriminator (whose gradients
        # are not stepped) use the modules themselves.
        self.parallel = config.parallel
        self.g_step, self.d_step = self.g, self.d
        if self.parallel is not None:
            self.g_step, self.d_step = self.parallel.wrap(self.g), self.parallel.wrap(self.d)
        # The forward passes of a step, in the fit's precision.
        def precise(call):
            return _in_precision(call, config.precision, self.device.type)

        self.g_step, self.d_step = precise(self.g_step), precise(self.d_step)
        self.d_score = precise(self.d)
        if config.feature_matching:
            self.d_features, self.d_head = precise(self.d.features), precise(self.d.score)
        self.result = TrainingResult()
        self.best_generator: dict | None = None
        # A discriminator that adapts to its scores (adaptive augmentation).
        self._adapt = getattr(discriminator, "adapt", None)

    # -- one step, one epoch ---------------------------------------------------

    def _fake(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(
            cond.shape[0], self.config.noise_dim, generator=self.rng, device=self.device
        )
        raw = self.g_step(torch.cat([noise, cond], dim=1))
        return raw, self.source.activate(raw, self.rng)

    @contextmanager
    def _critic_fakes(self):
        """Under DP, the critic's fakes are made with the generator in eval mode.

        They are generated from the conditions of the Poisson-sampled real
        rows: batch-norm statistics over them would couple the examples that
        per-example clipping treats apart, and the running statistics, saved
        with the generator, would be updated from private batches. In eval
        mode the generator normalises with the running statistics of its own
        steps, whose conditions come from the released counts. (Measured
        against a layer-norm generator on 2,000 Adult rows at epsilon 1,
        seeds 0 and 1: balanced accuracy of models trained on synthetic rows
        0.567 and 0.657 against 0.506 and 0.594 for logistic regression, 0.612
        and 0.554 against 0.513 and 0.526 for gradient boosting.)
        """
        private = self.config.privacy is not None
        if private:
            self.g.eval()
        try:
            yield
        finally:
            if private:
                self.g.train()

    def _step(self) -> torch.Tensor:
        config, loss, b = self.config, self.config.loss, self.config.batch_size
        # Without privacy, the last critic step's fake rows also serve the
        # generator step, as in PyTorch's DCGAN example: one generator forward
        # pass per step instead of two (the generator is most of a step's
        # FLOPs; docs/benchmarks.md). Under DP the generator step must not see
        # the conditions of the Poisson-sampled real rows, so it draws its own.
        reuse_last = config.privacy is None
        for critic_step in range(config.n_critic):
            reuse = reuse_last and critic_step == config.n_critic - 1
            real, batch = self.source.sample(b, self.rng)
            self.result.private_steps += config.privacy is not None
            if not len(real):
                # Only Poisson sampling (DP) gives empty batches.
                from .privacy.dpsgd import empty_step

                empty_step(self.d, self.opt_d)
                loss_d = real_scores = fake_scores = real.new_zeros(1)
                continue
            if reuse:
                raw, fake = self._fake(batch.cond)
                detached = fake.detach()
            else:
                with torch.no_grad(), self._critic_fakes():
                    _, detached = self._fake(batch.cond)
            real_scores = self.d_step(real, batch.cond)
            fake_scores = self.d_step(detached, batch.cond)
            loss_d = loss.discriminator(real_scores, fake_scores)
            if loss.gradient_penalty:
                loss_d = loss_d + config.gp_weight * gradient_penalty(
                    self.d_step, real, detached, batch.cond, config.pac, self.rng
                )
            self.opt_d.zero_grad(set_to_none=True)
            with self._backward_context():
                loss_d.backward()
            self.opt_d.step()
            if self._adapt is not None:
                self._adapt(real_scores.detach(), fake_scores.detach())

        if not reuse_last:
            batch = self.source.sample_conditions(b, self.rng)
            raw, fake = self._fake(batch.cond)
        with self._public_pass():
            if config.feature_matching:
                # One pass over the generated packs gives their features and
                # scores. The last critic step's real rows share the generator
                # step's conditions (feature matching is refused under DP,
                # which draws its own).
                fake_features = self.d_features(fake, batch.cond)
                fake_scores = self.d_head(fake_features, batch.cond)
                with torch.no_grad():
                    real_features = self.d_features(real, batch.cond)
                matching = config.feature_matching * feature_matching(
                    real_features, fake_features
                )
            else:
                fake_scores = self.d_score(fake, batch.cond)
                matching = 0.0
            loss_g = (
                loss.generator(fake_scores)
                + self.source.condition_loss(raw, fake, batch)
                + matching
            )
            self.opt_g.zero_grad(set_to_none=True)
            with self._backward_context():
                loss_g.backward()
        self.opt_g.step()

        summary = torch.stack(
            [
                loss_g.detach(),
                loss_d.detach(),
                _score_summary(real_scores.detach(), loss.probabilistic),
                _score_summary(fake_scores.detach(), loss.probabilistic),
            ]
        )
        if self.parallel is not None:
            # Every rank then sees the same losses, so all take the same
            # roll-back and early-stopping decisions.
            summary = self.parallel.mean(summary)
        if not bool(torch.isfinite(summary[:2]).all()):
            raise _NonFinite
        return summary

    def _epoch(self) -> list[float]:
        totals = torch.zeros(len(HISTORY_COLUMNS), device=self.device)
        for _ in range(self.config.steps_per_epoch):
            totals += self._step()
        weights = bool(torch.stack([p.isfinite().all() for p in self.g.parameters()]).all())
        if self.parallel is not None:
            weights = self.parallel.all_true(weights)
        if not weights:
            raise _NonFinite
        return (totals / self.config.steps_per_epoch).tolist()

    # -- state: snapshots and checkpoints ----------------------------------------

    def _state(self) -> dict:
        return {
            "generator": self.g.state_dict(),
            "discriminator": self.d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.get_state(),
            "history": self.result.history,
            "rollbacks": self.result.rollbacks,
            "best": self.best_generator,
            "best_epoch": self.result.best_epoch,
            "best_score": self.result.best_score,
            "checks_without_improvement": self.result.checks_without_improvement,
        }

    def _snapshot(self) -> dict:
        return copy.deepcopy(self._state())

    def _restore(self, state: dict) -> None:
        self.g.load_state_dict(state["generator"])
        self.d.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng"])
        self.result.history = copy.deepcopy(state["history"])
        self.result.rollbacks = state["rollbacks"]
        self.best_generator = copy.deepcopy(state["best"])
        self.result.best_epoch = state["best_epoch"]
        self.result.best_score = state["best_score"]
        self.result.checks_without_improvement = state["checks_without_improvement"]

    def _checkpoint_path(self) -> Path:
        return Path(self.config.checkpoint.directory) / CHECKPOINT_FILE

    def _save_checkpoint(self) -> None:
        streams = None
        if self.parallel is not None:
            # Every rank's own stream, so that a resumed fit draws what the
            # uninterrupted one would have; rank 0 writes.
            streams = self.parallel.gather_value(self.rng.get_state().cpu())
            if not self.parallel.is_main:
                return
        state = {**self._state(), "fit": self.config.checkpoint.record}
        state["rng"] = state["rng"].cpu()
        if streams is not None:
            state["rng_ranks"] = streams
        atomic_write(self._checkpoint_path(), lambda handle: torch.save(state, handle))

    def _resume(self, state: dict) -> None:
        done = len(state["history"]["epoch"])
        if done > self.config.epochs:
            # The state after fewer epochs is not in the checkpoint, and going on
            # from a later one would return more training than was asked for.
            raise ValueError(
                f"Cannot resume from checkpoint '{self._checkpoint_path()}': it has "
                f"{done} completed epochs, more than epochs={self.config.epochs}. "
                f"Fit with epochs of at least {done} to continue it, or with "
                "resume=False to start again."
            )
        self._restore(state)
        if self.parallel is not None:
            streams = state.get("rng_ranks") or []
            if len(streams) != self.parallel.world_size:
                raise ValueError(
                    f"Cannot resume from checkpoint '{self._checkpoint_path()}': it was "
                    f"written by a fit of {len(streams) or 1} process(es), and this one "
                    f"has {self.parallel.world_size}. Resume with as many processes, or "
                    "fit with resume=False to start again."
                )
            self.rng.set_state(streams[self.parallel.rank])

    def _stopped(self) -> bool:
        """Whether early stopping has ended training (also in a resumed state)."""
        stopping = self.config.early_stopping
        return (
            stopping is not None
            and self.result.checks_without_improvement >= stopping.patience
        )

    # -- the loop ------------------------------------------------------------------

    def run(self) -> TrainingResult:
        config = self.config
        if config.checkpoint is not None and config.checkpoint.state is not None:
            self._resume(config.checkpoint.state)
        self.g.train()
        self.d.train()
        bar = tqdm(
            total=config.epochs,
            initial=self.result.epochs_done,
            disable=not config.verbose,
            desc="GANOversampler",
            unit="epoch",
        )
        good = self._snapshot()
        # The generator at the end of the last complete epoch (the one history_
        # ends with), kept for an interrupt that lands in the middle of an epoch.
        last_generator = copy.deepcopy(self.g.state_dict())
        steps_since_snapshot = 0
        # A resumed checkpoint may have been written when early stopping ended
        # the fit: it ends here again, as the uninterrupted fit did.
        stop = self._stopped()
        try:
            while not stop and self.result.epochs_done < config.epochs:
                epoch = self.result.epochs_done + 1
                try:
                    means = self._epoch()
                except _NonFinite:
                    if config.privacy is not None:
                        raise FloatingPointError(
                            f"GAN training diverged (NaN or infinite values) in epoch "
                            f"{epoch}. Under differential privacy training does not "
                            "roll back (the discarded steps would still have spent "
                            "budget): try a smaller learning_rate or dp_max_grad_norm."
                        ) from None
                    self._roll_back(good, epoch)
                    # The generator is now the one of the epoch rolled back to;
                    # the one of the discarded epochs must not survive an
                    # interrupt, since history_ no longer holds them.
                    last_generator = copy.deepcopy(self.g.state_dict())
                    steps_since_snapshot = 0
                    continue
                self._record(epoch, means, bar)
                last_generator = copy.deepcopy(self.g.state_dict())
                stop = self._validate(epoch)
                steps_since_snapshot += config.steps_per_epoch
                if steps_since_snapshot >= _SNAPSHOT_STEPS:
                    good = self._snapshot()
                    steps_since_snapshot = 0
                if config.checkpoint is not None and epoch % config.checkpoint.every == 0:
                    self._save_checkpoint()
            if stop:
                warnings.warn(
                    f"Early stopping after epoch {self.result.epochs_done} of "
                    f"{config.epochs}: the validation score has not improved for "
                    f"{config.early_stopping.patience} checks; keeping the "
                    f"generator of epoch {self.result.best_epoch}.",
                    TrainingWarning,
                    stacklevel=4,
                )
        except KeyboardInterrupt:
            # History grows only when an epoch completes, so it ends with the
            # epoch of last_generator; an interrupt while that epoch was being
            # scored leaves it without a score.
            history = self.result.history
            if len(history["validation"]) < len(history["epoch"]):
                history["validation"].append(float("nan"))
            if self.result.epochs_done == 0:
                raise
            self.result.interrupted = True
            # What training would have kept had it ended with that epoch: with
            # early stopping the best generator scored so far, so that the
            # generator, best_epoch and history describe one fit.
            if self.best_generator is None:
                self.g.load_state_dict(last_generator)
                kept = f"from epoch {self.result.epochs_done}"
            else:
                kept = f"of epoch {self.result.best_epoch} (the best validation score)"
            warnings.warn(
                f"Training was interrupted (KeyboardInterrupt) after epoch "
                f"{self.result.epochs_done} of {config.epochs}; keeping the generator "
                f"{kept}.",
                TrainingWarning,
                stacklevel=4,
            )
        finally:
            bar.close()
        if self.best_generator is not None:
            self.g.load_state_dict(self.best_generator)
        if self.parallel is not None:
            # The weights agree already; rank 0's batch-norm statistics and
            # random stream make every rank generate the same rows.
            self.parallel.broadcast_module(self.g)
            self.parallel.broadcast_stream(self.rng)
        self.g.eval()
        return self.result

    def _validate(self, epoch: int) -> bool:
        """Score the generator if due; whether training should stop."""
        stopping = self.config.early_stopping
        if stopping is None or epoch % stopping.every:
            self.result.history["validation"].append(float("nan"))
            return False
        self.g.eval()
        score = stopping.score(self.g)
        if self.parallel is not None:
            # Ranks' batch-norm statistics differ until the end of training.
            score = self.parallel.broadcast_value(score)
        self.g.train()
        self.result.history["validation"].append(score)
        if score < self.result.best_score:
            self.result.best_score, self.result.best_epoch = score, epoch
            self.best_generator = copy.deepcopy(self.g.state_dict())
            self.result.checks_without_improvement = 0
            return False
        self.result.checks_without_improvement += 1
        return self.result.checks_without_improvement >= stopping.patience

    def _roll_back(self, good: dict, epoch: int) -> None:
        rollbacks = self.result.rollbacks + 1
        if rollbacks > self.config.max_retries:
            raise FloatingPointError(
                f"GAN training diverged (NaN or infinite values) {rollbacks} times; the "
                f"last time in epoch {epoch}, even after halving the learning rate "
                f"{self.config.max_retries} times. Try a smaller learning_rate, "
                "loss='wgan-gp', a smaller n_critic, or check X for extreme values."
            )
        self._restore(good)
        self.result.rollbacks = rollbacks
        for optimiser in (self.opt_g, self.opt_d):
            for group in optimiser.param_groups:
                group["lr"] *= 0.5
        good.update(self._snapshot())
        warnings.warn(
            f"Non-finite loss or weights in epoch {epoch}: rolled back to epoch "
            f"{self.result.epochs_done} and halved the learning rate (to "
            f"{self.opt_g.param_groups[0]['lr']:.3g}).",
            TrainingWarning,
            stacklevel=5,
        )

    def _record(self, epoch: int, means: list[float], bar) -> None:
        history = self.result.history
        history["epoch"].append(epoch)
        for key, value in zip(HISTORY_COLUMNS, means):
            history[key].append(value)
        bar.update(1)
        logger.debug("epoch %d: %s", epoch, dict(zip(HISTORY_COLUMNS, means)))
        if self.config.verbose:
            bar.set_postfix(
                g=f"{means[0]:.3f}", d=f"{means[1]:.3f}",
                d_real=f"{means[2]:.3f}", d_fake=f"{means[3]:.3f}",
            )


def read_checkpoint(directory: Path | str, device: torch.device) -> dict | None:
    """The checkpoint in ``directory``, or None if there is none.

    Parameters
    ----------
    directory : path-like
    device : torch.device
        Where to load its tensors.

    Returns
    -------
    dict or None
        The loop's state and, under ``"fit"``, the ``record`` it was written
        with (absent in checkpoints of earlier versions).

    Raises
    ------
    ValueError
        If the file is truncated or corrupted.
    """
    path = Path(directory) / CHECKPOINT_FILE
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:
        raise ValueError(
            f"Cannot resume from checkpoint '{path}': it is truncated or corrupted "
            f"({exc}). Delete it, or fit with resume=False."
        ) from exc
    if not isinstance(state, dict) or "rng" not in state:
        raise ValueError(
            f"Cannot resume from checkpoint '{path}': it is not a gan-augment training "
            "checkpoint. Delete it, or fit with resume=False."
        )
    # A torch.Generator's state is a CPU tensor whatever its device.
    state["rng"] = state["rng"].cpu()
    return state


def _score_summary(scores: torch.Tensor, probabilistic: bool) -> torch.Tensor:
    return (torch.sigmoid(scores) if probabilistic else scores).mean()


def train(
    generator: nn.Module,
    discriminator: nn.Module,
    source: BatchSource,
    config: TrainingConfig,
    rng: torch.Generator,
) -> TrainingResult:
    """Train ``generator`` against ``discriminator`` on batches from ``source``.

    The generator is left in eval mode.

    Returns
    -------
    TrainingResult

    Raises
    ------
    FloatingPointError
        If values stay non-finite after ``config.max_retries`` roll-backs.
    ValueError
        If ``config.checkpoint.resume`` finds a checkpoint it cannot use.
    """
    return _Trainer(generator, discriminator, source, config, rng).run()
