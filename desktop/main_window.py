"""The main window: open photos, see them colorized in a split view, adjust, save."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
)

from autochrome.engine import __version__
from autochrome.engine.batch import expand_inputs

from .empty_state import EmptyState, sample_photo
from .hint_controller import PREVIEW_SIZE, HintController
from .history import History, HistoryEntry
from .panels import AdjustPanel, HistoryPanel, QueuePanel
from .saving import (
    SAVE_FILTERS,
    comparison_rgb,
    export_name,
    format_for_path,
    is_same_file,
)
from .settings import Key, Settings
from .split_view import SplitView
from .worker import EngineThread

OPEN_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif *.pgm *.ppm);;All files (*)"
SETTINGS_DEBOUNCE_MS = 250
SAVE_WAIT_ON_CLOSE_S = 120


@dataclass
class QueueItem:
    label: str
    row: QListWidgetItem
    source: Path | None = None
    data: bytes | None = None
    status: str = "waiting"


@dataclass
class ActiveRequest:
    request_id: int
    item: QueueItem | None  # None for a re-colorization of the shown photo


class MainWindow(QMainWindow):
    resultShown = Signal(object)  # HistoryEntry
    previewShown = Signal(object)  # ColorizeReply of a quick hint preview
    fileSaved = Signal(str)
    errorShown = Signal(str)
    modelReady = Signal(str)

    def __init__(self, settings: Settings | None = None, quiet: bool = False):
        super().__init__()
        self.setWindowTitle("Autochrome")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.quiet = quiet  # smoke tests: errors go to stderr, never to a modal dialog
        self.history = History()
        self.engine = EngineThread(self)
        self.model_ready = False
        self.model_name = ""
        self._queue: list[QueueItem] = []
        self._active: ActiveRequest | None = None
        self._pending_saves: dict[int, HistoryEntry | None] = {}
        self._save_notes: dict[int, str] = {}  # where a save's hints went, when not beside the photo
        self._failures: list[str] = []
        self._finetune_dialog = None
        self._recolor_timer = QTimer(self, singleShot=True, interval=SETTINGS_DEBOUNCE_MS)
        self._recolor_timer.timeout.connect(self.recolorize)

        self.view = SplitView()
        self.setCentralWidget(self.view)
        self.empty_state = EmptyState()
        self.view.set_empty_widget(self.empty_state)
        self.adjust = AdjustPanel()
        self.history_panel = HistoryPanel()
        self.queue_panel = QueuePanel()
        self._add_dock("Adjust", self.adjust, "adjust")
        self._add_dock("History", self.history_panel, "history")
        self._add_dock("Queue", self.queue_panel, "queue")
        self._create_status_bar()
        self._create_actions()
        self.hint_tool = HintController(self)
        self._create_menus()
        self._connect()
        self._restore_settings()
        if self.settings.problem:
            self.statusBar().showMessage(self.settings.problem, 15000)
        self._update_actions()
        # The engine starts after the window is up: torch loads on the worker thread.
        QTimer.singleShot(0, self._start_engine)

    # ------------------------------------------------------------------ build

    def _add_dock(self, title, widget, name):
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{name}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def _create_status_bar(self):
        self.model_label = QLabel("Loading model...")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        bar = self.statusBar()
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        bar.addPermanentWidget(self.model_label)

    def _action(self, text, slot, shortcut=None, tip=None):
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _create_actions(self):
        S = QKeySequence.StandardKey
        self.open_action = self._action("&Open...", self.choose_files, S.Open, "Open photos to colorize")
        self.sample_action = self._action("Open &Sample Photo", self.open_sample, None,
                                          "Open a black-and-white photo that ships with Autochrome")
        self.paste_action = self._action("&Paste Image", self.paste, S.Paste, "Colorize the image on the clipboard")
        self.save_action = self._action("&Save", self.save, S.Save, "Save the shown result")
        self.save_as_action = self._action("Save &As...", self.save_as, S.SaveAs, "Save the shown result as...")
        self.export_all_action = self._action("&Export All...", self.export_all, "Ctrl+E", "Save every photo's latest result")
        self.export_comparison_action = self._action("Export &Before/After...", self.export_comparison, None,
                                                     "Save the original and the result side by side")
        self.quit_action = self._action("&Quit", self.close, S.Quit)
        self.undo_action = self._action("&Undo", self.history.undo, S.Undo, "Show the previous result")
        self.redo_action = self._action("&Redo", self.history.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
                                        "Show the next result")
        self.fit_action = self._action("&Fit to Window", self.view.fit, [QKeySequence("Ctrl+0"), QKeySequence("F")])
        self.actual_action = self._action("&Actual Size (100%)", self.view.actual_size, "Ctrl+1")
        self.zoom_in_action = self._action("Zoom &In", lambda: self.view.set_zoom(self.view.zoom * 1.25), S.ZoomIn)
        self.zoom_out_action = self._action("Zoom &Out", lambda: self.view.set_zoom(self.view.zoom / 1.25), S.ZoomOut)
        self.toggle_action = self._action("&Before/After", self.view.toggle_before_after, [QKeySequence("B"), QKeySequence("\\")],
                                          "Show only the original, or the split view")
        self.toggle_action.setCheckable(True)
        self.cancel_action = self._action("&Cancel", self.cancel, "Esc", "Stop colorizing")
        self.about_action = self._action("&About Autochrome", self.about)
        self.models_action = self._action("&Manage Models...", self.open_models,
                                          tip="Rename, delete, export or import your models")
        self.finetune_action = self._action("&Fine-tune on Folder...", self.open_finetune,
                                            tip="Teach the model a folder of your own colour photos")

    def _create_menus(self):
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addAction(self.sample_action)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        for action in (self.save_action, self.save_as_action, self.export_all_action, self.export_comparison_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.cancel_action)
        hints_menu = menu.addMenu("H&ints")
        for action in self.hint_tool.actions:
            hints_menu.addAction(action)
        toolbar = self.addToolBar("Tools")
        toolbar.setObjectName("toolbar-tools")
        toolbar.addAction(self.open_action)
        toolbar.addSeparator()
        for action in (self.hint_tool.tool_action, self.hint_tool.clear_action, self.hint_tool.without_action):
            toolbar.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (self.fit_action, self.actual_action, self.zoom_in_action, self.zoom_out_action, self.toggle_action):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        self.tools_menu = menu.addMenu("&Tools")
        self.tools_menu.addAction(self.finetune_action)
        self.tools_menu.addAction(self.models_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.about_action)

    def _connect(self):
        worker = self.engine.worker
        worker.modelsListed.connect(self._on_models_listed)
        worker.modelLoaded.connect(self._on_model_loaded)
        worker.modelFailed.connect(self._on_model_failed)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.saved.connect(self._on_saved)
        worker.saveFailed.connect(self._on_save_failed)
        self.history.currentChanged.connect(self._on_history_current)
        self.history.changed.connect(lambda: self.history_panel.show_history(self.history))
        self.history_panel.currentRowChanged.connect(self.history.select)
        self.adjust.settingsChanged.connect(self._recolor_timer.start)
        self.adjust.modelChanged.connect(self._on_model_chosen)
        self.cancel_button.clicked.connect(self.cancel)
        self.empty_state.openRequested.connect(self.choose_files)
        self.empty_state.sampleRequested.connect(self.open_sample)
        self.view.viewChanged.connect(lambda: self.toggle_action.setChecked(self.view.show_before_only))

    def _restore_settings(self):
        geometry = self.settings.store.value(Key.GEOMETRY.value)
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = self.settings.store.value(Key.STATE.value)
        if state is not None:
            self.restoreState(state)
        self.adjust.set_values(self.settings.get(Key.SATURATION), self.settings.get(Key.RENDER_SIZE),
                               self.settings.get(Key.DEVICE), self.settings.get(Key.JPEG_QUALITY))

    def _store_settings(self):
        self.settings.set(Key.GEOMETRY, self.saveGeometry())
        self.settings.set(Key.STATE, self.saveState())
        values = self.adjust.colorize_settings()
        self.settings.set(Key.SATURATION, values["saturation"])
        self.settings.set(Key.RENDER_SIZE, values["render_size"])
        self.settings.set(Key.DEVICE, self.adjust.device_key())
        self.settings.set(Key.JPEG_QUALITY, self.adjust.jpeg_quality.value())
        if self.model_name:
            self.settings.set(Key.MODEL, self.model_name)
        self.settings.store.sync()

    # ----------------------------------------------------------------- engine

    def _start_engine(self):
        self.engine.list_models()
        self.engine.load_model(self.settings.get(Key.MODEL), self.settings.get(Key.DEVICE))

    def _on_models_listed(self, models):
        self.adjust.set_models(models, self.model_name or self.settings.get(Key.MODEL) or "autochrome-default")

    def _on_model_chosen(self, model, device):
        self.model_ready = False
        self.model_label.setText(f"Loading {model or 'model'}...")
        self._update_actions()
        self.engine.load_model(model, device)

    def _on_model_loaded(self, name, device, temperature=-1.0):
        reloaded = bool(self.model_name)
        self.model_ready = True
        self.adjust.set_vibrance(temperature)
        self.model_name = name
        self.model_label.setText(f"Model: {name}  |  {device}")
        if not self.adjust.select_model(name):
            self.engine.list_models()  # a model the list has not seen yet
        self.modelReady.emit(name)
        self._update_actions()
        if reloaded and self._active is None and self.history.entry() is not None:
            self.recolorize()
        self._pump()

    def _on_model_failed(self, message):
        self.show_error("Could not load the model", message)
        if self.model_name:
            self.model_ready = True  # the previous model is still loaded and usable
            self.model_label.setText(f"Model: {self.model_name} (the switch failed)")
        else:
            self.model_label.setText("No model loaded")
        self._pump()  # photos opened meanwhile must not wait forever

    # ------------------------------------------------------------------ open

    def choose_files(self):
        start = self.settings.get(Key.OPEN_FOLDER) or str(Path.home())
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", start, OPEN_FILTER)
        if files:
            self.settings.set(Key.OPEN_FOLDER, str(Path(files[0]).parent))
            self.open_paths([Path(f) for f in files])

    def open_paths(self, paths) -> int:
        """Queue photos (folders contribute the photos inside). Returns how many were queued."""
        queued = 0
        for path in map(Path, paths):
            if path.is_dir():
                # The command line's rule for folders: photos in subfolders too, hidden ones left out.
                found, unreadable = expand_inputs([path], recursive=True, report_unreadable=True)
                files = [file for file, _ in found]
                if unreadable:
                    self.show_error("Some folders could not be read",
                                    "\n".join(f"{folder}: {reason}" for folder, reason in unreadable[:15]))
                elif not files:
                    self.show_error("No photos found", f"{path} holds no photos Autochrome can open.")
                for file in files:
                    self._enqueue(QueueItem(file.name, self.queue_panel.add(file.name), source=file))
                    queued += 1
            else:
                self._enqueue(QueueItem(path.name, self.queue_panel.add(path.name), source=path))
                self.settings.add_recent(str(path))
                queued += 1
        self._pump()
        return queued

    def open_sample(self):
        sample = sample_photo()
        if not sample.is_file():
            self.show_error("No sample photo", f"The sample photo is missing from this installation ({sample}).")
            return
        self.open_paths([sample])

    def paste(self):
        mime = QApplication.clipboard().mimeData()
        if mime is not None and mime.hasUrls() and any(url.isLocalFile() for url in mime.urls()):
            self.open_paths([Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()])
            return
        image = QApplication.clipboard().image()
        if image.isNull():
            self.show_error("Nothing to paste", "The clipboard holds no image.")
            return
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        buffer.close()
        label = f"Pasted image {image.width()}x{image.height()}"
        self._enqueue(QueueItem(label, self.queue_panel.add(label), data=bytes(data.data())))
        self._pump()

    def _enqueue(self, item: QueueItem):
        self._queue.append(item)

    def _fill_recent_menu(self):
        self.recent_menu.clear()
        recent = self.settings.get(Key.RECENT)
        if not recent:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for path in recent:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_paths([Path(p)]))

    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    # ------------------------------------------------------------- colorizing

    def _pump(self):
        """Start the next queued photo when the engine is free."""
        if self._active is not None or not self.model_ready:
            self._update_actions()
            return
        waiting = next((item for item in self._queue if item.status == "waiting"), None)
        if waiting is None:
            self._queue.clear()
            self._report_failures()
            self._update_actions()
            return
        waiting.status = "colorizing"
        QueuePanel.set_status(waiting.row, "colorizing")
        request_id = self.engine.submit(self.adjust.colorize_settings(), source=waiting.source, data=waiting.data,
                                        label=waiting.label, use_sidecar=True)
        self._start_progress(ActiveRequest(request_id, waiting), waiting.label)

    def recolorize(self):
        """Colorize the shown photo again with the current settings; the newest request wins."""
        entry = self.history.entry()
        if entry is None or not entry.available or not self.model_ready:
            return
        if self._active is not None and self._active.item is not None:
            return  # a batch is running; the new settings apply to the photos still waiting
        reply = entry.reply
        request_id = self.engine.submit(self.adjust.colorize_settings(), source=reply.source, image=reply.image,
                                        label=reply.label, original_display=reply.original_display,
                                        hints=list(self.hint_tool.hints.hints))
        self._start_progress(ActiveRequest(request_id, None), entry.title)

    def _restore(self, entry) -> None:
        """Rebuild a result whose pixels were let go, from its kept colour and the photo's L
        (no model run, so it is the same result whatever model is chosen now)."""
        if self._active is not None and self._active.item is not None:
            return  # a batch is running; choosing the entry again later restores it
        # The same photo may still be open in a newer result: share its decoded pixels.
        same_photo = next((e.reply for e in reversed(self.history.entries)
                           if e.available and entry.source is not None and e.reply.source == entry.source), None)
        image = same_photo.image if same_photo is not None else entry.pasted_image
        request_id = self.engine.submit(entry.settings, source=entry.source, image=image, label=entry.title,
                                        original_display=same_photo.original_display if same_photo else None,
                                        hints=entry.hints, ab_small=entry.ab_small, restores=entry)
        self._start_progress(ActiveRequest(request_id, None), entry.title)

    def render_hints(self, hints: list, preview: bool) -> None:
        """Colorize the shown photo with these hints: a quick preview or the full result."""
        entry = self.history.entry()
        if entry is None or not entry.available or not self.model_ready:
            return
        if self._active is not None and self._active.item is not None:
            return  # a batch is running; the hint tool is off meanwhile
        reply = entry.reply
        request_id = self.engine.submit(self.adjust.colorize_settings(), source=reply.source, image=reply.image,
                                        label=reply.label, original_display=reply.original_display, hints=hints,
                                        preview_size=PREVIEW_SIZE if preview else 0)
        self._start_progress(ActiveRequest(request_id, None), entry.title)

    def update_actions(self) -> None:
        self._update_actions()

    def _start_progress(self, active: ActiveRequest, label: str):
        self._active = active
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.statusBar().showMessage(f"Colorizing {label}...")
        if self.history.entry() is None:
            self.view.set_placeholder(f"Colorizing {label}...")
        self._update_actions()

    def _finish_progress(self):
        self._active = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)

    def _is_active(self, request_id) -> bool:
        return self._active is not None and self._active.request_id == request_id

    def _on_progress(self, request_id, fraction, message):
        if self._is_active(request_id):
            self.progress.setValue(int(fraction * 100))
            self.progress.setFormat(f"{message} %p%")

    def _on_finished(self, reply):
        if not self._is_active(reply.request_id):
            return  # a stale result: a newer request replaced it
        if reply.preview:
            self._finish_progress()
            self.view.set_images(reply.original_display, reply.result_display, keep_view=True)
            self.previewShown.emit(reply)
            self.hint_tool.preview_shown()
            self._update_actions()
            return
        item = self._active.item
        if item is not None:
            item.status = "done"
            QueuePanel.set_status(item.row, "done")
        if reply.restores is not None:
            self._finish_progress()
            if reply.restores in self.history.entries:
                self.history.restored(reply.restores, reply)
            self._update_actions()
            self._pump()
            return
        title = reply.label or (reply.source.name if reply.source else "image")
        entry = HistoryEntry.of(reply, title, thumbnail=reply.result_display.thumbnail())
        base = self.history.base_for(reply.image) if reply.hints else None
        if base is not None:
            entry.base_display, entry.base_rgb = base.reply.result_display, base.reply.rgb
        self._finish_progress()
        self.history.add(entry)
        message = f"Colorized {title} with {reply.model_name}"
        if reply.notes:
            message += " (" + "; ".join(reply.notes) + ")"
        self.statusBar().showMessage(message, 8000)
        self.resultShown.emit(entry)
        self._pump()

    def _on_failed(self, request_id, message):
        if not self._is_active(request_id):
            return
        item = self._active.item
        if item is None:
            self.hint_tool.render_ended()
        self._finish_progress()
        if item is not None:
            item.status = "failed"
            QueuePanel.set_status(item.row, f"failed: {message}")
            self._failures.append(message if item.label in message else f"{item.label}: {message}")
        else:
            self.show_error("Could not colorize", message)
        self.statusBar().showMessage("Colorizing failed", 5000)
        self._pump()

    def _on_cancelled(self, request_id):
        if not self._is_active(request_id):
            return
        item = self._active.item
        if item is None:
            self.hint_tool.render_ended()
        self._finish_progress()
        if item is not None:
            item.status = "cancelled"
            QueuePanel.set_status(item.row, "cancelled")
        self.statusBar().showMessage("Cancelled", 3000)
        self._pump()

    def cancel(self):
        """Stop the running photo and drop the ones still waiting."""
        for item in self._queue:
            if item.status == "waiting":
                item.status = "cancelled"
                QueuePanel.set_status(item.row, "cancelled")
        if self._active is not None:
            self.engine.cancel(self._active.request_id)

    def _report_failures(self):
        if not self._failures:
            return
        failures, self._failures = self._failures, []
        shown = failures[:15] + ([f"... and {len(failures) - 15} more"] if len(failures) > 15 else [])
        self.show_error("Some photos could not be colorized", "\n".join(shown))

    # ---------------------------------------------------------------- history

    def _on_history_current(self, index):
        entry = self.history.entry()
        if entry is not None and entry.restorable:
            self._restore(entry)
        elif entry is not None and not entry.available:
            self.statusBar().showMessage(f"This older result of {entry.title} was let go to keep memory in bounds; "
                                         "open the photo again to colorize it anew", 8000)
        if entry is None or not entry.available:
            return
        self.view.set_images(entry.reply.original_display, entry.reply.result_display, keep_view=True)
        self.hint_tool.show_entry(entry)
        self.history_panel.blockSignals(True)
        self.history_panel.setCurrentRow(index)
        self.history_panel.blockSignals(False)
        self.setWindowTitle(f"{entry.title} - Autochrome")
        self._update_actions()

    # ------------------------------------------------------------------ save

    def save(self):
        entry = self.history.entry()
        if entry is None or not entry.available:
            return
        if entry.saved_to:
            self.save_to(Path(entry.saved_to), entry)
        else:
            self.save_as()

    def save_as(self):
        entry = self.history.entry()
        if entry is None or not entry.available:
            return
        source = entry.reply.source
        folder = self.settings.get(Key.SAVE_FOLDER) or (str(source.parent) if source else str(Path.home()))
        suggested = Path(folder) / export_name(entry.title, source)
        path, chosen_filter = QFileDialog.getSaveFileName(self, "Save colorized photo", str(suggested), SAVE_FILTERS)
        if path:
            self.save_to(Path(path), entry, chosen_filter)

    def save_to(self, path: Path, entry: HistoryEntry | None = None, chosen_filter: str = "") -> int | None:
        entry = entry or self.history.entry()
        if entry is None or not entry.available:
            return None
        path, image_format = format_for_path(path, chosen_filter)
        if image_format is None:
            self.show_error("Cannot save", f"{path.name}: unknown file type; use .png, .jpg, .tif or .webp")
            return None
        if entry.reply.source is not None and is_same_file(path, entry.reply.source):
            answer = QMessageBox.question(
                self, "Replace the original photo?",
                f"{path.name} is the original photo. Replacing it loses the original for good.\n\nReplace it?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return None
        request_id = self.engine.save(path, image_format, entry.reply.rgb, entry.reply.image, self.adjust.jpeg_quality.value())
        self._pending_saves[request_id] = entry
        self.statusBar().showMessage(f"Saving {path.name}...")
        note = self._save_edit(entry)
        if note:
            self._save_notes[request_id] = note
        return request_id

    def _save_edit(self, entry: HistoryEntry) -> str | None:
        """Keep the photo's hints and settings beside it (its sidecar), so opening it again, or
        `autochrome colorize` on its folder, gives the same result."""
        from autochrome.engine import sidecar

        source = entry.reply.source
        if source is None or not source.is_file() or (not entry.hints and sidecar.find(source) is None):
            return None
        settings = entry.reply.settings
        edit = sidecar.PhotoEdit(list(entry.hints), model=entry.model_name, render_size=settings.get("render_size"),
                                 saturation=settings.get("saturation"), vibrance=settings.get("temperature"))
        lightness = entry.reply.image.lightness
        at = lambda x, y: float(lightness[min(int(y), lightness.shape[0] - 1), min(int(x), lightness.shape[1] - 1)])  # noqa: E731
        try:
            written = sidecar.write(source, edit, at)
        except OSError as exc:
            self.show_error("Could not keep the hints", f"{source.name}: {exc.strerror or exc}")
            return None
        if written != sidecar.beside(source):
            return f"{source.parent} is read-only: the hints of {source.name} are kept in {written}"
        return None

    def export_all(self):
        entries = self.history.latest_per_photo()
        if not entries:
            return
        folder = QFileDialog.getExistingDirectory(self, "Export all results to", self.settings.get(Key.SAVE_FOLDER) or str(Path.home()))
        if not folder:
            return
        taken = set()
        for entry in entries:
            target = Path(folder) / export_name(entry.title, entry.reply.source)
            stem, suffix, counter = target.stem, target.suffix, 2
            # Never overwrite: an existing file or an input gets a numbered name instead.
            while target.exists() or str(target) in taken or (entry.reply.source and is_same_file(target, entry.reply.source)):
                target = target.with_name(f"{stem}-{counter}{suffix}")
                counter += 1
            taken.add(str(target))
            self.save_to(target, entry)

    def export_comparison(self):
        entry = self.history.entry()
        if entry is None or not entry.available:
            return
        folder = self.settings.get(Key.SAVE_FOLDER) or str(Path.home())
        suggested = Path(folder) / (Path(export_name(entry.title, entry.reply.source)).stem + "-before-after.jpg")
        path, chosen_filter = QFileDialog.getSaveFileName(self, "Export before/after", str(suggested), SAVE_FILTERS)
        if not path:
            return
        path, image_format = format_for_path(Path(path), chosen_filter)
        if image_format is None or (entry.reply.source and is_same_file(path, entry.reply.source)):
            self.show_error("Cannot export", f"{path.name}: choose a new .png, .jpg, .tif or .webp file")
            return
        from autochrome.engine.image_io import LoadedImage

        rgb = comparison_rgb(entry.reply.image.lightness, entry.reply.rgb)
        plain = LoadedImage(None, entry.reply.image.lightness, 8, image_format)
        request_id = self.engine.save(path, image_format, rgb, plain, self.adjust.jpeg_quality.value())
        self._pending_saves[request_id] = None

    def _on_saved(self, request_id, path, notes):
        entry = self._pending_saves.pop(request_id, None)
        if entry is not None:
            entry.saved_to = path
        self.settings.set(Key.SAVE_FOLDER, str(Path(path).parent))
        notes = list(notes) + ([self._save_notes.pop(request_id)] if request_id in self._save_notes else [])
        self.statusBar().showMessage(f"Saved {path}" + (f" ({'; '.join(notes)})" if notes else ""), 12000)
        self.fileSaved.emit(path)

    def _on_save_failed(self, request_id, message):
        self._pending_saves.pop(request_id, None)
        self.show_error("Could not save", message)

    # -------------------------------------------------------------- fine-tune

    def open_finetune(self):
        from .finetune_dialog import FinetuneDialog

        if self._finetune_dialog is not None:
            self._finetune_dialog.raise_()
            return
        dialog = FinetuneDialog.ask(self, self.model_name)
        dialog.modelCreated.connect(lambda name: self.engine.list_models())
        dialog.destroyed.connect(lambda: setattr(self, "_finetune_dialog", None))
        self._finetune_dialog = dialog

    def open_models(self):
        from .models_dialog import ModelsDialog

        dialog = ModelsDialog(self)
        dialog.modelsChanged.connect(self.engine.list_models)
        dialog.exec()

    # ----------------------------------------------------------------- misc

    def show_error(self, title: str, message: str):
        self.errorShown.emit(message)
        if self.quiet:
            print(f"{title}: {message}", file=sys.stderr)
        else:
            QMessageBox.warning(self, title, message)

    def about(self):
        QMessageBox.about(self, "About Autochrome",
                          f"Autochrome {__version__}\nColorizes black-and-white photos at their full resolution.")

    def _update_actions(self):
        entry = self.history.entry()
        has_result = entry is not None and entry.available
        for action in (self.save_action, self.save_as_action, self.export_comparison_action):
            action.setEnabled(has_result)
        self.export_all_action.setEnabled(bool(self.history.latest_per_photo()))
        self.undo_action.setEnabled(self.history.can_undo())
        self.redo_action.setEnabled(self.history.can_redo())
        self.cancel_action.setEnabled(self._active is not None)
        self.adjust.again.setEnabled(has_result and self.model_ready)
        batch = self._active is not None and self._active.item is not None
        self.hint_tool.update_actions(has_result and self.model_ready, batch or any(
            item.status == "waiting" for item in self._queue))

    def closeEvent(self, event):
        dialog = self._finetune_dialog
        if dialog is not None:
            dialog.close()  # asks first if a fine-tune is running; its progress is kept
            if dialog.training:
                event.ignore()
                return
        if self._pending_saves and not self._finish_saves():
            event.ignore()
            return
        if not self.quiet:  # a smoke test leaves the user's settings alone
            self._store_settings()
        self.engine.stop()
        super().closeEvent(event)

    def _finish_saves(self, wait_s: float = SAVE_WAIT_ON_CLOSE_S) -> bool:
        """Saves still queued when the window closes are finished first; if they take too
        long, the user decides. True when the window may close."""
        import time

        from PySide6.QtCore import QEventLoop

        self.engine.interrupt()  # a running colorize gives way to the saves
        self.statusBar().showMessage(f"Finishing {len(self._pending_saves)} save(s) before closing...")
        deadline = time.monotonic() + wait_s
        while self._pending_saves and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if not self._pending_saves:
            return True
        answer = QMessageBox.question(
            self, "Saves not finished",
            f"{len(self._pending_saves)} result(s) are still being saved. Close anyway and lose them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes
