"""Running our own work side by side, one piece per core, without OpenCV's own threads inside
each piece: two bands of a photo each splitting their filters over both cores keep four threads
on two cores (the two band passes over a 12 MP photo took 0.18 + 0.40-0.43 s with OpenCV kept to
one thread against 0.21 + 0.44-0.52 s without, three runs each on the 2-core machine of the
README's figures, 2026-12-07).

PyTorch is left alone: its thread count is per thread, and a thread's first parallel operation
takes the process's count of that moment for good, so lowering it for a while could leave a
thread started meanwhile (the fine-tuning worker's) on one thread for its whole life."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import cv2

_lock = threading.Lock()
_depth = 0
_saved = 1


@contextmanager
def one_thread_per_kernel():
    """OpenCV kept to one thread while the block runs (the setting is the process's: overlapping
    uses count, and the last to leave puts it back as the first found it)."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                cv2.setNumThreads(_saved)
