"""Turning the ``device`` parameter into a ``torch.device``."""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device: str | torch.device) -> torch.device:
    """Resolve ``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"`` or a ``torch.device``.

    ``"auto"`` picks CUDA when ``torch.cuda.is_available()``, else the CPU.

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
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
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
