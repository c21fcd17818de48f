"""Side panels: adjustments, history and the queue. They show state and emit intentions."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from autochrome.engine.edit import MAX_TEMPERATURE as VIBRANCE_MUTED
from autochrome.engine.edit import MIN_TEMPERATURE as VIBRANCE_VIVID

from .restore_tool import RestorePanel
from .settings import DEVICE_CHOICES, RENDER_SIZE_CHOICES

RENDER_SIZES = list(zip(RENDER_SIZE_CHOICES, ("Fast (192 px)", "Balanced (256 px)", "Detailed (384 px)",
                                              "Finest (512 px)")))
DEVICES = list(zip(DEVICE_CHOICES, ("Automatic", "CPU", "NVIDIA GPU (CUDA)", "Apple GPU (MPS)")))


class AdjustPanel(QWidget):
    settingsChanged = Signal()  # saturation or render size: colorize again
    modelChanged = Signal(str, str)  # model name, device

    def __init__(self, parent=None):
        super().__init__(parent)
        self.saturation = QSlider(Qt.Orientation.Horizontal)
        self.saturation.setRange(0, 200)
        self.saturation.setValue(100)
        self.saturation.setToolTip("Colour strength (100% = as predicted)")
        self.saturation_label = QLabel("100%")
        # Vibrance: a classifier model's annealed-mean temperature, shown as "more vivid" to the
        # right. Disabled for models that regress colour (they have no such knob).
        self.vibrance = QSlider(Qt.Orientation.Horizontal)
        self.vibrance.setRange(0, 100)
        self.vibrance.setToolTip("How vivid the model's colour choices are (only for models that classify colours)")
        self.vibrance.setEnabled(False)
        self.vibrance_label = QLabel("-")
        self._model_temperature = -1.0
        self.render_size = QComboBox()
        for size, label in RENDER_SIZES:
            self.render_size.addItem(label, size)
        self.render_size.setCurrentIndex(1)
        self.render_size.setToolTip("Size at which the model looks at the photo; the result is always full size")
        self.model = QComboBox()
        self.model.setToolTip("Which model colorizes")
        # Long model names stay readable in a narrow dock.
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model.setMinimumContentsLength(22)
        self.device = QComboBox()
        for key, label in DEVICES:
            self.device.addItem(label, key)
        self.jpeg_quality = QSpinBox()
        self.jpeg_quality.setRange(1, 100)
        self.jpeg_quality.setValue(95)
        self.jpeg_quality.setSuffix(" JPEG/WebP quality")
        self.again = QPushButton("Colorize again")
        self.restore = RestorePanel()
        self._lay_out()
        self._connect()

    def _lay_out(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.saturation, 1)
        row.addWidget(self.saturation_label)
        vibrance_row = QHBoxLayout()
        vibrance_row.addWidget(self.vibrance, 1)
        vibrance_row.addWidget(self.vibrance_label)
        form = QFormLayout()
        form.addRow("Saturation", row)
        form.addRow("Vibrance", vibrance_row)
        form.addRow("Render size", self.render_size)
        form.addRow("Model", self.model)
        form.addRow("Device", self.device)
        form.addRow("Saving", self.jpeg_quality)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.again)
        layout.addWidget(self.restore)
        layout.addStretch(1)

    def _connect(self) -> None:
        self.saturation.valueChanged.connect(lambda v: self.saturation_label.setText(f"{v}%"))
        self.saturation.sliderReleased.connect(self.settingsChanged)
        self.saturation.valueChanged.connect(self._on_saturation_value)
        self.render_size.currentIndexChanged.connect(lambda _: self.settingsChanged.emit())
        self.vibrance.valueChanged.connect(self._on_vibrance_value)
        self.vibrance.sliderReleased.connect(self.settingsChanged)
        self.again.clicked.connect(self.settingsChanged)
        self.model.activated.connect(lambda _: self.modelChanged.emit(self.model_name(), self.device_key()))
        self.device.activated.connect(lambda _: self.modelChanged.emit(self.model_name(), self.device_key()))

    def _on_saturation_value(self, _value):
        # Keyboard and wheel changes have no release; dragging waits for the release.
        if not self.saturation.isSliderDown():
            self.settingsChanged.emit()

    def _on_vibrance_value(self, value):
        self.vibrance_label.setText("model" if self.temperature() is None else f"{value}")
        if not self.vibrance.isSliderDown():
            self.settingsChanged.emit()

    @staticmethod
    def _slider_for(temperature: float) -> int:
        return round((VIBRANCE_MUTED - temperature) / (VIBRANCE_MUTED - VIBRANCE_VIVID) * 100)

    def set_vibrance(self, model_temperature: float) -> None:
        """The loaded model's own temperature (-1 for models without one) becomes the slider's start."""
        self._model_temperature = model_temperature
        self.vibrance.blockSignals(True)
        self.vibrance.setEnabled(model_temperature > 0)
        if model_temperature > 0:
            self.vibrance.setValue(self._slider_for(model_temperature))
        self.vibrance.blockSignals(False)
        self.vibrance_label.setText("model" if model_temperature > 0 else "-")

    def temperature(self) -> float | None:
        """None while the slider sits at the model's own setting."""
        if self._model_temperature <= 0 or self.vibrance.value() == self._slider_for(self._model_temperature):
            return None
        return VIBRANCE_MUTED - self.vibrance.value() / 100 * (VIBRANCE_MUTED - VIBRANCE_VIVID)

    def colorize_settings(self) -> dict:
        return {"render_size": int(self.render_size.currentData()), "saturation": self.saturation.value() / 100.0,
                "temperature": self.temperature()}

    def set_values(self, saturation: float, render_size: int, device: str, jpeg_quality: int) -> None:
        for widget in (self.saturation, self.render_size, self.device):
            widget.blockSignals(True)
        self.saturation.setValue(round(saturation * 100))
        self.saturation_label.setText(f"{round(saturation * 100)}%")
        index = self.render_size.findData(render_size)
        self.render_size.setCurrentIndex(index if index >= 0 else 1)
        index = self.device.findData(device)
        self.device.setCurrentIndex(index if index >= 0 else 0)
        self.jpeg_quality.setValue(jpeg_quality)
        for widget in (self.saturation, self.render_size, self.device):
            widget.blockSignals(False)

    def show_settings(self, settings: dict) -> None:
        """Show the shown result's settings (its own, e.g. from its sidecar) without an edit."""
        widgets = (self.saturation, self.render_size, self.vibrance)
        for widget in widgets:
            widget.blockSignals(True)
        if settings.get("saturation") is not None:
            self.saturation.setValue(round(settings["saturation"] * 100))
            self.saturation_label.setText(f"{round(settings['saturation'] * 100)}%")
        index = self.render_size.findData(settings.get("render_size"))
        if index < 0 and settings.get("render_size"):
            self.render_size.addItem(f"{settings['render_size']} px", settings["render_size"])
            index = self.render_size.count() - 1
        if index >= 0:
            self.render_size.setCurrentIndex(index)
        if self._model_temperature > 0:
            temperature = settings.get("temperature") or self._model_temperature
            self.vibrance.setValue(self._slider_for(temperature))
            self.vibrance_label.setText("model" if self.temperature() is None else f"{self.vibrance.value()}")
        for widget in widgets:
            widget.blockSignals(False)

    def set_models(self, models: list, current: str) -> None:
        self.model.blockSignals(True)
        self.model.clear()
        for name, origin, description in models:
            self.model.addItem(f"{name} ({origin})", name)
            self.model.setItemData(self.model.count() - 1, description or name, Qt.ItemDataRole.ToolTipRole)
        index = self.model.findData(current)
        self.model.setCurrentIndex(max(index, 0))
        self.model.blockSignals(False)

    def select_model(self, name: str) -> bool:
        index = self.model.findData(name)
        if index >= 0:
            self.model.blockSignals(True)
            self.model.setCurrentIndex(index)
            self.model.blockSignals(False)
        return index >= 0

    def model_name(self) -> str:
        return self.model.currentData() or ""

    def device_key(self) -> str:
        return self.device.currentData() or "auto"


