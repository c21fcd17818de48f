"""Every result the user has seen, with undo/redo between them. No widgets here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal

# Full-resolution results are large (a 24 MP photo is ~300 MB as floats); older entries
# beyond this many drop their pixels and keep their thumbnail and settings.
KEEP_FULL_RESULTS = 12


@dataclass
class HistoryEntry:
    reply: object  # desktop.worker.ColorizeReply; None once its pixels were released
    title: str
    model_name: str
    settings: dict
    created: float = field(default_factory=time.time)
    thumbnail: object = None  # QImage
    saved_to: str | None = None
    hints: list = field(default_factory=list)  # engine.hints.Hint, in the photo's pixels
    # The same photo's latest result without hints (for "compare without hints").
    base_display: object = None
    base_rgb: object = None

    @property
    def summary(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.created))
        saturation = self.settings.get("saturation", 1.0)
        size = self.settings.get("render_size", 0)
        return f"{self.title}\n{self.model_name}, saturation {saturation:.0%}, render {size}px, {stamp}"

    @property
    def available(self) -> bool:
        return self.reply is not None


class History(QObject):
    changed = Signal()
    currentChanged = Signal(int)

    def __init__(self):
        super().__init__()
        self.entries: list[HistoryEntry] = []
        self.current = -1

    def add(self, entry: HistoryEntry) -> None:
        self.entries.append(entry)
        self.current = len(self.entries) - 1
        full = [e for e in self.entries if e.available]
        for old in full[:-KEEP_FULL_RESULTS]:
            old.reply = old.base_display = old.base_rgb = None
        self.changed.emit()
        self.currentChanged.emit(self.current)

    def entry(self) -> HistoryEntry | None:
        return self.entries[self.current] if 0 <= self.current < len(self.entries) else None

    def select(self, index: int) -> None:
        if 0 <= index < len(self.entries) and index != self.current:
            self.current = index
            self.currentChanged.emit(index)

    def can_undo(self) -> bool:
        return self.current > 0

    def can_redo(self) -> bool:
        return self.current < len(self.entries) - 1

    def undo(self) -> None:
        if self.can_undo():
            self.select(self.current - 1)

    def redo(self) -> None:
        if self.can_redo():
            self.select(self.current + 1)

    def base_for(self, image) -> HistoryEntry | None:
        """The newest available result without hints of the same photo (the same decoded image)."""
        for entry in reversed(self.entries):
            if entry.available and entry.reply.image is image and not entry.hints:
                return entry
        return None

    def latest_per_photo(self) -> list[HistoryEntry]:
        """The newest available result of each photo, oldest photo first (for Export all)."""
        seen = {}
        for entry in self.entries:
            if entry.available:
                seen[entry.reply.source or entry.title] = entry
        return list(seen.values())
