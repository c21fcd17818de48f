"""The shown photo's colour hints: what the user placed, which one is selected, what changed.

A plain model object (no Qt) the view paints and the photo session turns into render requests. Every
edit says whether it is final ("commit": placed, moved to its end, recoloured, removed,
cleared) or live (a hint being dragged), so the window can render a quick preview while
the mouse moves and a full result, recorded in the history, when the edit is done.
"""

from __future__ import annotations

from dataclasses import replace

from autochrome.engine.hints import Hint

from .events import Event

MAX_RECENT_COLOURS = 8


class HintSet:
    def __init__(self):
        self.changed = Event()  # (final): an edit, True when finished, False while live (dragging)
        self.reset = Event()  # another result's hints are shown: not an edit
        self.selection_changed = Event()  # (index)
        self.hints: list[Hint] = []
        self.selected = -1
        self.recent_colours: list[tuple[float, float]] = []  # ab, newest first
        # A hint placed and not yet announced: it waits for its colour (photo_session.place_hint).
        self.pending = -1

    def __len__(self) -> int:
        return len(self.hints)

    def replace_all(self, hints: list[Hint]) -> None:
        """Show another result's hints (history, a newly opened photo): not an edit."""
        self.hints = list(hints)
        self.pending = -1
        self._select(-1)
        self.reset.emit()

    def add(self, x: float, y: float, a: float, b: float, announce: bool = True) -> int:
        """A new hint; its first colour is usually the model's own, so it is not a recent choice.
        With announce=False the edit is announced later (when its colour is chosen)."""
        self.hints.append(Hint(x, y, a, b))
        self._select(len(self.hints) - 1)
        if announce:
            self.changed.emit(True)
        else:
            self.pending = self.selected
        return self.selected

    def move(self, index: int, x: float, y: float, final: bool) -> None:
        self.hints[index] = replace(self.hints[index], x=x, y=y)
        self.changed.emit(final)

    def recolour(self, index: int, a: float, b: float) -> None:
        if index == self.pending:
            self.pending = -1
        self.hints[index] = replace(self.hints[index], a=a, b=b)
        self._remember(a, b)
        self.changed.emit(True)

    def remove(self, index: int) -> None:
        if 0 <= index < len(self.hints):
            del self.hints[index]
            self.pending = -1 if index == self.pending else self.pending - (index < self.pending)
            self._select(-1)
            self.changed.emit(True)

    def clear(self) -> None:
        if self.hints:
            self.hints = []
            self.pending = -1
            self._select(-1)
            self.changed.emit(True)

    def keep_pending(self) -> None:
        """The pending hint's colour was not chosen: it keeps the one it was placed with (the
        model's own, now pinned), and the edit is announced."""
        if self.pending >= 0:
            self.pending = -1
            self.changed.emit(True)

    def select(self, index: int) -> None:
        self._select(index if 0 <= index < len(self.hints) else -1)

    def _select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.selection_changed.emit(index)

    def _remember(self, a: float, b: float) -> None:
        colour = (round(a, 1), round(b, 1))
        self.recent_colours = [colour] + [c for c in self.recent_colours if c != colour]
        del self.recent_colours[MAX_RECENT_COLOURS:]
