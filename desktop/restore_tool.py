"""Restoring the shown photo before it is colorized: the Restore panel (on or off, strength,
the damage overlay, the brush size) and the brush that marks or unmarks damage.

What restoration does is the session's edit (photo_session.set_restore, add_restore_stroke):
each change renders a quick preview, then the full result, which enters the history, so a
stroke is undone and redone like a hint. The overlay shows what the result filled.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QSlider

from autochrome.engine.edit import DEFAULT_STRENGTH, EditError, RestoreEdit, Stroke

STROKE_PREVIEW_MS = 60  # a stroke being drawn asks for a preview at most this often


class RestorePanel(QGroupBox):
    """Adjust > Restore."""

    changed = Signal(bool, float, bool)  # enabled, strength, tone
    overlayToggled = Signal(bool)

    def __init__(self, parent=None):
        super().__init__("Restore", parent)
        self.enabled = QCheckBox("Fill scratches, dust and cracks")
        self.enabled.setToolTip("Find the damage of an old print and fill it from its surroundings before "
                                "colorizing; nothing else in the photo changes")
        self.strength = QSlider(Qt.Orientation.Horizontal)
        self.strength.setRange(0, 100)
        self.strength.setValue(round(DEFAULT_STRENGTH * 100))
        self.strength.setToolTip("How readily damage is found: higher finds fainter damage (and more false marks)")
        self.strength_label = QLabel(f"{round(DEFAULT_STRENGTH * 100)}%")
        self.tone = QCheckBox("Fix fading (stretch the levels)")
        self.tone.setToolTip("For a faded print: stretch its darkest and lightest tones toward black and white. "
                             "Unlike the fill, this changes every pixel")
        self.overlay = QCheckBox("Show damage found")
        self.overlay.setToolTip("Red where restoration filled the photo")
        self.brush = QSlider(Qt.Orientation.Horizontal)
        self.brush.setRange(1, 60)
        self.brush.setValue(6)
        self.brush.setToolTip("The restore brush's radius in the photo's pixels")
        self.brush_label = QLabel("6 px")
        strength_row, brush_row = QHBoxLayout(), QHBoxLayout()
        strength_row.addWidget(self.strength, 1)
        strength_row.addWidget(self.strength_label)
        brush_row.addWidget(self.brush, 1)
        brush_row.addWidget(self.brush_label)
        form = QFormLayout(self)
        form.addRow(self.enabled)
        form.addRow("Strength", strength_row)
        form.addRow(self.tone)
        form.addRow(self.overlay)
        self.found = QLabel("")  # how much the shown result filled: the network often finds nothing on a real print
        self.found.setWordWrap(True)
        self.found.setVisible(False)  # shown once there is something to say: no empty row in the panel
        form.addRow(self.found)
        form.addRow("Brush", brush_row)
        form.addRow(QLabel("Mark Damage (M) paints what was missed; Unmark (U) erases a false mark."))
        self.enabled.toggled.connect(lambda _: self._emit())
        self.tone.toggled.connect(lambda _: self._emit())
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v}%"))
        self.strength.sliderReleased.connect(self._emit)
        self.strength.valueChanged.connect(lambda _: None if self.strength.isSliderDown() else self._emit())
        self.brush.valueChanged.connect(lambda v: self.brush_label.setText(f"{v} px"))
        self.overlay.toggled.connect(self.overlayToggled)

    def _emit(self) -> None:
        self.changed.emit(self.enabled.isChecked(), self.strength.value() / 100.0, self.tone.isChecked())

    def show_found(self, damage) -> None:
        """The shown result's filled share (`damage`: its overlay mask, None when it was not restored)."""
        if damage is None:
            self.found.setText("")
        elif damage.any():
            self.found.setText(f"Filled {damage.mean() * 100:.3g} % of the photo")
        else:
            self.found.setText("No damage found at this strength: raise it, or paint the damage with Mark Damage")
        self.found.setVisible(bool(self.found.text()))

    def show_restore(self, restore: RestoreEdit) -> None:
        """The shown result's restoration, without an edit."""
        for widget in (self.enabled, self.strength, self.tone):
            widget.blockSignals(True)
        self.enabled.setChecked(restore.enabled)
        self.tone.setChecked(restore.tone)
        self.strength.setValue(round(restore.strength * 100))
        self.strength_label.setText(f"{round(restore.strength * 100)}%")
        for widget in (self.enabled, self.strength, self.tone):
            widget.blockSignals(False)


