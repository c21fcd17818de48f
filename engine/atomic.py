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
    try:
        yield temp
        # mkstemp makes the file private (0600), and some writers (safetensors) recreate it
        # that way: a saved photo or model gets the usual permissions, set last.
        os.chmod(temp, 0o666 & ~_current_umask())
        os.replace(temp, destination)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
