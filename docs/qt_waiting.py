"""Waiting on a live Qt app from a plain script (the screenshot scripts): run the event loop
until a signal fires or a time has passed."""

from __future__ import annotations

from PySide6.QtCore import QEventLoop, QTimer


def wait_for(signal, timeout_ms: int = 120_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def window_with(photo):
    """The app's main window at the README's size, its model loaded and `photo` colorized."""
    from autochrome.desktop.main_window import MainWindow

    window = MainWindow(quiet=True)
    window.resize(1360, 860)
    window.show()
    wait_for(window.modelReady)
    window.open_paths([photo])
    wait_for(window.resultShown)
    return window
