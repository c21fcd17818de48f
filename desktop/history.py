"""Every result the user has seen, with undo/redo between them. No widgets here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .events import Event


# Full-resolution results are large (a 24 MP photo's result is ~360 MB: float pixels for
# saving plus 8-bit ones for the screen); once the results kept in memory pass this budget,
# the oldest drop their pixels and keep their thumbnail, settings, hints and their colour at
# render size, from which choosing them rebuilds them. The shown result is always kept.
HISTORY_BUDGET_BYTES = 1_500_000_000


def _nbytes(pixels) -> int:
    if isinstance(pixels, bytes):
        return len(pixels)
    return int(getattr(pixels, "nbytes", 0) or 0)  # numpy arrays and DisplayImage


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
    # What brings the result back once its pixels were let go: its colour at render size, and
    # the photo: its file, or for a pasted image its encoded bytes (a fraction of its pixels).
    ab_small: object = None
    source: object = None
    pasted_data: bytes | None = None
    reference: object = None  # engine.reference.ReferencePhoto the result took colours from
    restore: object = None  # engine.edit.RestoreEdit the result was restored with (None: not restored)

    @property
    def summary(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.created))
        saturation = self.settings.get("saturation", 1.0)
        size = self.settings.get("render_size", 0)
        return f"{self.title}\n{self.model_name}, saturation {saturation:.0%}, render {size}px, {stamp}"

    @classmethod
    def of(cls, reply, title: str, thumbnail=None) -> "HistoryEntry":
        return cls(reply, title, reply.model_name, reply.settings, thumbnail=thumbnail, hints=list(reply.hints),
                   ab_small=reply.ab_small, source=reply.source, reference=reply.reference,
                   restore=getattr(reply, "restore", None))

    @property
    def available(self) -> bool:
        return self.reply is not None

    @property
    def restorable(self) -> bool:
        return self.reply is None and self.ab_small is not None and (self.source is not None
                                                                     or self.pasted_data is not None)

    def pixel_buffers(self) -> list:
        """What this entry keeps in memory (shared ones, such as the photo, appear in several)."""
        if self.reply is None:
            return [self.ab_small, self.pasted_data, self.reference]
        reply = self.reply
        return [reply.rgb, reply.result_display, reply.original_display, getattr(reply.image, "lightness", None),
                self.base_rgb, self.base_display, self.ab_small, self.reference, getattr(reply, "damage", None)]

    def release(self) -> None:
        self.reply = self.base_display = self.base_rgb = None


class History:
    def __init__(self):
        self.changed = Event()  # entries added, or pixels let go or brought back
        self.current_changed = Event()  # (index)
        self.entries: list[HistoryEntry] = []
        self.current = -1

    def add(self, entry: HistoryEntry) -> None:
        self.entries.append(entry)
        self.current = len(self.entries) - 1
        self._keep_within_budget()
        self.changed.emit()
        self.current_changed.emit(self.current)

    def rebuilt(self, entry: HistoryEntry, reply) -> None:
        """An entry's pixels are back (see HistoryEntry.restorable)."""
        entry.reply = reply
        self._keep_within_budget()
        self.changed.emit()
        if self.entry() is entry:
            self.current_changed.emit(self.current)

    def _keep_within_budget(self) -> None:
        """Newest first; the shown entry is counted first and always kept."""
        counted, total = set(), 0
        shown = self.entry()
        order = ([shown] if shown is not None else []) + [e for e in reversed(self.entries) if e is not shown]
        for entry in order:
            if not entry.available:
                continue  # its kept colour is small (350 KB at render size 256)
            fresh = [b for b in entry.pixel_buffers() if b is not None and id(b) not in counted]
            size = sum(_nbytes(b) for b in fresh)
            if total and total + size > HISTORY_BUDGET_BYTES:
                entry.release()
                continue
            total += size
            counted.update(id(b) for b in fresh)

    @property
    def bytes_kept(self) -> int:
        """What the full results hold (the budget's measure)."""
        buffers = {id(b): b for e in self.entries if e.available for b in e.pixel_buffers() if b is not None}
        return sum(_nbytes(b) for b in buffers.values())

    def entry(self) -> HistoryEntry | None:
        return self.entries[self.current] if 0 <= self.current < len(self.entries) else None

    def select(self, index: int) -> None:
        if 0 <= index < len(self.entries) and index != self.current:
            self.current = index
            self.current_changed.emit(index)

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
        """The newest available result of the same photo (the same decoded image) without hints
        or a reference photo: what "compare without hints" shows."""
        for entry in reversed(self.entries):
            if entry.available and entry.reply.image is image and not entry.hints and entry.reference is None and not (
                    entry.restore is not None and entry.restore.enabled):
                return entry
        return None

    def latest_per_photo(self) -> list[HistoryEntry]:
        """The newest available result of each photo, oldest photo first (for Export all)."""
        seen = {}
        for entry in self.entries:
            if entry.available:
                # A file is one photo however often it was opened; a pasted image is its own
                # (two pastes of the same size share a title, not a photo).
                seen[entry.reply.source or id(entry.reply.image)] = entry
        return list(seen.values())
