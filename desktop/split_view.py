"""The before/after canvas: one zoom and pan for both sides, a draggable divider."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from .display import DisplayImage

MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
DIVIDER_GRAB_PX = 8
MARKER_RADIUS = 7


DEFAULT_PLACEHOLDER = "Open a photo (Ctrl+O), drop one here, or paste one (Ctrl+V)"


class SplitView(QWidget):
    """Left of the divider: the original; right: the colorized result.

    Both sides share one transform, so zoom and pan are always in sync.
    """

    viewChanged = Signal()
    # The hint tool: image coordinates of the upright photo.
    hintPlaceRequested = Signal(float, float)
    hintPressed = Signal(int)
    hintMoved = Signal(int, float, float, bool)  # index, x, y, final (mouse released)
    hintRemoveRequested = Signal(int)
    hintClicked = Signal(int)  # pressed and released without moving: choose its colour again
    # The restore brush: the stroke's points in image pixels, whether it adds damage, and
    # whether it is finished (mouse released) or still being drawn.
    strokeDrawn = Signal(list, bool, bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.grabGesture(Qt.GestureType.PinchGesture)
        self.original: DisplayImage | None = None
        self.result: DisplayImage | None = None
        self.divider = 0.5  # fraction of the widget's width
        self.zoom = 1.0
        self.center = QPointF(0, 0)  # image point shown at the widget's centre
        self.fit_mode = True
        self.show_before_only = False
        self.placeholder = DEFAULT_PLACEHOLDER
        self.empty_widget: QWidget | None = None
        self._dragging_divider = False
        self._pan_from: QPointF | None = None
        self.hint_mode = False
        self.markers: list[tuple[float, float, QColor]] = []  # x, y, colour
        self.selected_marker = -1
        self._dragging_marker = -1
        self._marker_moved = False
        self.brush_mode: str | None = None  # "add" or "erase" while the restore brush is on
        self.brush_radius = 6.0  # image pixels
        self._stroke: list[tuple[float, float]] | None = None
        self.overlay: QImage | None = None  # the damage found, red where it is, over the result side

    # ----------------------------------------------------------------- state

    def set_images(self, original: DisplayImage | None, result: DisplayImage | None, keep_view: bool = False) -> None:
        same_size = (
            keep_view and self.original is not None and original is not None
            and (self.original.width(), self.original.height()) == (original.width(), original.height())
        )
        self.original, self.result = original, result
        if not same_size:
            self.fit()
        self._show_empty_widget()
        self.update()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self._show_empty_widget()
        self.update()

    def set_markers(self, markers: list[tuple[float, float, QColor]], selected: int = -1) -> None:
        self.markers, self.selected_marker = list(markers), selected
        self.update()

    def set_overlay(self, mask) -> None:
        """The damage restoration filled (a numpy bool mask of any size; None: no overlay)."""
        if mask is None:
            self.overlay = None
        else:
            import numpy as np

            height, width = mask.shape
            pixels = np.zeros((height, width, 4), np.uint8)
            pixels[mask] = (255, 40, 40, 170)  # RGBA, red and see-through
            self.overlay = QImage(pixels.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        self.update()

    def set_brush_mode(self, mode: str | None, radius: float | None = None) -> None:
        """"add" or "erase" turns the restore brush on (the hint tool off), None off."""
        self.brush_mode = mode
        if radius is not None:
            self.brush_radius = float(radius)
        if mode is not None:
            self.hint_mode = False
        self._stroke = None
        self.setCursor(Qt.CursorShape.CrossCursor if mode else Qt.CursorShape.OpenHandCursor)
        self.update()

    def set_hint_mode(self, on: bool) -> None:
        if on:
            self.brush_mode = None
        self.hint_mode = on
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.OpenHandCursor)

    def image_to_widget(self, point: QPointF) -> QPointF:
        return QPointF((point.x() - self.center.x()) * self.zoom + self.width() / 2,
                       (point.y() - self.center.y()) * self.zoom + self.height() / 2)

    def marker_at(self, position: QPointF) -> int:
        """The topmost marker under a widget position, or -1."""
        for index in range(len(self.markers) - 1, -1, -1):
            x, y, _ = self.markers[index]
            centre = self.image_to_widget(QPointF(x, y))
            if (centre - position).manhattanLength() <= 2 * MARKER_RADIUS:
                return index
        return -1

    def _inside_image(self, point: QPointF) -> bool:
        size = self.image_size()
        return size is not None and 0 <= point.x() < size[0] and 0 <= point.y() < size[1]

    def set_empty_widget(self, widget: QWidget) -> None:
        """A widget that covers the view while it has nothing to show (buttons to start with)."""
        self.empty_widget = widget
        widget.setParent(self)
        widget.setGeometry(self.rect())
        self._show_empty_widget()

    def _show_empty_widget(self) -> None:
        if self.empty_widget is not None:
            self.empty_widget.setVisible(self.image_size() is None and self.placeholder == DEFAULT_PLACEHOLDER)

    def image_size(self):
        image = self.original or self.result
        return (image.width(), image.height()) if image else None

    def fit(self) -> None:
        self.fit_mode = True
        size = self.image_size()
        if size:
            width, height = size
            self.zoom = max(MIN_ZOOM, min(self.width() / width, self.height() / height, MAX_ZOOM))
            self.center = QPointF(width / 2, height / 2)
        self.viewChanged.emit()
        self.update()

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under `anchor` (widget coordinates) in place."""
        zoom = max(MIN_ZOOM, min(zoom, MAX_ZOOM))
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.widget_to_image(anchor)
        self.zoom = zoom
        after = self.widget_to_image(anchor)
        self.center += before - after
        self.fit_mode = False
        self.viewChanged.emit()
        self.update()

    def set_divider(self, fraction: float) -> None:
        self.divider = max(0.0, min(1.0, fraction))
        self.update()

    def toggle_before_after(self) -> None:
        self.show_before_only = not self.show_before_only
        self.update()

    def widget_to_image(self, point: QPointF) -> QPointF:
        return QPointF(
            (point.x() - self.width() / 2) / self.zoom + self.center.x(),
            (point.y() - self.height() / 2) / self.zoom + self.center.y(),
        )

    # -------------------------------------------------------------- painting

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 40))
        if self.image_size() is None:
            if self.empty_widget is not None and self.empty_widget.isVisible():
                return  # it says it all
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 1.0)
        split_x = self.width() * (1.0 if self.show_before_only or self.result is None else self.divider)
        if self.original is not None:
            self._paint_side(painter, self.original, QRectF(0, 0, split_x, self.height()))
        if self.result is not None and not self.show_before_only:
            self._paint_side(painter, self.result, QRectF(split_x, 0, self.width() - split_x, self.height()))
            pen = QPen(QColor(255, 255, 255, 220), 2)
            painter.setPen(pen)
            painter.drawLine(QPointF(split_x, 0), QPointF(split_x, self.height()))
            painter.setBrush(QColor(255, 255, 255, 220))
            painter.drawEllipse(QPointF(split_x, self.height() / 2), 7, 7)
            self._label(painter, "Before", 8, Qt.AlignmentFlag.AlignLeft)
            self._label(painter, "After", self.width() - 8, Qt.AlignmentFlag.AlignRight)
        elif self.result is None and self.placeholder:
            painter.setPen(QColor(230, 230, 230))
            painter.drawText(self.rect().adjusted(0, 0, 0, -12), Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignHCenter,
                             self.placeholder)
        if self.overlay is not None and self.result is not None and not self.show_before_only:
            self._paint_overlay(painter, QRectF(split_x, 0, self.width() - split_x, self.height()))
        self._paint_stroke(painter)
        self._paint_markers(painter)

    def _paint_overlay(self, painter: QPainter, clip: QRectF) -> None:
        width, height = self.image_size()
        painter.save()
        painter.setClipRect(clip)
        corner = self.image_to_widget(QPointF(0, 0))
        painter.drawImage(QRectF(corner.x(), corner.y(), width * self.zoom, height * self.zoom), self.overlay)
        painter.restore()

    def _paint_stroke(self, painter: QPainter) -> None:
        if not self._stroke:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        colour = QColor(255, 60, 60, 140) if self.brush_mode == "add" else QColor(80, 160, 255, 140)
        pen = QPen(colour, max(1.0, 2 * self.brush_radius * self.zoom))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        points = [self.image_to_widget(QPointF(x, y)) for x, y in self._stroke]
        if len(points) == 1:
            painter.drawPoint(points[0])
        for first, second in zip(points, points[1:]):
            painter.drawLine(first, second)
        painter.restore()

    def _paint_side(self, painter: QPainter, image: DisplayImage, clip: QRectF) -> None:
        if clip.width() <= 0:
            return
        level, factor = image.level_for(self.zoom)
        painter.save()
        painter.setClipRect(clip)
        # Only the visible part of the image is handed to the painter: cheap at any size.
        top_left = self.widget_to_image(clip.topLeft())
        bottom_right = self.widget_to_image(clip.bottomRight())
        source = QRectF(top_left, bottom_right).intersected(QRectF(0, 0, image.width(), image.height()))
        if not source.isEmpty():
            target = QRectF(
                (source.left() - self.center.x()) * self.zoom + self.width() / 2,
                (source.top() - self.center.y()) * self.zoom + self.height() / 2,
                source.width() * self.zoom,
                source.height() * self.zoom,
            )
            scaled_source = QRectF(source.left() / factor, source.top() / factor, source.width() / factor,
                                   source.height() / factor)
            painter.drawImage(target, level, scaled_source)
        painter.restore()

    def _paint_markers(self, painter: QPainter) -> None:
        """Each hint as a ring filled with its colour; the selected one larger."""
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for index, (x, y, colour) in enumerate(self.markers):
            centre = self.image_to_widget(QPointF(x, y))
            radius = MARKER_RADIUS + (3 if index == self.selected_marker else 0)
            painter.setBrush(colour)
            painter.setPen(QPen(QColor(0, 0, 0, 200), 3))
            painter.drawEllipse(centre, radius, radius)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.drawEllipse(centre, radius, radius)

    def _label(self, painter: QPainter, text: str, x: float, align) -> None:
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 12
        left = x if align == Qt.AlignmentFlag.AlignLeft else x - width
        box = QRectF(left, 8, width, metrics.height() + 6)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # ----------------------------------------------------------------- input

    def _near_divider(self, x: float) -> bool:
        return self.result is not None and not self.show_before_only and abs(x - self.divider * self.width()) <= DIVIDER_GRAB_PX

    def mousePressEvent(self, event):
        position = event.position()
        if self.brush_mode and self.image_size() is not None and event.button() == Qt.MouseButton.LeftButton \
                and not self._near_divider(position.x()):
            point = self.widget_to_image(position)
            if self._inside_image(point):
                self._stroke = [(point.x(), point.y())]
                self.update()
            return
        if self.hint_mode and self.image_size() is not None:
            marker = self.marker_at(position)
            if event.button() == Qt.MouseButton.RightButton and marker >= 0:
                self.hintRemoveRequested.emit(marker)
                return
            if event.button() == Qt.MouseButton.LeftButton and not self._near_divider(position.x()):
                if marker >= 0:
                    self._dragging_marker, self._marker_moved = marker, False
                    self.hintPressed.emit(marker)
                else:
                    point = self.widget_to_image(position)
                    if self._inside_image(point):
                        self.hintPlaceRequested.emit(point.x(), point.y())
                return
            if event.button() == Qt.MouseButton.MiddleButton:
                self._pan_from = position
                return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._near_divider(position.x()):
            self._dragging_divider = True
        else:
            self._pan_from = position

    def mouseMoveEvent(self, event):
        x = event.position().x()
        if self._stroke is not None:
            point = self._clamped(self.widget_to_image(event.position()))
            last = self._stroke[-1]
            # A new point once the brush has moved a third of its radius: enough to follow the hand.
            if (point.x() - last[0]) ** 2 + (point.y() - last[1]) ** 2 >= (self.brush_radius / 3) ** 2:
                self._stroke.append((point.x(), point.y()))
                self.strokeDrawn.emit(list(self._stroke), self.brush_mode == "add", False)
                self.update()
            return
        if self._dragging_marker >= 0:
            point = self._clamped(self.widget_to_image(event.position()))
            self._marker_moved = True
            self.hintMoved.emit(self._dragging_marker, point.x(), point.y(), False)
            return
        if self._dragging_divider:
            self.set_divider(x / max(self.width(), 1))
        elif self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.center -= delta / self.zoom
            self.fit_mode = False
            self.viewChanged.emit()
            self.update()
        if self._dragging_divider or self._near_divider(x):
            shape = Qt.CursorShape.SplitHCursor
        elif self.brush_mode:
            shape = Qt.CursorShape.CrossCursor
        elif self.hint_mode:
            shape = Qt.CursorShape.PointingHandCursor if self.marker_at(event.position()) >= 0 else Qt.CursorShape.CrossCursor
        else:
            shape = Qt.CursorShape.OpenHandCursor
        self.setCursor(shape)

    def mouseReleaseEvent(self, event):
        if self._stroke is not None:
            stroke, self._stroke = self._stroke, None
            self.strokeDrawn.emit(stroke, self.brush_mode == "add", True)
            self.update()
            return
        if self._dragging_marker >= 0 and self._marker_moved:
            point = self._clamped(self.widget_to_image(event.position()))
            self.hintMoved.emit(self._dragging_marker, point.x(), point.y(), True)
        elif self._dragging_marker >= 0:
            self.hintClicked.emit(self._dragging_marker)
        self._dragging_marker = -1
        self._dragging_divider = False
        self._pan_from = None

    def _clamped(self, point: QPointF) -> QPointF:
        width, height = self.image_size()
        return QPointF(min(max(point.x(), 0.0), width - 1.0), min(max(point.y(), 0.0), height - 1.0))

    def wheelEvent(self, event):
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom * (1.25**steps), event.position())

    def event(self, event):
        if event.type() == event.Type.Gesture:
            pinch = event.gesture(Qt.GestureType.PinchGesture)
            if pinch is not None:
                self.set_zoom(self.zoom * pinch.scaleFactor())
                return True
        if event.type() == event.Type.NativeGesture and event.gestureType() == Qt.NativeGestureType.ZoomNativeGesture:
            self.set_zoom(self.zoom * (1.0 + event.value()), event.position())
            return True
        return super().event(event)

    def resizeEvent(self, event):
        if self.empty_widget is not None:
            self.empty_widget.setGeometry(self.rect())
        if self.fit_mode:
            self.fit()
        super().resizeEvent(event)
