"""Files the operating system asks the running app to open.

On macOS, "Open With > Autochrome", a double-click on a photo type the bundle declares and a
drop on the Dock icon arrive as a QFileOpenEvent sent to the application, never as command-line
arguments; without this the window opened empty.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject


class FileOpenRelay(QObject):
    def __init__(self, open_paths, parent=None):
        super().__init__(parent)
        self._open_paths = open_paths

    def eventFilter(self, watched, event) -> bool:  # noqa: N802  (Qt's name)
        if event.type() != QEvent.Type.FileOpen:
            return False
        path = event.file() or event.url().toLocalFile()
        if path:
            self._open_paths([Path(path)])
        return True


def relay_file_open_events(app, window) -> FileOpenRelay:
    relay = FileOpenRelay(window.open_paths, app)
    app.installEventFilter(relay)
    return relay
