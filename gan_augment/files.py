"""Writing files atomically: the one file-system helper every writer shares.

A leaf module (it imports nothing of the package), so that saving a model,
exporting a data set, writing a report or a checkpoint does not pull in the
networks or the transformer.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write"]

#: Where Linux shows a process's umask (kernel 4.7 and later).
_STATUS = "/proc/self/status"


def _umask() -> int:
    """The process umask, read without changing it where the platform allows."""
    # os.umask can only be read by setting it, which for a moment changes the
    # mode of files other threads create; read it from /proc where it is shown.
    try:
        with open(_STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_directory(folder: Path) -> None:
    """Make a rename in ``folder`` durable (fsync the folder itself).

    Skipped where a folder cannot be opened (Windows) or cannot be synced (some
    network and virtual file systems); other errors propagate.
    """
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it.

    An interrupted write leaves no partial file at ``path``. The file gets the
    mode that ``open(path, "w")`` would give a new file (``0o666`` less the
    umask), and the data and the rename are flushed to disk before returning.

    Parameters
    ----------
    path : str or path-like
        Where to write; missing parent folders are created.
    write : callable
        Called once with the open binary file.

    Returns
    -------
    pathlib.Path
        ``path``.

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
        # mkstemp creates the file 0600 and the rename keeps that mode; give it
        # the mode a plain open() would, so saved files are as readable as any
        # other file the user writes.
        mode = 0o666 & ~_umask()
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)
            else:
                os.chmod(tmp, mode)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
    return path
