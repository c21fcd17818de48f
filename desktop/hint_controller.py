"""The hint tool: clicks in the split view become hints in the photo session.

What an edit renders (a quick preview, then the full result) is the session's rule; this
controller turns clicks, drags and the colour popover into hint edits, and paints the hints.
A click on an existing hint selects it and opens its popover, so its colour can be changed.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from autochrome.engine.edit import DEFAULT_REACH

from .colour_popover import ColourPopover, lab_colour

# (menu text, reach as a share of the photo's long side, status tip)
REACHES = [("Reach: &Object", 0.1, "A hint colours the object it is on and little around it"),
           ("Reach: &Region", DEFAULT_REACH, "A hint colours what looks alike around it (the default)"),
           ("Reach: &Far", 0.6, "A hint carries across everything that looks alike, however far")]


class HintController(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window, self.view = window, window.view
        self.hints = window.session.hints
        self.popover: ColourPopover | None = None
        self.reference_photo = None  # the eyedropper's last colour photo
        self.tool_action = self._action("&Hint Tool", "H", "Click the photo to fix a colour there", self.set_tool)
        self.tool_action.setCheckable(True)
        self.clear_action = self._action("C&lear Hints", None, "Remove every hint of this photo", self.hints.clear)
        self.delete_action = self._action("&Delete Hint", [QKeySequence.StandardKey.Delete, QKeySequence("Backspace")],
                                          "Remove the selected hint", self.delete_selected)
        self.without_action = self._action("Compare &Without Hints", "N",
                                           "Show the result without hints and without a reference photo",
                                           self.show_without_hints)
        self.without_action.setCheckable(True)
        self.reach_actions = self._reach_actions()
        self.view.hintPlaceRequested.connect(self._on_place)
        self.view.hintPressed.connect(self._on_pressed)
        self.view.hintMoved.connect(self._on_moved)
        self.view.hintRemoveRequested.connect(self.hints.remove)
        self.view.hintClicked.connect(self.recolour)
        self.hints.changed.connect(lambda final: self.refresh_markers())
        self.hints.reset.connect(self._on_reset)
        self.hints.selection_changed.connect(lambda _: self.refresh_markers())

    def _action(self, text, shortcut, tip, slot) -> QAction:
        action = QAction(text, self.window)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _reach_actions(self) -> list[QAction]:
        """Hints > Reach: how far a hint's colour may carry over what looks alike."""
        group = QActionGroup(self)
        actions = []
        for text, reach, tip in REACHES:
            action = QAction(text, self.window, checkable=True)
            action.setStatusTip(tip)
            action.setData(reach)
            action.triggered.connect(lambda checked=False, value=reach: self.window.session.set_settings({"reach": value}))
            group.addAction(action)
            actions.append(action)
        self.show_reach(DEFAULT_REACH)
        return actions

    def show_reach(self, reach: float) -> None:
        for action in getattr(self, "reach_actions", []):
            action.setChecked(abs(action.data() - reach) < 1e-6)

    @property
    def actions(self) -> list[QAction]:
        return [self.tool_action, self.clear_action, self.delete_action, self.without_action]

    def update_actions(self, photo_shown: bool, busy_with_batch: bool) -> None:
        usable = photo_shown and not busy_with_batch
        self.tool_action.setEnabled(usable)
        if not usable and self.tool_action.isChecked():
            self.tool_action.setChecked(False)
            self.view.set_hint_mode(False)
        self.clear_action.setEnabled(usable and len(self.hints) > 0)
        self.delete_action.setEnabled(usable and self.hints.selected >= 0)
        self.without_action.setEnabled(photo_shown)

    def set_tool(self, on: bool) -> None:
        self.view.set_hint_mode(bool(on))
        self.window.statusBar().showMessage(
            "Hint tool: click the photo to fix a colour; drag a hint to move it, right-click or Delete to remove it"
            if on else "", 6000)

    # ----------------------------------------------------------- what is shown

    def show_entry(self, entry) -> None:
        """A result is shown: its reach (the session has made its hints the edit, or kept a
        newer edit the user is making)."""
        self.show_reach(self.window.session.settings.get("reach", DEFAULT_REACH))
        self.without_action.setChecked(False)
        self.refresh_markers()

    def _on_reset(self) -> None:
        """Another result's hints replaced the edit's: an open popover's hint is gone."""
        if self.popover is not None:
            popover, self.popover = self.popover, None
            popover.close()
        self.refresh_markers()

    def refresh_markers(self) -> None:
        entry = self.window.session.shown
        markers = []
        for hint in self.hints.hints:
            lightness = self._lightness_at(entry, hint.x, hint.y) if entry is not None else 60.0
            markers.append((hint.x, hint.y, lab_colour(lightness, hint.a, hint.b)))
        self.view.set_markers(markers, self.hints.selected)
        self.window.update_actions()

    def show_without_hints(self, on: bool) -> None:
        """The same photo's result without hints and reference photo, or back to the result."""
        entry = self.window.session.shown
        if entry is None or not entry.available:
            return
        base = entry.base_display if on and entry.base_display is not None else entry.reply.result_display
        self.view.set_images(entry.reply.original_display, base, keep_view=True)
        if on:
            self.view.set_markers([], -1)
        else:
            self.refresh_markers()

    # ----------------------------------------------------------------- editing

    def _on_place(self, x: float, y: float) -> None:
        entry = self.window.session.shown
        if entry is None or not entry.available:
            return
        index = self.window.session.place_hint(x, y, *self._ab_at(entry, x, y))
        if index >= 0:
            self._open_popover(index, entry)

    def _on_pressed(self, index: int) -> None:
        self.hints.select(index)

    def _on_moved(self, index: int, x: float, y: float, final: bool) -> None:
        self.hints.move(index, x, y, final)
        if final:
            return
        self.refresh_markers()

    def recolour(self, index: int) -> None:
        """A click on a hint (not a drag): choose its colour again."""
        entry = self.window.session.shown
        if 0 <= index < len(self.hints) and entry is not None and entry.available:
            self.hints.select(index)
            self._open_popover(index, entry)

    def delete_selected(self) -> None:
        self.hints.remove(self.hints.selected)

    def _open_popover(self, index: int, entry) -> None:
        hint = self.hints.hints[index]
        lightness = self._lightness_at(entry, hint.x, hint.y)
        model_ab = self._ab_at(entry, hint.x, hint.y, without_hints=True)
        self.popover = ColourPopover(lightness, (hint.a, hint.b), model_ab, self.hints.recent_colours,
                                     self.reference_photo, self.window)
        self.popover.chosen.connect(lambda a, b, final, i=index: self._on_colour(i, a, b, final))
        popover = self.popover
        self.popover.destroyed.connect(lambda *_: self._on_popover_closed(popover))
        self.popover.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        where = self.view.mapToGlobal(self.view.image_to_widget(QPointF(hint.x, hint.y)).toPoint())
        self.popover.move(where.x() + 16, where.y() + 16)
        self.popover.show()

    def _on_colour(self, index: int, a: float, b: float, final: bool) -> None:
        if self.popover is not None and self.popover.reference is not None:
            self.reference_photo = self.popover.reference
        if 0 <= index < len(self.hints) and final:
            self.hints.recolour(index, a, b)

    def _on_popover_closed(self, popover) -> None:
        if self.popover is popover:
            self.popover = None
        self.hints.keep_pending()  # dismissed: a new hint keeps the model's colour, pinned

    # ---------------------------------------------------------------- reading

    @staticmethod
    def _lightness_at(entry, x: float, y: float) -> float:
        lightness = entry.reply.image.lightness
        row = min(max(int(y), 0), lightness.shape[0] - 1)
        column = min(max(int(x), 0), lightness.shape[1] - 1)
        return float(lightness[row, column])

    @staticmethod
    def _ab_at(entry, x: float, y: float, without_hints: bool = False) -> tuple[float, float]:
        """The chroma the shown result has at a point (the un-hinted one's, if asked and known)."""
        from autochrome.engine import color

        rgb = entry.base_rgb if without_hints and entry.base_rgb is not None else entry.reply.rgb
        scale = rgb.shape[1] / entry.reply.image.lightness.shape[1]
        row = min(max(int(y * scale), 0), rgb.shape[0] - 1)
        column = min(max(int(x * scale), 0), rgb.shape[1] - 1)
        patch = rgb[max(row - 1, 0) : row + 2, max(column - 1, 0) : column + 2].reshape(-1, 1, 3)
        lab = color.rgb_to_lab(patch).reshape(-1, 3)
        return float(lab[:, 1].mean()), float(lab[:, 2].mean())

