"""Data-parallel training of one model on several processes, with ``torch.distributed``.

When a process group is initialised (by the user's own
``torch.distributed.init_process_group``, or here, from the environment that
``torchrun`` sets), a fit trains *one* model across all its ranks:

* every rank is given the whole table (the same ``X`` and ``y``) and the same
  parameters; :func:`agree` checks both, and a rank that differs gets a
  ``ValueError`` on every rank, not a hang;
* rank 0 fits the transformer and broadcasts it (:func:`broadcast_object`), so
  that ranks on machines whose floats round differently still share one encoding;
* each rank trains on its own shard of the rows (:func:`shard_rows`, stratified
  by class) and draws ``batch_size / world_size`` rows of each batch from it, with
  its own random stream; the generator and the discriminator are wrapped in
  ``DistributedDataParallel`` separately, which averages their gradients, so a
  step's gradient is that of the whole batch of ``batch_size`` rows: the
  learning rate needs no scaling, and the number of steps is a one-process
  fit's;
* the loop's per-step summary is averaged over ranks (so every rank takes the
  same roll-back and early-stopping decisions) and, at the end, rank 0's
  generator (weights and batch-norm statistics) and random stream are broadcast:
  every rank ends with the same model and generates the same rows.

Collective calls are bounded by the process group's timeout; a group made here
uses :data:`TIMEOUT_S`, or ``GAN_AUGMENT_DIST_TIMEOUT`` (seconds) if set.
"""

from __future__ import annotations

import atexit
import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from torch import distributed as dist
from torch import nn

__all__ = [
    "TIMEOUT_S",
    "ProcessGroup",
    "agree",
    "broadcast_object",
    "current",
    "is_secondary",
    "shard_rows",
]

#: The timeout of collective calls in a process group that gan-augment starts.
TIMEOUT_S = 600.0

T = TypeVar("T")


