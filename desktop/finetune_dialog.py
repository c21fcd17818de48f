"""Tools > Fine-tune on folder: teach the model a folder of the user's own colour photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from autochrome.trainer.finetune_options import (
    CROP_STEP,
    DEFAULT_CROP,
    DEFAULT_HOLDOUT,
    MAX_HOLDOUT,
    MIN_HOLDOUT,
    MAX_CROP,
    MAX_STEPS,
    MIN_CROP,
    FinetuneOptions,
)
from autochrome.trainer.finetune_options import PRESETS as PRESET_STEPS

from .display import qimage_from_rgb
from .finetune_worker import FinetuneThread

# The stale-run question's answers, named for what they do rather than Yes and No.
STALE_RUN_AFRESH, STALE_RUN_KEEP = "Start Afresh", "Keep the Earlier Run"


class LossCurve(QWidget):
    """The training loss so far, drawn as a line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.points: list[tuple[int, float]] = []
        self.setMinimumSize(260, 110)

    def add(self, step: int, loss: float) -> None:
        self.points.append((step, loss))
        self.update()

    def clear(self) -> None:
        self.points.clear()
        self.update()

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(250, 250, 250))
        painter.setPen(QColor(150, 150, 150))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        if len(self.points) < 2:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "loss curve")
            return
        steps = [s for s, _ in self.points]
        losses = [v for _, v in self.points]
        low, high = min(losses), max(losses)
        span = (high - low) or 1.0
        width, height = self.width() - 12, self.height() - 22
        path = QPainterPath()
        for index, (step, value) in enumerate(self.points):
            x = 6 + (step - steps[0]) / max(steps[-1] - steps[0], 1) * width
            y = 6 + (1 - (value - low) / span) * height
            (path.moveTo if index == 0 else path.lineTo)(QPointF(x, y))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(30, 110, 200), 2))
        painter.drawPath(path)
        painter.setPen(QColor(60, 60, 60))
        painter.drawText(self.rect().adjusted(6, 0, -6, -3), Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
                         f"loss {losses[-1]:.4f} (from {losses[0]:.4f})")