class HistoryPanel(QListWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setIconSize(QSize(72, 72))
        self.setWordWrap(True)
        self.setToolTip("Every result; click one to show it again (Ctrl+Z / Ctrl+Shift+Z step through them)")

    def show_history(self, history) -> None:
        self.blockSignals(True)
        self.clear()
        for entry in history.entries:
            item = QListWidgetItem(entry.summary + ("" if entry.available else "\n(released to save memory)"))
            if entry.thumbnail is not None:
                item.setIcon(QIcon(QPixmap.fromImage(entry.thumbnail)))
            if not entry.available:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.addItem(item)
        self.setCurrentRow(history.current)
        self.blockSignals(False)


class QueuePanel(QListWidget):
    """One row per opened photo and its status: waiting, colorizing, done or failed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setToolTip("Photos waiting to be colorized, and how each went")

    def add(self, label: str) -> QListWidgetItem:
        item = QListWidgetItem(f"waiting - {label}")
        item.setData(Qt.ItemDataRole.UserRole, label)
        self.addItem(item)
        return item

    @staticmethod
    def set_status(item: QListWidgetItem, status: str) -> None:
        item.setText(f"{status} - {item.data(Qt.ItemDataRole.UserRole)}")
        item.setToolTip(status)  # a damage note or a failure's reason can be longer than the panel


class ReferencePanel(QWidget):
    """The shown photo's reference photo: a thumbnail, Choose... and Clear."""

    chooseRequested = Signal()
    clearRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.thumbnail = QLabel("No reference photo.\nHints > Colour from Reference Photo... takes a whole photo's "
                                "colours from a colour photo of the same place, person or thing.")
        self.thumbnail.setWordWrap(True)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setMinimumHeight(96)
        self.choose = QPushButton("Choose...")
        self.clear = QPushButton("Clear")
        self.clear.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.choose)
        buttons.addWidget(self.clear)
        layout = QVBoxLayout(self)
        layout.addWidget(self.thumbnail)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.choose.clicked.connect(self.chooseRequested)
        self.clear.clicked.connect(self.clearRequested)

    def show_reference(self, reference) -> None:
        """An engine.reference.ReferencePhoto, or None for none."""
        if reference is None:
            self.thumbnail.setPixmap(QPixmap())
            self.thumbnail.setText("No reference photo.")
            self.thumbnail.setToolTip("")
        else:
            from .display import qimage_from_rgb

            rgb = reference.rgb
            step = max(1, max(rgb.shape[:2]) // 160)
            self.thumbnail.setPixmap(QPixmap.fromImage(qimage_from_rgb(rgb[::step, ::step])))
            self.thumbnail.setToolTip(f"Colours taken from {reference.path.name if reference.path else 'a photo'}")
        self.clear.setEnabled(reference is not None)