class RestoreController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window, self.view, self.session = window, window.view, window.session
        self.panel: RestorePanel = window.adjust.restore
        self.mark_action = self._action("&Mark Damage", "M", "Paint over damage that restoration missed", "add")
        self.unmark_action = self._action("&Unmark Damage", "U", "Paint over a false mark so it stays as it is",
                                          "erase")
        self.overlay_action = QAction("Show &Damage Found", window, checkable=True)
        self.overlay_action.setShortcut(QKeySequence("D"))
        self.overlay_action.setStatusTip("Red where restoration filled the photo")
        self.overlay_action.toggled.connect(self.panel.overlay.setChecked)
        window.addAction(self.overlay_action)
        self.panel.changed.connect(self._on_panel)
        self.panel.overlayToggled.connect(self._on_overlay)
        self.panel.brush.valueChanged.connect(lambda v: self.view.set_brush_mode(self.view.brush_mode, v))
        self.view.strokeDrawn.connect(self._on_stroke)
        self._pending_stroke = None
        self._stroke_timer = QTimer(self, singleShot=True, interval=STROKE_PREVIEW_MS)
        self._stroke_timer.timeout.connect(self._preview_stroke)
        window.hint_tool.tool_action.toggled.connect(lambda on: on and self._brush_off())

    def _brush_off(self) -> None:
        for action in (self.mark_action, self.unmark_action):
            action.setChecked(False)

    def _action(self, text, shortcut, tip, mode) -> QAction:
        action = QAction(text, self.window, checkable=True)
        action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.toggled.connect(lambda on, m=mode: self._on_brush(m, on))
        self.window.addAction(action)
        return action

    @property
    def actions(self) -> list[QAction]:
        return [self.mark_action, self.unmark_action, self.overlay_action]

    def update_actions(self, photo_shown: bool, busy_with_batch: bool) -> None:
        usable = photo_shown and not busy_with_batch
        for action in (self.mark_action, self.unmark_action):
            action.setEnabled(usable)
            if not usable and action.isChecked():
                action.setChecked(False)
        self.panel.setEnabled(usable)
        self.overlay_action.setEnabled(photo_shown)

    def _on_brush(self, mode: str, on: bool) -> None:
        other = self.unmark_action if mode == "add" else self.mark_action
        if on:
            other.blockSignals(True)
            other.setChecked(False)
            other.blockSignals(False)
            self.window.hint_tool.tool_action.setChecked(False)
            self.view.set_brush_mode(mode, self.panel.brush.value())
            self.window.statusBar().showMessage(
                "Restore brush: drag over damage that was missed" if mode == "add"
                else "Restore brush: drag over a false mark to keep it as it is", 6000)
        elif self.view.brush_mode == mode:
            self.view.set_brush_mode(None)

    def _on_panel(self, enabled: bool, strength: float, tone: bool) -> None:
        self.session.set_restore(enabled=enabled, strength=strength, tone=tone)

    def _on_overlay(self, on: bool) -> None:
        self.overlay_action.blockSignals(True)
        self.overlay_action.setChecked(on)
        self.overlay_action.blockSignals(False)
        self.show_overlay()

    def _on_stroke(self, points: list, add: bool, final: bool) -> None:
        try:
            stroke = Stroke(tuple((float(x), float(y)) for x, y in points), float(self.panel.brush.value()), add)
        except EditError as exc:
            self.window.statusBar().showMessage(f"Not applied: {exc}", 6000)
            return
        if final:
            self._stroke_timer.stop()
            self._pending_stroke = None
            self.session.add_restore_stroke(stroke, final=True)
            return
        self._pending_stroke = stroke  # the newest wins; previews follow the hand, not every point
        if not self._stroke_timer.isActive():
            self._stroke_timer.start()

    def _preview_stroke(self) -> None:
        if self._pending_stroke is not None:
            stroke, self._pending_stroke = self._pending_stroke, None
            self.session.add_restore_stroke(stroke, final=False)

    # ------------------------------------------------------------- what is shown

    def show_entry(self, entry) -> None:
        restore = entry.restore if entry is not None and entry.restore is not None else RestoreEdit()
        self.panel.show_restore(restore)
        self.show_overlay(entry.reply if entry is not None and entry.available else None)

    def show_overlay(self, reply=None) -> None:
        if reply is None:
            entry = self.session.shown
            reply = entry.reply if entry is not None and entry.available else None
        damage = getattr(reply, "damage", None) if reply is not None else None
        self.view.set_overlay(damage if self.panel.overlay.isChecked() and damage is not None else None)
        self.panel.show_found(damage)
