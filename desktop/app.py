"""Starting the desktop app, and its headless smoke test."""

from __future__ import annotations

import sys
from pathlib import Path

SMOKE_TEST_TIMEOUT_MS = 300_000


def run_gui(files: list[Path], smoke_test: tuple[Path, Path] | None = None, exit_when_shown: bool = False) -> int:
    from .startup_check import check

    problem = check()
    if problem is not None:
        print(problem.message, file=sys.stderr)
        return problem.exit_code
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        print(f"The Autochrome window needs Qt (PySide6), which did not load: {exc}\n"
              "Reinstall with: python -m pip install -e .   The command line works without it.", file=sys.stderr)
        return 2

    from autochrome.engine import paths

    from .file_open import relay_file_open_events
    from .main_window import MainWindow

    app = QApplication.instance() or _start_qt(QApplication)
    app.setApplicationName("Autochrome")
    app.setOrganizationName("Autochrome")
    icon = paths.resources_dir() / "icons" / "autochrome.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow(quiet=smoke_test is not None or exit_when_shown)
    relay_file_open_events(app, window)
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


def _start_qt(application_class):
    """Create the QApplication; if Qt gives up (it would abort with a core dump), print why
    and what to do, and exit with 2."""
    import os

    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    from .startup_check import fatal_qt_message

    def handler(kind, context, message):
        if kind == QtMsgType.QtFatalMsg:
            print(fatal_qt_message(message), file=sys.stderr, flush=True)
            os._exit(2)
        if kind != QtMsgType.QtDebugMsg:
            print(message, file=sys.stderr)

    previous = qInstallMessageHandler(handler)
    try:
        return application_class(sys.argv[:1])
    finally:
        qInstallMessageHandler(previous)


def _smoke_test(app, window, source: Path, output: Path) -> int:
    """Open SOURCE in the real window, colorize it through the worker, save OUTPUT, exit."""
    from PySide6.QtCore import QTimer

    from autochrome.engine.job_plan import is_input

    from .save_rules import format_for_path

    outcome = {"code": 1}

    def finish(code, message=""):
        outcome["code"] = code
        if message:
            print(message, file=sys.stderr if code else sys.stdout)
        window.close()
        app.quit()

    if is_input(output, [source]):
        print("smoke test: OUTPUT must not be the INPUT", file=sys.stderr)
        return 2
    if format_for_path(output)[1] is None:
        print("smoke test: OUTPUT needs a .png, .jpg, .tif or .webp suffix", file=sys.stderr)
        return 2
    window.resultShown.connect(lambda entry: window.saves.save_to(output, entry))
    window.fileSaved.connect(lambda path: finish(0, f"smoke test passed: {source} -> {path}"))
    window.errorShown.connect(lambda message: finish(1, f"smoke test failed: {message}"))
    QTimer.singleShot(SMOKE_TEST_TIMEOUT_MS, lambda: finish(1, "smoke test failed: timed out"))
    QTimer.singleShot(0, lambda: window.open_paths([source]))
    app.exec()
    return outcome["code"]
