"""What the window shows before any photo is open: an invitation to try one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from autochrome.engine import paths

SAMPLE_NAME = "mountain-stream.jpg"


def sample_photo() -> Path:
    """The black-and-white photo shipped with the app (licence in resources/samples/README.md)."""
    return paths.resources_dir() / "samples" / SAMPLE_NAME


class EmptyState(QWidget):
    openRequested = Signal()
    sampleRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        text = QLabel("Open a black-and-white photo to colorize it.\n"
                      "You can also drop photos here or paste one (Ctrl+V).")
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text.setStyleSheet("color: #e0e0e0; font-size: 12pt; margin-bottom: 8px")  # the view is dark grey
        self.open_button = QPushButton("Open a Photo...")
        self.sample_button = QPushButton("Open a Sample Photo")
        self.sample_button.setToolTip("A black-and-white mountain stream that ships with Autochrome")
        self.sample_button.setEnabled(sample_photo().is_file())
        self.open_button.clicked.connect(self.openRequested)
        self.sample_button.clicked.connect(self.sampleRequested)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.sample_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(text)
        layout.addLayout(buttons)
        layout.addStretch(1)