class FinetuneDialog(QDialog):
    modelCreated = Signal(str)  # the new model's name

    def __init__(self, parent=None, base_model: str = ""):
        super().__init__(parent)
        self.setWindowTitle("Fine-tune on folder")
        self.base_model = base_model
        self.engine = FinetuneThread(self)
        self.folder_scan = None
        self.seconds_per_step = 0.0
        self.training = False
        self._leaving = False  # closeEvent has agreed: reject may hide the dialog now
        self.total_steps = 0
        form = self._build_source()
        self._build_advanced()
        previews = self._build_progress()
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.start_button, self.pause_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        for part in (form, self.advanced, self.progress, self.status, self.curve, previews, self.result, buttons):
            (layout.addLayout if isinstance(part, (QFormLayout, QHBoxLayout)) else layout.addWidget)(part)
        self._connect()
        self._update_buttons()

    def _build_source(self) -> QFormLayout:
        """Where the photos come from, what the scan found, the new model's name and preset."""
        self.source = QComboBox()
        self.source.addItem("A folder of colour photos", "folder")
        self.source.addItem("My corrected photos (photos I saved hints for)", "corrections")
        self.source.setToolTip("Corrected photos teach the model the colours your hints gave them")
        self.find_corrections = QPushButton("Find corrected photos")
        self.find_corrections.setVisible(False)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("A folder of your own colour photos")
        self.browse = QPushButton("Choose...")
        self.scan_label = QLabel("Choose a folder to see how many photos it can use.")
        self.scan_label.setWordWrap(True)
        self.skipped = QListWidget()
        self.skipped.setMaximumHeight(80)
        self.skipped.setVisible(False)
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Family archive 1950s")
        self.preset = QComboBox()
        for key in PRESET_STEPS:
            self.preset.addItem(key.capitalize(), key)
        folder_row = QHBoxLayout()
        for widget, stretch in ((self.folder, 1), (self.browse, 0), (self.find_corrections, 0)):
            folder_row.addWidget(widget, stretch)
        form = QFormLayout()
        for label, field_ in (("Learn from", self.source), ("Folder", folder_row), ("", self.scan_label),
                              ("", self.skipped), ("New model name", self.name), ("Preset", self.preset)):
            form.addRow(label, field_)
        return form

    def _build_advanced(self) -> None:
        self.advanced = QGroupBox("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        self.steps = QSpinBox()
        self.steps.setRange(1, MAX_STEPS)
        self.steps.setValue(PRESET_STEPS["quick"])
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(1e-6, 1e-2)
        self.learning_rate.setSingleStep(1e-4)
        self.learning_rate.setValue(3e-4)
        self.crop = QSpinBox()
        self.crop.setRange(MIN_CROP, MAX_CROP)
        self.crop.setSingleStep(CROP_STEP)
        self.crop.setValue(DEFAULT_CROP)
        self.adversarial = QCheckBox("Run the adversarial (GAN) stage too")
        self.whole_network = QCheckBox("Train the whole network (slower; default: decoder only)")
        self.holdout = QSpinBox()
        self.holdout.setRange(round(MIN_HOLDOUT * 100), round(MAX_HOLDOUT * 100))
        self.holdout.setValue(round(DEFAULT_HOLDOUT * 100))
        self.holdout.setSuffix(" % held out for validation")
        advanced_form = QFormLayout(self.advanced)
        for label, widget in (("Steps", self.steps), ("Learning rate", self.learning_rate), ("Crop size", self.crop),
                              ("", self.adversarial), ("", self.whole_network), ("Validation", self.holdout)):
            advanced_form.addRow(label, widget)

    def _build_progress(self) -> QHBoxLayout:
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.curve = LossCurve()
        self.base_preview = QLabel("base model")
        self.new_preview = QLabel("model being trained")
        for label in (self.base_preview, self.new_preview):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumSize(200, 150)
            label.setStyleSheet("background: #333; color: #ccc")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")
        previews = QHBoxLayout()
        for caption, label in (("Base model", self.base_preview), ("Being trained (a held-out photo)", self.new_preview)):
            column = QVBoxLayout()
            column.addWidget(QLabel(caption))
            column.addWidget(label)
            previews.addLayout(column)
        return previews

    def _connect(self) -> None:
        self.browse.clicked.connect(self._choose_folder)
        self.folder.editingFinished.connect(self._scan)
        self.source.currentIndexChanged.connect(self._on_source)
        self.find_corrections.clicked.connect(self._scan_corrections)
        self.preset.currentIndexChanged.connect(self._on_preset)
        # The split is made by the scan: a new share needs a new scan, or the run would use the old one.
        self.holdout.valueChanged.connect(lambda _: self._scan() if self.folder_scan is not None else None)
        self.start_button.clicked.connect(self.start)
        self.pause_button.toggled.connect(self._on_pause)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        worker = self.engine.worker
        for signal, slot in ((worker.scanned, self._on_scanned), (worker.scanFailed, self._on_scan_failed),
                             (worker.started, self._on_started), (worker.progress, self._on_progress),
                             (worker.preview, self._on_preview), (worker.staleRun, self._on_stale_run),
                             (worker.finished, self._on_finished), (worker.failed, self._on_failed),
                             (worker.stopped, self._on_stopped)):
            signal.connect(slot)

    @classmethod
    def ask(cls, parent=None, base_model: str = "") -> "FinetuneDialog":
        """Open the dialog (non-modal: the main window stays usable while it trains)."""
        dialog = cls(parent, base_model)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ---------------------------------------------------------------- folder

    def _choose_folder(self):
        folder = QFileDialog.getExistingDirectory(self, "Folder of colour photos", self.folder.text() or str(Path.home()))
        if folder:
            self.folder.setText(folder)
            self._scan()

    @property
    def learns_from_corrections(self) -> bool:
        return self.source.currentData() == "corrections"

    def _on_source(self):
        corrections = self.learns_from_corrections
        self.folder_scan = None
        self.folder.setPlaceholderText("Only corrected photos in this folder (optional)" if corrections
                                       else "A folder of your own colour photos")
        self.find_corrections.setVisible(corrections)
        self.scan_label.setText("Find the photos you corrected with hints (and saved)." if corrections
                                else "Choose a folder to see how many photos it can use.")
        if corrections and not self.name.text():
            self.name.setText("My corrections")
        self._update_buttons()

    def _scan_corrections(self):
        if self.training:
            return
        self.folder_scan = None
        self.scan_label.setText("Finding corrected photos and rendering them with their hints...")
        self.skipped.setVisible(False)
        self._update_buttons()
        folder = self.folder.text().strip()
        self.engine.scan_corrections(self.name.text().strip() or "My corrections", self.base_model,
                                     Path(folder) if folder else None, self.holdout.value() / 100.0)

    def _scan(self):
        text = self.folder.text().strip()
        if not text or self.training:
            return
        if self.learns_from_corrections:
            self._scan_corrections()
            return
        self.folder_scan = None
        self.scan_label.setText("Scanning...")
        self.skipped.setVisible(False)
        self._update_buttons()
        self.engine.scan(Path(text), self.holdout.value() / 100.0)
        if not self.name.text():
            self.name.setText(Path(text).name)

    def _on_scanned(self, folder_scan, seconds_per_step):
        self.folder_scan = folder_scan
        self.seconds_per_step = seconds_per_step
        scan = folder_scan.scan
        kind = "corrected photos" if folder_scan.source == "corrections" else "usable photos"
        self.scan_label.setText(f"{len(scan.usable)} {kind} ({len(folder_scan.train_paths)} to train on, "
                                f"{len(folder_scan.holdout_paths)} held out); skipped {len(scan.monochrome)} greyscale, "
                                f"{len(scan.too_small)} too small, {len(scan.unreadable)} unreadable.")
        self.skipped.clear()
        for path in scan.monochrome:
            self.skipped.addItem(f"greyscale: {path.name}")
        for path in scan.too_small:
            self.skipped.addItem(f"too small: {path.name}")
        for path, reason in scan.unreadable:
            self.skipped.addItem(f"unreadable: {path.name} ({reason})")
        self.skipped.setVisible(self.skipped.count() > 0)
        self._label_presets()
        self._update_buttons()

    def _on_scan_failed(self, message):
        self.scan_label.setText(message)
        self._update_buttons()

    def _label_presets(self):
        for index in range(self.preset.count()):
            key = self.preset.itemData(index)
            text = key.capitalize()
            if self.seconds_per_step:
                minutes = PRESET_STEPS[key] * self.seconds_per_step / 60
                text += f" (about {minutes:.0f} min here)" if minutes >= 1 else " (under a minute here)"
            self.preset.setItemText(index, text)

    def _on_preset(self):
        self.steps.setValue(PRESET_STEPS[self.preset.currentData()])

    # -------------------------------------------------------------- training

    def options(self):

        advanced = self.advanced.isChecked()
        return FinetuneOptions(
            name=self.name.text().strip(),
            base_model=self.base_model or None,
            preset=self.preset.currentData(),
            steps=self.steps.value() if advanced else None,
            learning_rate=self.learning_rate.value() if advanced else 3e-4,
            crop=self.crop.value() if advanced else DEFAULT_CROP,
            adversarial=advanced and self.adversarial.isChecked(),
            holdout_share=self.holdout.value() / 100.0,
            train_encoder=advanced and self.whole_network.isChecked(),
        )

    def start(self):
        if self.folder_scan is None or self.training:
            return
        if not self.name.text().strip():
            QMessageBox.warning(self, "Fine-tune", "Give the new model a name.")
            return
        self.training = True
        self.curve.clear()
        self.result.setText("")
        self.status.setText("Preparing...")
        self._update_buttons()
        self.engine.train(self.folder_scan, self.options())

    def _on_started(self, first_step, total):
        self.total_steps = total
        self.progress.setRange(0, total)
        self.progress.setValue(first_step)
        if first_step:
            self.status.setText(f"Resuming the earlier run of this name from step {first_step}")

    def _on_progress(self, record):
        self.progress.setValue(record.step)
        minutes, seconds = divmod(int(record.eta_s), 60)
        self.status.setText(f"step {record.step} of {record.steps}  |  {record.images_per_second:.1f} images/s  |  "
                            f"about {minutes}:{seconds:02d} left" + ("  |  paused" if self.pause_button.isChecked() else ""))
        if record.colour_loss is not None:
            self.curve.add(record.step, record.colour_loss)

    def _on_preview(self, base_rgb, current_rgb):
        for label, rgb in ((self.base_preview, base_rgb), (self.new_preview, current_rgb)):
            pixmap = QPixmap.fromImage(qimage_from_rgb(rgb))
            label.setPixmap(pixmap.scaled(label.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.SmoothTransformation))

    def _on_pause(self, paused):
        self.pause_button.setText("Resume" if paused else "Pause")
        self.engine.worker.pause(paused)

    def cancel(self):
        if self.training:
            self.status.setText("Stopping after this step...")
            self.engine.worker.cancel()

    def _finish(self):
        self.training = False
        self.pause_button.setChecked(False)
        self._update_buttons()

    def _on_finished(self, path, figures):
        self._finish()
        name = Path(path).stem
        text = f"Saved the new model '{name}'. It is now in the model picker."
        if figures:
            base, new = figures["base"], figures["new"]
            text += (f"\nHeld-out photos: colour error (CIEDE2000) {base['ciede2000']:.2f} -> {new['ciede2000']:.2f}, "
                     f"PSNR {base['psnr']:.2f} -> {new['psnr']:.2f} dB.")
        self.result.setText(text)
        self.status.setText("Done")
        self.modelCreated.emit(name)

    def _on_failed(self, message):
        self._finish()
        self.status.setText("Stopped")
        QMessageBox.warning(self, "Fine-tune failed", message)

    def _on_stale_run(self, message):
        box = QMessageBox(
            QMessageBox.Icon.Question, "Start afresh?",
            f"An unfinished fine-tune named '{self.name.text().strip()}' was started with other photos, another base "
            "model or other options, so it cannot continue with these.\n\nStart this one afresh, discarding the "
            "earlier run's progress, or keep the earlier run and choose another name?", parent=self)
        afresh = box.addButton(STALE_RUN_AFRESH, QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(STALE_RUN_KEEP, QMessageBox.ButtonRole.RejectRole))
        box.exec()
        if box.clickedButton() is afresh and self.training:
            self.engine.train(self.folder_scan, replace(self.options(), fresh_start=True))
            return
        self._finish()
        self.status.setText("Not started: the earlier run of this name is kept")

    def _on_stopped(self, checkpoint):
        self._finish()
        self.status.setText("Cancelled. Its progress is kept: start again with the same name to resume."
                            if checkpoint else "Cancelled before it started.")

    def _update_buttons(self):
        self.start_button.setEnabled(self.folder_scan is not None and not self.training)
        self.pause_button.setEnabled(self.training)
        self.cancel_button.setEnabled(self.training)
        for widget in (self.source, self.find_corrections, self.folder, self.browse, self.name, self.preset,
                       self.advanced):
            widget.setEnabled(not self.training)

    def reject(self):
        """Esc asks as the close button does: QDialog.reject alone would hide (and, with
        WA_DeleteOnClose, delete) the dialog without its closeEvent, its training running on."""
        if self._leaving:
            super().reject()
        else:
            self.close()

    def closeEvent(self, event):
        if self.training:
            answer = QMessageBox.question(self, "Stop fine-tuning?",
                                          "A fine-tune is running. Stop it? Its progress is kept and can be resumed.",
                                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                          QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
        self.engine.stop()  # returns once the run has stopped and kept its checkpoint
        self.training = False
        self._leaving = True
        super().closeEvent(event)
