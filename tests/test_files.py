"""atomic_write: the mode of written files and the durability of the rename."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from gan_augment import files
from gan_augment.files import atomic_write

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture
def umask():
    """Set the process umask for one test, and restore it afterwards."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


@posix_only
@pytest.mark.parametrize(
    "mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)], ids=["022", "077", "002"]
)
def test_a_written_file_has_the_mode_open_would_give(umask, tmp_path, mask, mode):
    umask(mask)
    path = atomic_write(tmp_path / "out.bin", lambda f: f.write(b"x"))
    assert stat.S_IMODE(path.stat().st_mode) == mode
    with open(tmp_path / "plain.bin", "w"):
        pass
    assert stat.S_IMODE((tmp_path / "plain.bin").stat().st_mode) == mode


@posix_only
def test_replacing_a_file_gives_the_new_file_the_same_mode(umask, tmp_path):
    umask(0o022)
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    atomic_write(path, lambda f: f.write(b"new"))
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o644


@posix_only
def test_the_umask_is_read_without_proc_too(umask, tmp_path, monkeypatch):
    umask(0o027)
    monkeypatch.setattr(files, "_STATUS", str(tmp_path / "no-such-status"))
    path = atomic_write(tmp_path / "out.bin", lambda f: f.write(b"x"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert umask(0o027) == 0o027  # the fallback put the umask back


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/status")
def test_the_umask_is_read_from_proc_without_setting_it(umask, monkeypatch):
    umask(0o037)
    calls = []
    monkeypatch.setattr(os, "umask", lambda mask: calls.append(mask) or 0)
    assert files._umask() == 0o037 and calls == []


@posix_only
def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append((stat.S_ISDIR(os.fstat(fd).st_mode), path.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write(path, lambda f: f.write(b"x"))
    # The file's data first (before the rename), then its folder (after it).
    assert synced == [(False, False), (True, True)]


def test_a_folder_that_cannot_be_synced_is_not_an_error(tmp_path, monkeypatch):
    import errno

    real_fsync = os.fsync

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    assert atomic_write(tmp_path / "out.bin", lambda f: f.write(b"x")).read_bytes() == b"x"


def test_an_interrupted_write_leaves_nothing(tmp_path):
    def write(handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "out.bin", write)
    assert list(tmp_path.iterdir()) == []
