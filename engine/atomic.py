"""Atomic file writes: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from pathlib import Path


def _process_umask() -> int:
    """Read without changing it where the system allows: os.umask can only be read by setting
    it, and a file another thread creates in that moment would get the wrong permissions."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # at import, before the app starts any thread
    os.umask(mask)
    return mask


UMASK = _process_umask()


STALE_AFTER_S = 15 * 60


def _temp_prefix(destination: Path) -> str:
    # Short enough that a long file name (up to 255 bytes) still leaves room for the temp name.
    return f".{destination.name[:60]}."


def remove_stale_temp_files(destination: Path) -> None:
    """A save killed half-way leaves its temp file; the next save of that file removes it."""
    now = time.time()
    for stale in destination.parent.glob(glob.escape(_temp_prefix(destination)) + "*.part"):
        with contextlib.suppress(OSError):
            if now - stale.stat().st_mtime > STALE_AFTER_S:
                stale.unlink()


def _mode_for(destination: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(destination).st_mode)
    except OSError:
        return 0o666 & ~UMASK


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_folder(folder: Path) -> None:
    """The rename itself on disk (POSIX; Windows has no handle to a folder to flush)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):  # some file systems cannot flush a folder; the file is safe
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike):
    """Yield a temporary path beside `destination`; on success it replaces the destination."""
    destination = Path(destination)
    remove_stale_temp_files(destination)
    fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(destination), suffix=".part", dir=destination.parent)
    os.close(fd)
    temp = Path(temp_name)
    try:
        yield temp
        # mkstemp makes the file private (0600), and some writers (safetensors) recreate it
        # that way: a replaced file keeps its own permissions, a new one gets the usual ones.
        os.chmod(temp, _mode_for(destination))
        # On disk before it takes the name, and the name on disk after: a power cut then leaves
        # the old file or the whole new one, never an empty file under the final name.
        _sync(temp)
        os.replace(temp, destination)
        _sync_folder(destination.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