def _torchrun_environment() -> bool:
    """Whether ``torchrun`` (or another launcher) described a group of several processes."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return False
    return world > 1 and "MASTER_ADDR" in os.environ and "RANK" in os.environ


@dataclass(frozen=True)
class ProcessGroup:
    """The default process group a fit trains across.

    Attributes
    ----------
    rank, world_size : int
    backend : str
        ``"gloo"`` (CPU) or ``"nccl"`` (CUDA).
    """

    rank: int
    world_size: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def per_rank_batch(self, batch_size: int, pac: int) -> int:
        """Rows each rank draws per step; the total stays ``batch_size``.

        Raises
        ------
        ValueError
            If ``batch_size`` does not split into whole packs per rank.
        """
        if batch_size % (self.world_size * pac):
            raise ValueError(
                f"batch_size={batch_size} cannot be shared by {self.world_size} processes "
                f"in packs of pac={pac}: with data-parallel training each process draws "
                f"batch_size / {self.world_size} rows per step, which must be a multiple of "
                f"pac. Use a batch_size that is a multiple of {self.world_size * pac}."
            )
        return batch_size // self.world_size

    def mean(self, tensor: torch.Tensor) -> torch.Tensor:
        """The tensor averaged over ranks (in place)."""
        _collective("averaging the losses", dist.all_reduce, tensor)
        return tensor.div_(self.world_size)

    def all_true(self, flag: bool) -> bool:
        """Whether ``flag`` holds on every rank."""
        value = torch.tensor([1.0 if flag else 0.0], device=self._device())
        _collective("checking the weights", dist.all_reduce, value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    def broadcast_value(self, value: T) -> T:
        """Rank 0's ``value`` on every rank."""
        return broadcast_object(value)

    def gather_value(self, value: T) -> list[T]:
        """Every rank's ``value``, in rank order, on every rank."""
        gathered: list = [None] * self.world_size
        _collective("gathering the ranks' state", dist.all_gather_object, gathered, value)
        return gathered

    def broadcast_module(self, module: nn.Module) -> None:
        """Give every rank rank 0's weights and buffers (in place)."""
        for tensor in module.state_dict().values():
            _collective("sharing the trained generator", dist.broadcast, tensor, src=0)

    def broadcast_stream(self, rng: torch.Generator) -> None:
        """Give every rank rank 0's random stream (in place)."""
        rng.set_state(broadcast_object(rng.get_state().cpu()))

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` in ``DistributedDataParallel``: gradients averaged over ranks.

        Buffers are not broadcast at every forward pass (the generator's
        batch-norm statistics are broadcast once, at the end of training).
        """
        import inspect

        from torch.nn.parallel import DistributedDataParallel

        device = next(module.parameters()).device
        ids = [device] if device.type == "cuda" else None
        # torch 2.13 renamed the option (initial weights and buffers are
        # broadcast from rank 0 either way).
        options = inspect.signature(DistributedDataParallel).parameters
        sync = "forward_sync_buffers" if "forward_sync_buffers" in options else "broadcast_buffers"
        return DistributedDataParallel(module, device_ids=ids, **{sync: False})

    def _device(self) -> torch.device:
        if self.backend == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


def _collective(what: str, call: Callable, *args, **kwargs):
    """Run a collective call; a timeout or a lost rank becomes a RuntimeError
    that says what was being done and what to look at."""
    try:
        return call(*args, **kwargs)
    except (RuntimeError, dist.DistError) as exc:
        rank = dist.get_rank() if dist.is_initialized() else "?"
        raise RuntimeError(
            f"Data-parallel training failed on rank {rank} while {what}: another "
            "process of the group did not answer (it may have failed before this "
            "point, or timed out: see its own error), or the group's connection "
            f"broke. torch.distributed said: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        ) from exc


def current(setting: bool | str = "auto") -> ProcessGroup | None:
    """The process group a fit with ``distributed=setting`` trains across.

    ``"auto"`` uses an initialised group of more than one process, and starts
    one from ``torchrun``'s environment (``WORLD_SIZE`` > 1, ``RANK``,
    ``MASTER_ADDR``) when none is initialised; ``True`` requires one; ``False``
    trains in this process alone.

    Raises
    ------
    ValueError
        With ``setting=True`` and no process group of several processes.
    """
    if setting is False or not dist.is_available():
        if setting is True:
            raise ValueError("distributed=True, but torch.distributed is not available in this torch build.")
        return None
    if not dist.is_initialized() and _torchrun_environment():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        timeout = float(os.environ.get("GAN_AUGMENT_DIST_TIMEOUT", TIMEOUT_S))
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout))
        # A group left to the interpreter's exit can abort the process there.
        atexit.register(_destroy)
    if not dist.is_initialized() or dist.get_world_size() == 1:
        if setting is True:
            raise ValueError(
                "distributed=True, but no process group of several processes is "
                "initialised: launch with torchrun (torchrun --nproc-per-node=2 "
                "script.py) or call torch.distributed.init_process_group first, or "
                "use distributed='auto'."
            )
        return None
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), str(dist.get_backend()))


def _destroy() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def is_secondary(setting: bool | str) -> bool:
    """Whether this process is a rank other than 0 of a group it would train in:
    such a rank leaves saving and writing to rank 0."""
    return (
        setting is not False
        and dist.is_available()
        and dist.is_initialized()
        and dist.get_world_size() > 1
        and dist.get_rank() != 0
    )


def broadcast_object(value: T) -> T:
    """Rank 0's ``value`` (any picklable object) on every rank."""
    box = [value]
    _collective("sharing rank 0's state", dist.broadcast_object_list, box, src=0)
    return box[0]


def agree(what: dict[str, Any]) -> None:
    """Check that every rank holds the same values; a ValueError on every rank if not.

    Parameters
    ----------
    what : dict
        Name -> a picklable value that must be the same on every rank (a dict
        of parameters, a list of columns, a digest), in the order to report them.

    Raises
    ------
    ValueError
        Naming the first item that differs, what differs in it, and the ranks
        that differ from rank 0.
    """
    gathered: list[dict[str, Any] | None] = [None] * dist.get_world_size()
    _collective("comparing the ranks' data and parameters", dist.all_gather_object, gathered, what)
    for name, value in gathered[0].items():
        differ = [rank for rank, other in enumerate(gathered) if other.get(name) != value]
        if not differ:
            continue
        other = gathered[differ[0]].get(name)
        if isinstance(value, dict) and isinstance(other, dict):
            keys = sorted(k for k in value.keys() | other.keys() if value.get(k) != other.get(k))
            shown = "; ".join(
                f"{k}={value.get(k, '(unset)')} against {other.get(k, '(unset)')}" for k in keys
            )
        else:
            shown = f"{value} against {other}"
        raise ValueError(
            f"The processes of the group were given different {name}: rank 0 has "
            f"{shown} on rank {differ[0]} (ranks that differ from rank 0: {differ}). "
            "With data-parallel training every process calls fit with the same "
            "parameters and the whole table (X and y): gan-augment shards the rows "
            "itself. To fit one model per process instead, use distributed=False."
        )


def shard_rows(y_codes: np.ndarray, group: ProcessGroup, seed: int) -> np.ndarray:
    """The rows (indices into ``y_codes``) that ``group.rank`` trains on.

    Each class's rows are shuffled with ``seed`` (the same on every rank) and
    split into ``world_size`` near-equal parts, so every rank holds every class
    in its share; a class with fewer rows than ranks is held whole by every
    rank (its few rows would otherwise be missing from some ranks' batches).

    Examples
    --------
    >>> y = np.array([0] * 10 + [1] * 1)
    >>> parts = [shard_rows(y, ProcessGroup(r, 2, "gloo"), 0) for r in range(2)]
    >>> [len(p) for p in parts], sorted(set(parts[0]) | set(parts[1])) == list(range(11))
    ([6, 6], True)
    """
    rng = np.random.default_rng(seed)
    rows = []
    for c in np.unique(y_codes):
        members = rng.permutation(np.flatnonzero(y_codes == c))
        if len(members) < group.world_size:
            rows.append(members)
        else:
            rows.append(np.array_split(members, group.world_size)[group.rank])
    return np.sort(np.concatenate(rows))
