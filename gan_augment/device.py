"""Turning the ``device`` parameter into a ``torch.device``."""

from __future__ import annotations

import os

import torch

__all__ = ["auto_gpu", "resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """Resolve ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.

    ``"auto"`` picks CUDA when ``torch.cuda.is_available()``, else the CPU. With
    several GPUs visible it picks one per process (:func:`auto_gpu`): the
    process's own under ``torchrun`` (``LOCAL_RANK``), else the one with the
    most free memory, so concurrent fits (Dask or joblib workers sharing a
    machine) spread over the GPUs.

    Raises
    ------
    ValueError
        If the requested accelerator is not available on this machine.

    Examples
    --------
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if isinstance(device, str) and device == "auto":
        return auto_gpu() if torch.cuda.is_available() else torch.device("cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested, but CUDA is not available "
            "(torch.cuda.is_available() is False). Use device='auto' or 'cpu'."
        )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={str(device)!r} was requested, but MPS is not available. "
            "Use device='auto' or 'cpu'."
        )
    return resolved


def auto_gpu() -> torch.device:
    """The GPU a fit of this process takes with ``device="auto"``.

    One GPU: ``cuda``. Several: ``cuda:LOCAL_RANK`` when a launcher set
    ``LOCAL_RANK`` (torchrun: one GPU per process), else the GPU with the most
    free memory (``torch.cuda.mem_get_info``), ties to the lowest index.
    """
    count = torch.cuda.device_count()
    if count <= 1:
        return torch.device("cuda")
    local_rank = os.environ.get("LOCAL_RANK")
    if local_rank is not None and local_rank.isdigit() and int(local_rank) < count:
        return torch.device("cuda", int(local_rank))
    free = [torch.cuda.mem_get_info(i)[0] for i in range(count)]
    return torch.device("cuda", max(range(count), key=lambda i: (free[i], -i)))
