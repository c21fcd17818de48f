"""Atomic file writes: a reader sees the old file or the whole new one, never half."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(destination: str | os.PathLike):
    """Yield a temporary path beside `destination`; on success it replaces the destination."""
    destination = Path(destination)
    fd, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    os.close(fd)
    temp = Path(temp_name)
    # mkstemp makes the file private (0600); a saved photo should get the usual permissions.
    os.chmod(temp, 0o666 & ~_current_umask())
    try:
        yield temp
        os.replace(temp, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
