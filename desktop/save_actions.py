"""Saving results from the window: Save, Save As, Export All, Export Before/After, the
photo's edit beside it, and finishing saves before the window closes. Saving runs on the
engine's thread; nothing here overwrites an original without the user's yes."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from autochrome.engine.edit import PhotoEdit
from autochrome.engine.job_plan import is_input

from .save_rules import SAVE_FILTERS, export_name, format_for_path
from .settings import Key

SAVE_WAIT_ON_CLOSE_S = 120


class SaveActions(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.pending: dict[int, object] = {}  # request id -> history entry (None: a before/after)
        self._notes: dict[int, str] = {}  # where a save's edit went, when not beside the photo
        worker = window.engine.worker
        worker.saved.connect(self._on_saved)
        worker.saveFailed.connect(self._on_save_failed)

    @property
    def _entry(self):
        entry = self.window.session.shown
        return entry if entry is not None and entry.available else None

    def _originals(self) -> set:
        from autochrome.engine.job_plan import input_identities

        return input_identities(self.window.session.originals())

    def save(self) -> None:
        entry = self._entry
        if entry is not None:
            self.save_to(Path(entry.saved_to), entry) if entry.saved_to else self.save_as()

    def save_as(self) -> None:
        entry = self._entry
        if entry is None:
            return
        source = entry.reply.source
        folder = self.window.settings.get(Key.SAVE_FOLDER) or (str(source.parent) if source else str(Path.home()))
        suggested = Path(folder) / export_name(entry.title, source)
        path, chosen_filter = QFileDialog.getSaveFileName(self.window, "Save colorized photo", str(suggested),
                                                          SAVE_FILTERS)
        if path:
            self.save_to(Path(path), entry, chosen_filter)

    def save_to(self, path: Path, entry=None, chosen_filter: str = "") -> int | None:
        entry = entry or self._entry
        if entry is None or not entry.available:
            return None
        path, image_format = format_for_path(path, chosen_filter)
        if image_format is None:
            self.window.show_error("Cannot save", f"{path.name}: unknown file type; use .png, .jpg, .tif or .webp")
            return None
        if is_input(path, self._originals()):
            # An original is never replaced, even on request: a confirmation clicked in haste
            # would lose the one file the user cannot get back.
            self.window.show_error("Cannot save over the original",
                                   f"{path.name} is an original photo open in Autochrome, which it never replaces. "
                                   "Choose another name.")
            return None
        request_id = self.window.engine.save(path, image_format, entry.reply.rgb, entry.reply.image,
                                             self.window.adjust.jpeg_quality.value())
        self.pending[request_id] = entry
        self.window.statusBar().showMessage(f"Saving {path.name}...")
        note = self._save_edit(entry)
        if note:
            self._notes[request_id] = note
        return request_id

    def _save_edit(self, entry) -> str | None:
        """Keep the photo's hints, reference and settings beside it (its sidecar), so opening it
        again, or `autochrome colorize` on its folder, gives the same result."""
        from autochrome.engine import sidecar

        source = entry.reply.source
        has_edit = entry.hints or entry.reference is not None or entry.restore is not None and (
            entry.restore.enabled or entry.restore.strokes)
        if source is None or not source.is_file() or (not has_edit and sidecar.find(source) is None):
            return None
        reference = entry.reference.path if entry.reference is not None and entry.reference.path else None
        edit = PhotoEdit.of(self.window.session.colorize_settings_of(entry), entry.hints, entry.model_name,
                            str(Path(reference).resolve()) if reference else None, entry.restore)
        lightness = entry.reply.image.lightness

        def lightness_at(x, y):
            return float(lightness[min(int(y), lightness.shape[0] - 1), min(int(x), lightness.shape[1] - 1)])

        try:
            written = sidecar.write(source, edit, lightness_at)
        except OSError as exc:
            self.window.show_error("Could not keep the hints", f"{source.name}: {exc.strerror or exc}")
            return None
        if written != sidecar.beside(source):
            return f"the edit of {source.name} is kept in {written} (its folder is read-only or its name too long)"
        return None

    def export_all(self) -> None:
        entries = self.window.session.history.latest_per_photo()
        if not entries:
            return
        start = self.window.settings.get(Key.SAVE_FOLDER) or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self.window, "Export all results to", start)
        if not folder:
            return
        taken, originals = set(), self._originals()
        for entry in entries:
            target = Path(folder) / export_name(entry.title, entry.reply.source)
            stem, suffix, counter = target.stem, target.suffix, 2
            # Never overwrite: an existing file or an input gets a numbered name instead.
            while target.exists() or str(target) in taken or is_input(target, originals):
                target = target.with_name(f"{stem}-{counter}{suffix}")
                counter += 1
            taken.add(str(target))
            self.save_to(target, entry)

    def export_comparison(self) -> None:
        entry = self._entry
        if entry is None:
            return
        folder = self.window.settings.get(Key.SAVE_FOLDER) or str(Path.home())
        suggested = Path(folder) / (Path(export_name(entry.title, entry.reply.source)).stem + "-before-after.jpg")
        path, chosen_filter = QFileDialog.getSaveFileName(self.window, "Export before/after", str(suggested),
                                                          SAVE_FILTERS)
        if not path:
            return
        path, image_format = format_for_path(Path(path), chosen_filter)
        if image_format is None or is_input(path, self._originals()):
            self.window.show_error("Cannot export", f"{path.name}: choose a new .png, .jpg, .tif or .webp file")
            return
        request_id = self.window.engine.save(path, image_format, entry.reply.rgb, entry.reply.image,
                                             self.window.adjust.jpeg_quality.value(), comparison=True)
        self.pending[request_id] = None

    def _on_saved(self, request_id, path, notes) -> None:
        entry = self.pending.pop(request_id, None)
        if entry is not None:
            entry.saved_to = path
        self.window.settings.set(Key.SAVE_FOLDER, str(Path(path).parent))
        notes = list(notes) + ([self._notes.pop(request_id)] if request_id in self._notes else [])
        self.window.statusBar().showMessage(f"Saved {path}" + (f" ({'; '.join(notes)})" if notes else ""), 12000)
        self.window.fileSaved.emit(path)

    def _on_save_failed(self, request_id, message) -> None:
        self.pending.pop(request_id, None)
        self._notes.pop(request_id, None)
        self.window.statusBar().clearMessage()
        self.window.show_error("Could not save", message)

    def finish_before_closing(self, wait_s: float = SAVE_WAIT_ON_CLOSE_S) -> bool:
        """Saves still queued when the window closes are finished first; if they take too
        long, the user decides. True when the window may close."""
        if not self.pending:
            return True
        self.window.engine.interrupt()  # a running colorize gives way to the saves
        self.window.statusBar().showMessage(f"Finishing {len(self.pending)} save(s) before closing...")
        deadline = time.monotonic() + wait_s
        while self.pending and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not self.pending:
            return True
        answer = QMessageBox.question(
            self.window, "Saves not finished",
            f"{len(self.pending)} result(s) are still being saved. Close anyway and lose them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
