"""Images ready to paint: an 8-bit QImage plus halved copies for zoomed-out views.

Built on the worker thread (QImage is safe off the GUI thread, QPixmap is not), so the
GUI thread never converts or scales a 24-megapixel photo.
"""

from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from autochrome.engine.image_io import to_8bit


def qimage_from_rgb(rgb: np.ndarray) -> QImage:
    """float (H, W, 3) in [0, 1] or uint8 -> a QImage that owns its pixels."""
    if rgb.dtype != np.uint8:
        rgb = to_8bit(rgb)
    rgb = np.ascontiguousarray(rgb)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class DisplayImage:
    """A full-size image and a pyramid of halvings, for fast painting at any zoom."""

    def __init__(self, levels: list[QImage], buffers: list | None = None, scale: float = 1.0):
        self.levels = levels
        self._buffers = buffers  # the pixels the levels point into, kept alive with them
        # A preview stands in for the full-size photo: each of its pixels covers `scale` of the
        # photo's, so it is painted exactly over the original.
        self.scale = scale

    @classmethod
    def from_rgb(cls, rgb: np.ndarray, min_side: int = 256, scale: float = 1.0) -> "DisplayImage":
        # OpenCV and numpy release the GIL while they work; Qt's own scaling would hold it
        # and stall the GUI thread for the length of a 24-megapixel resize.
        if rgb.dtype != np.uint8:
            rgb = to_8bit(rgb)
        arrays = [rgb]
        while min(arrays[-1].shape[:2]) > 2 * min_side:
            height, width = arrays[-1].shape[:2]
            arrays.append(cv2.resize(arrays[-1], (width // 2, height // 2), interpolation=cv2.INTER_AREA))
        # The QImages point into the numpy buffers instead of copying them: a 24-megapixel copy
        # holds the GIL long enough to stall the GUI thread.
        arrays = [np.ascontiguousarray(array) for array in arrays]
        levels = [QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888) for a in arrays]
        return cls(levels, arrays, scale)

    @property
    def nbytes(self) -> int:
        return sum(level.sizeInBytes() for level in self.levels)

    @property
    def full(self) -> QImage:
        return self.levels[0]

    def width(self) -> int:
        """In the photo's pixels."""
        return round(self.levels[0].width() * self.scale)

    def height(self) -> int:
        return round(self.levels[0].height() * self.scale)

    def level_for(self, zoom: float) -> tuple[QImage, float]:
        """The smallest level still at least as detailed as the screen, and how many photo
        pixels one of its pixels covers."""
        index = 0
        while index + 1 < len(self.levels) and zoom * self.scale <= 0.5 ** (index + 1):
            index += 1
        return self.levels[index], 2.0**index * self.scale

    def thumbnail(self, size: int = 96) -> QImage:
        return self.levels[-1].scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                      Qt.TransformationMode.SmoothTransformation)
