"""Starting and stopping the long-lived worker threads, and knowing which are still alive."""

from __future__ import annotations

import weakref

from PySide6.QtCore import QObject, QThread

# Every worker thread ever started, so tests can prove none is left running.
LIVE_THREADS: "weakref.WeakSet[QThread]" = weakref.WeakSet()


def start_worker_thread(worker: QObject, name: str) -> QThread:
    thread = QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    LIVE_THREADS.add(thread)
    return thread


def stop_worker_thread(thread: QThread, worker: QObject) -> None:
    """Let the thread finish its current slot, end its event loop, then free the worker."""
    if thread.isRunning():
        thread.quit()
        thread.wait()
    worker.deleteLater()
