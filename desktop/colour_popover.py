"""Choosing a hint's colour: the ab plane at the point's lightness, the model's colour there,
recent colours, and an eyedropper on a colour reference photo.

Only chroma (Lab a, b) is chosen: the photo keeps its own lightness, so the plane is drawn
at the lightness of the clicked point, as in Zhang et al.'s (2017) demo: what you pick is
what that point will look like.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from autochrome.engine import color
from autochrome.engine.image_io import to_8bit

AB_RANGE = 110.0


def lab_colour(lightness: float, a: float, b: float) -> QColor:
    rgb = color.lab_to_rgb(np.float32([[[lightness, a, b]]]))[0, 0]
    return QColor.fromRgbF(float(rgb[0]), float(rgb[1]), float(rgb[2]))


def ab_plane_image(lightness: float, size: int) -> QImage:
    """The ab plane at one lightness; colours outside sRGB at that lightness are dimmed."""
    axis = np.linspace(-AB_RANGE, AB_RANGE, size, dtype=np.float32)
    b, a = np.meshgrid(-axis, axis, indexing="ij")  # b up, a to the right
    lab = np.stack([np.full_like(a, lightness), a, b], -1)
    rgb = color.lab_to_rgb(lab)
    back = color.rgb_to_lab(rgb)
    outside = np.hypot(back[..., 1] - a, back[..., 2] - b) > 3.0
    rgb[outside] = rgb[outside] * 0.35 + 0.15
    pixels = to_8bit(rgb)
    return QImage(pixels.data, size, size, 3 * size, QImage.Format.Format_RGB888).copy()


class AbPlane(QWidget):
    """Click or drag to pick a chroma; releasing the mouse makes it final."""

    picked = Signal(float, float, bool)

    def __init__(self, lightness: float, ab: tuple[float, float], size: int = 180, parent=None):
        super().__init__(parent)
        self.setFixedSize(size, size)
        self.lightness, self.ab = lightness, ab
        self.plane = ab_plane_image(lightness, size)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def ab_at(self, point: QPointF) -> tuple[float, float]:
        a = (point.x() / self.width() * 2 - 1) * AB_RANGE
        b = (1 - point.y() / self.height() * 2) * AB_RANGE
        return float(np.clip(a, -AB_RANGE, AB_RANGE)), float(np.clip(b, -AB_RANGE, AB_RANGE))

    def point_of(self, ab: tuple[float, float]) -> QPointF:
        return QPointF((ab[0] / AB_RANGE + 1) / 2 * self.width(), (1 - ab[1] / AB_RANGE) / 2 * self.height())

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.drawImage(0, 0, self.plane)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        centre = self.point_of(self.ab)
        painter.setPen(QPen(QColor(0, 0, 0), 3))
        painter.drawEllipse(centre, 6, 6)
        painter.setPen(QPen(QColor(255, 255, 255), 1.5))
        painter.drawEllipse(centre, 6, 6)

    def mousePressEvent(self, event):
        self._pick(event.position(), False)

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._pick(event.position(), False)

    def mouseReleaseEvent(self, event):
        self._pick(event.position(), True)

    def _pick(self, point: QPointF, final: bool) -> None:
        self.ab = self.ab_at(point)
        self.update()
        self.picked.emit(*self.ab, final)


def _swatch(colour: QColor, tip: str) -> QPushButton:
    button = QPushButton()
    button.setFixedSize(26, 22)
    button.setToolTip(tip)
    button.setStyleSheet(f"background-color: {colour.name()}; border: 1px solid #222;")
    return button


class ColourPopover(QFrame):
    """A small popup at the hint; emits `chosen(a, b, final)` and closes on a final choice."""

    chosen = Signal(float, float, bool)

    def __init__(self, lightness: float, current: tuple[float, float], model_ab: tuple[float, float],
                 recent: list[tuple[float, float]], reference: Path | None = None, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.lightness, self.reference = lightness, reference
        self.plane = AbPlane(lightness, current)
        self.plane.picked.connect(self._emit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Colour at this point's lightness (L {lightness:.0f})"))
        layout.addWidget(self.plane, alignment=Qt.AlignmentFlag.AlignHCenter)
        row = QHBoxLayout()
        self.model_button = _swatch(lab_colour(lightness, *model_ab), "The colour the model gives this point now")
        self.model_button.clicked.connect(lambda: self._emit(*model_ab, True))
        row.addWidget(QLabel("Model:"))
        row.addWidget(self.model_button)
        row.addStretch(1)
        self.eyedropper = QPushButton("Pick from a Photo...")
        self.eyedropper.setToolTip("Take the colour from a colour reference photo")
        self.eyedropper.clicked.connect(self._pick_from_photo)
        row.addWidget(self.eyedropper)
        layout.addLayout(row)
        self.recent_buttons = []
        if recent:
            grid = QGridLayout()
            grid.addWidget(QLabel("Recent:"), 0, 0)
            for index, ab in enumerate(recent):
                button = _swatch(lab_colour(lightness, *ab), f"a {ab[0]:.0f}, b {ab[1]:.0f}")
                button.clicked.connect(lambda checked=False, ab=ab: self._emit(*ab, True))
                grid.addWidget(button, 0, index + 1)
                self.recent_buttons.append(button)
            layout.addLayout(grid)

    def _emit(self, a: float, b: float, final: bool) -> None:
        self.chosen.emit(a, b, final)
        if final:
            self.close()

    def _pick_from_photo(self) -> None:
        start = str(self.reference.parent) if self.reference else str(Path.home())
        name, _ = QFileDialog.getOpenFileName(self, "Colour reference photo", start,
                                              "Images (*.png *.jpg *.jpeg *.tif *.tiff *.webp *.bmp)")
        if not name:
            return
        ab = ReferencePicker.ask(Path(name), self)
        self.reference = Path(name)
        if ab is not None:
            self._emit(*ab, True)


class ReferencePicker(QDialog):
    """A colour photo to click on: the eyedropper's source. The pick is the mean chroma of a
    5x5 patch, steadier than one pixel of a JPEG."""

    def __init__(self, rgb: np.ndarray, title: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Pick a colour from {title}")
        self.rgb = rgb
        self.ab: tuple[float, float] | None = None
        height, width, _ = rgb.shape
        self.scale = min(1.0, 640 / max(width, height))
        shown = to_8bit(rgb)
        image = QImage(shown.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self.picture = QLabel()
        self.picture.setPixmap(QPixmap.fromImage(
            image.scaled(round(width * self.scale), round(height * self.scale), Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)))
        self.picture.setCursor(Qt.CursorShape.CrossCursor)
        self.picture.mousePressEvent = lambda event: self.pick(event.position().x() / self.scale,
                                                               event.position().y() / self.scale)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Click the colour to use."))
        layout.addWidget(self.picture)

    def pick(self, x: float, y: float) -> None:
        height, width, _ = self.rgb.shape
        column, row = int(min(max(x, 0), width - 1)), int(min(max(y, 0), height - 1))
        patch = self.rgb[max(row - 2, 0) : row + 3, max(column - 2, 0) : column + 3]
        lab = color.rgb_to_lab(patch.reshape(-1, 1, 3)).reshape(-1, 3)
        self.ab = (float(lab[:, 1].mean()), float(lab[:, 2].mean()))
        self.accept()

    @classmethod
    def ask(cls, path: Path, parent=None) -> tuple[float, float] | None:
        from autochrome.engine.image_io import load_colour

        try:
            rgb = load_colour(path)  # the colours as the app shows them: profile applied
        except Exception as exc:  # any decoder failure: say so, keep the popover
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.warning(parent, "Cannot open the photo", f"{path.name}: {exc}")
            return None
        dialog = cls(rgb, path.name, parent)
        dialog.exec()
        return dialog.ab
