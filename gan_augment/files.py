"""Writing files atomically: the one file-system helper every writer shares.

A leaf module (it imports nothing of the package), so that saving a model,
exporting a data set, writing a report or a checkpoint does not pull in the
networks or the transformer.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it.

    An interrupted write leaves no partial file at ``path``.

    Examples
    --------
    >>> import tempfile, os
    >>> path = atomic_write(os.path.join(tempfile.mkdtemp(), "a.txt"), lambda f: f.write(b"hi"))
    >>> path.read_bytes()
    b'hi'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
