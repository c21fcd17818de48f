"""Starting the desktop app, and its headless smoke test."""

from __future__ import annotations

import sys
from pathlib import Path

SMOKE_TEST_TIMEOUT_MS = 300_000


def run_gui(files: list[Path], smoke_test: tuple[Path, Path] | None = None, exit_when_shown: bool = False) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from engine import paths

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Autochrome")
    app.setOrganizationName("Autochrome")
    icon = paths.resources_dir() / "icons" / "autochrome.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow(quiet=smoke_test is not None or exit_when_shown)
    window.show()
    if exit_when_shown:
        import time

        def shown():
            print(f"shown {time.time():.6f}", flush=True)
            window.close()
            app.quit()

        QTimer.singleShot(0, shown)
        return app.exec()
    if smoke_test is None:
        if files:
            QTimer.singleShot(0, lambda: window.open_paths(files))
        return app.exec()
    return _smoke_test(app, window, *smoke_test)


def _smoke_test(app, window, source: Path, output: Path) -> int:
    """Open SOURCE in the real window, colorize it through the worker, save OUTPUT, exit."""
    from PySide6.QtCore import QTimer

    from .saving import format_for_path, is_same_file

    outcome = {"code": 1}

    def finish(code, message=""):
        outcome["code"] = code
        if message:
            print(message, file=sys.stderr if code else sys.stdout)
        window.close()
        app.quit()

    if is_same_file(output, source):
        print("smoke test: OUTPUT must not be the INPUT", file=sys.stderr)
        return 2
    if format_for_path(output)[1] is None:
        print("smoke test: OUTPUT needs a .png, .jpg, .tif or .webp suffix", file=sys.stderr)
        return 2
    window.resultShown.connect(lambda entry: window.save_to(output, entry))
    window.fileSaved.connect(lambda path: finish(0, f"smoke test passed: {source} -> {path}"))
    window.errorShown.connect(lambda message: finish(1, f"smoke test failed: {message}"))
    QTimer.singleShot(SMOKE_TEST_TIMEOUT_MS, lambda: finish(1, "smoke test failed: timed out"))
    QTimer.singleShot(0, lambda: window.open_paths([source]))
    app.exec()
    return outcome["code"]
