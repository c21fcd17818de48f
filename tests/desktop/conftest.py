import pytest

from autochrome.desktop.settings import Key, Settings
from autochrome.desktop.threads import LIVE_THREADS


@pytest.fixture(autouse=True)
def no_thread_left_running():
    yield
    running = [thread.objectName() for thread in list(LIVE_THREADS) if thread.isRunning()]
    assert not running, f"QThreads left running: {running}"


@pytest.fixture
def window(qtbot, tiny_model, monkeypatch):
    """The real main window with a tiny model; dialogs fail the test unless a test expects them."""
    from PySide6.QtWidgets import QMessageBox

    from autochrome.desktop.main_window import MainWindow

    Settings().set(Key.MODEL, str(tiny_model))
    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args, **kwargs: shown.append(args[2]))
    win = MainWindow()
    win.dialogs = shown
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.session.model_ready, timeout=30000)
    yield win
    win.close()
