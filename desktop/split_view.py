"""The before/after canvas: one zoom and pan for both sides, a draggable divider."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from .display import DisplayImage

MIN_ZOOM, MAX_ZOOM = 0.02, 16.0
DIVIDER_GRAB_PX = 8


DEFAULT_PLACEHOLDER = "Open a photo (Ctrl+O), drop one here, or paste one (Ctrl+V)"


class SplitView(QWidget):
    """Left of the divider: the original; right: the colorized result.

    Both sides share one transform, so zoom and pan are always in sync.
    """

    viewChanged = Signal()

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
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self._near_divider(event.position().x()):
            self._dragging_divider = True
        else:
            self._pan_from = event.position()

    def mouseMoveEvent(self, event):
        x = event.position().x()
        if self._dragging_divider:
            self.set_divider(x / max(self.width(), 1))
        elif self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.center -= delta / self.zoom
            self.fit_mode = False
            self.viewChanged.emit()
            self.update()
        shape = Qt.CursorShape.SplitHCursor if self._dragging_divider or self._near_divider(x) else Qt.CursorShape.OpenHandCursor
        self.setCursor(shape)

    def mouseReleaseEvent(self, event):
        self._dragging_divider = False
        self._pan_from = None

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
