"""The main window: a view of the photo session (desktop.photo_session) and its intents.

What is open, shown and rendered next lives in the session; this window builds the widgets,
turns the user's gestures into the session's intents, forwards the engine's replies to it,
and paints what its events say.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QProgressBar, \
    QPushButton

from autochrome.engine import __version__

from .empty_state import EmptyState, sample_photo
from .hint_controller import HintController
from .restore_tool import RestoreController
from .panels import AdjustPanel, HistoryPanel, QueuePanel, ReferencePanel
from .photo_session import PhotoSession
from .save_actions import SaveActions
from .settings import Key, Settings, restore_window, store_window
from .split_view import SplitView
from .window_actions import WindowActions
from .worker import EngineThread

OPEN_FILTER = "Photos (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp *.gif *.pgm *.ppm);;All files (*)"
SETTINGS_DEBOUNCE_MS = 250


class MainWindow(QMainWindow):
    resultShown = Signal(object)  # HistoryEntry
    previewShown = Signal(object)  # the reply of a quick hint preview
    fileSaved = Signal(str)
    errorShown = Signal(str)
    modelReady = Signal(str)
    entryShown = Signal(object)  # HistoryEntry or None: the session's shown_changed, for Qt listeners

    def __init__(self, settings: Settings | None = None, quiet: bool = False):
        super().__init__()
        self.setWindowTitle("Autochrome")
        self.setAcceptDrops(True)
        self.settings = settings or Settings()
        self.quiet = quiet  # smoke tests: errors go to stderr, never to a modal dialog
        self.engine = EngineThread(self)
        self.session = PhotoSession(self.engine.submit, self.engine.cancel, {
            "render_size": self.settings.get(Key.RENDER_SIZE), "saturation": self.settings.get(Key.SATURATION),
            "temperature": None})
        self.model_name = ""
        self._finetune_dialog = None
        self._settings_timer = QTimer(self, singleShot=True, interval=SETTINGS_DEBOUNCE_MS)
        self._settings_timer.timeout.connect(lambda: self.session.set_settings(self.adjust.colorize_settings()))
        self._build()
        self._connect()
        restore_window(self)
        if self.settings.problem:
            self.statusBar().showMessage(self.settings.problem, 15000)
        self.update_actions()
        # The engine starts after the window is up: torch loads on the worker thread.
        QTimer.singleShot(0, self._start_engine)

    # ------------------------------------------------------------------ build

    def _build(self) -> None:
        self.view = SplitView()
        self.setCentralWidget(self.view)
        self.empty_state = EmptyState()
        self.view.set_empty_widget(self.empty_state)
        self.adjust, self.history_panel = AdjustPanel(), HistoryPanel()
        self.queue_panel, self.reference_panel = QueuePanel(), ReferencePanel()
        for title, widget, name in (("Adjust", self.adjust, "adjust"), ("Reference Photo", self.reference_panel,
                                    "reference"), ("History", self.history_panel, "history"),
                                    ("Queue", self.queue_panel, "queue")):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock-{name}")
            dock.setWidget(widget)
            dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                             | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.model_label = QLabel("Loading model...")
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        for widget in (self.progress, self.cancel_button, self.model_label):
            self.statusBar().addPermanentWidget(widget)
        self.saves = SaveActions(self)
        self.actions_ = WindowActions(self)
        self.hint_tool = HintController(self)
        self.restore_tool = RestoreController(self)
        self.actions_.build_menus(self)

    def _connect(self) -> None:
        worker, session = self.engine.worker, self.session
        worker.modelsListed.connect(self._on_models_listed)
        worker.modelLoaded.connect(self._on_model_loaded)
        worker.modelFailed.connect(self._on_model_failed)
        # Bound methods of this window, so that Qt delivers the worker's signals on this thread
        # (a plain function or another object's method would run on the worker's).
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.referenceLoaded.connect(self._on_reference_loaded)
        worker.referenceFailed.connect(self._on_reference_failed)
        session.busy_changed.connect(self._on_busy)
        session.item_changed.connect(lambda item: QueuePanel.set_status(item.row, item.status) if item.row else None)
        session.preview_ready.connect(self._on_preview)
        session.result_added.connect(self._on_result_added)
        session.shown_changed.connect(self._on_shown)
        session.failed.connect(self.show_error)
        session.batch_failed.connect(self._on_batch_failed)
        session.notice.connect(lambda message: self.statusBar().showMessage(message, 8000))
        session.history.changed.connect(lambda: self.history_panel.show_history(session.history))
        self.history_panel.currentRowChanged.connect(session.select)
        self.adjust.settingsChanged.connect(self._settings_timer.start)
        self.adjust.modelChanged.connect(self._on_model_chosen)
        self.reference_panel.chooseRequested.connect(self.choose_reference)
        self.reference_panel.clearRequested.connect(self.clear_reference)
        self.cancel_button.clicked.connect(session.cancel)
        self.empty_state.openRequested.connect(self.choose_files)
        self.empty_state.sampleRequested.connect(self.open_sample)
        self.view.viewChanged.connect(lambda: self.actions_.toggle.setChecked(self.view.show_before_only))

    # ----------------------------------------------------------------- engine

    def _start_engine(self) -> None:
        self.engine.list_models()
        self._last_used_model = self.settings.get(Key.MODEL)  # it may have been deleted or renamed since
        self.engine.load_model(self._last_used_model, self.settings.get(Key.DEVICE))

    def _on_models_listed(self, models) -> None:
        self.adjust.set_models(models, self.model_name or self.settings.get(Key.MODEL) or "autochrome-default")

    def _on_model_chosen(self, model, device) -> None:
        self.session.model_ready = False
        self.model_label.setText(f"Loading {model or 'model'}...")
        self.update_actions()
        self.engine.load_model(model, device)

    def _on_model_loaded(self, name, device, temperature=-1.0) -> None:
        reloaded = bool(self.model_name)
        self.adjust.set_vibrance(temperature)
        self.model_name = name
        self.model_label.setText(f"Model: {name}  |  {device}")
        if not self.adjust.select_model(name):
            self.engine.list_models()  # a model the list has not seen yet
        self.modelReady.emit(name)
        self.session.model_loaded(name, reloaded)
        self.update_actions()

    def _on_model_failed(self, message) -> None:
        if not self.model_name and getattr(self, "_last_used_model", ""):
            # The model used last time is gone: start with the default and say so, not with no model.
            missing, self._last_used_model = self._last_used_model, ""
            self.settings.set(Key.MODEL, "")
            self.statusBar().showMessage(f"The model last used ({Path(missing).stem}) could not be loaded "
                                         f"({message}); using the default model", 20000)
            self.engine.load_model("", self.settings.get(Key.DEVICE))
            return
        self.show_error("Could not load the model", message)
        self.model_label.setText(f"Model: {self.model_name} (the switch failed)" if self.model_name
                                 else "No model loaded")
        self.session.model_failed(still_loaded=bool(self.model_name))  # photos opened meanwhile must not wait

    # ------------------------------------------------------------------ open

    def choose_files(self) -> None:
        start = self.settings.get(Key.OPEN_FOLDER) or str(Path.home())
        files, _ = QFileDialog.getOpenFileNames(self, "Open photos", start, OPEN_FILTER)
        if files:
            self.settings.set(Key.OPEN_FOLDER, str(Path(files[0]).parent))
            self.open_paths([Path(f) for f in files])

    def open_paths(self, paths) -> int:
        """Queue photos (folders contribute the photos inside). Returns how many were queued."""
        paths = [Path(p) for p in paths]
        for path in paths:
            if not path.is_dir():
                self.settings.add_recent(str(path))
        items, problems = self.session.open_paths(paths)
        for item in items:
            item.row = self.queue_panel.add(item.label)
            QueuePanel.set_status(item.row, item.status)
        if problems:
            self.show_error("Some folders could not be used", "\n".join(problems[:15]))
        self.update_actions()
        return len(items)

    def open_sample(self) -> None:
        sample = sample_photo()
        if not sample.is_file():
            self.show_error("No sample photo", f"The sample photo is missing from this installation ({sample}).")
            return
        self.open_paths([sample])

    def paste(self) -> None:
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
        row = self.queue_panel.add(label)
        self.session.open_data(bytes(data.data()), label).row = row

    def fill_recent_menu(self) -> None:
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

    def choose_reference(self) -> None:
        start = self.settings.get(Key.OPEN_FOLDER) or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Choose a colour reference photo", start, OPEN_FILTER)
        if path:
            self.engine.load_reference(Path(path))

    def clear_reference(self) -> None:
        self.session.set_reference(None)
        self._show_reference()
        self.update_actions()

    # ------------------------------------------------- engine replies, on this thread

    def _on_finished(self, reply) -> None:
        self.session.finished(reply)

    def _on_failed(self, request_id, message) -> None:
        self.session.failed_request(request_id, message)

    def _on_cancelled(self, request_id) -> None:
        self.session.cancelled(request_id)

    def _on_reference_loaded(self, reference) -> None:
        self.session.set_reference(reference)
        self._show_reference()
        self.update_actions()

    def _on_reference_failed(self, message) -> None:
        self.show_error("Could not use that reference photo", message)

    # ----------------------------------------------------- the session's events

    def _on_progress(self, request_id, fraction, message) -> None:
        if self.session.is_current(request_id):
            self.progress.setValue(int(fraction * 100))
            self.progress.setFormat(f"{message} %p%")

    def _on_busy(self, request) -> None:
        busy = request is not None
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setValue(0)
            self.statusBar().showMessage(f"Colorizing {request.label or 'image'}...")
            if self.session.shown is None:
                self.view.set_placeholder(f"Colorizing {request.label or 'image'}...")
        self.update_actions()

    def _on_preview(self, reply) -> None:
        self.view.set_images(reply.original_display, reply.result_display, keep_view=True)
        self.restore_tool.show_overlay(reply)
        self.previewShown.emit(reply)
        self.update_actions()

    def _on_result_added(self, entry) -> None:
        message = f"Colorized {entry.title} with {entry.model_name}"
        if entry.reply.notes:
            message += " (" + "; ".join(entry.reply.notes) + ")"
        self.statusBar().showMessage(message, 8000)
        self.resultShown.emit(entry)

    def _on_shown(self, entry) -> None:
        self.entryShown.emit(entry)
        self.hint_tool.show_entry(entry)
        self.restore_tool.show_entry(entry)
        self._show_reference()
        if entry is None or not entry.available:
            self.update_actions()
            return
        self.view.set_images(entry.reply.original_display, entry.reply.result_display, keep_view=True)
        self.adjust.show_settings(entry.settings)  # the shown photo's own edit, e.g. from its sidecar
        self.history_panel.blockSignals(True)
        self.history_panel.setCurrentRow(self.session.history.current)
        self.history_panel.blockSignals(False)
        self.setWindowTitle(f"{entry.title} - Autochrome")
        self.update_actions()

    def _show_reference(self) -> None:
        self.reference_panel.show_reference(self.session.reference)

    def _on_batch_failed(self, failures) -> None:
        shown = failures[:15] + ([f"... and {len(failures) - 15} more"] if len(failures) > 15 else [])
        self.show_error("Some photos could not be colorized", "\n".join(shown))

    # -------------------------------------------------------------- dialogs

    def open_finetune(self) -> None:
        from .finetune_dialog import FinetuneDialog

        if self._finetune_dialog is not None:
            self._finetune_dialog.raise_()
            return
        dialog = FinetuneDialog.ask(self, self.model_name)
        dialog.modelCreated.connect(lambda name: self.engine.list_models())
        dialog.destroyed.connect(lambda: setattr(self, "_finetune_dialog", None))
        self._finetune_dialog = dialog

    def open_models(self) -> None:
        from .models_dialog import ModelsDialog

        ModelsDialog.ask(self, on_change=self.engine.list_models, engine=self.engine)

    def show_error(self, title: str, message: str) -> None:
        self.errorShown.emit(message)
        if self.quiet:
            print(f"{title}: {message}", file=sys.stderr)
        else:
            QMessageBox.warning(self, title, message)

    def about(self) -> None:
        QMessageBox.about(self, "About Autochrome",
                          f"Autochrome {__version__}\nColorizes black-and-white photos at their full resolution.")

    def update_actions(self) -> None:
        self.actions_.update(self)

    def closeEvent(self, event):
        dialog = self._finetune_dialog
        if dialog is not None:
            dialog.close()  # asks first if a fine-tune is running; its progress is kept
            if dialog.training:
                event.ignore()
                return
        if not self.saves.finish_before_closing():
            event.ignore()
            return
        if not self.quiet:  # a smoke test leaves the user's settings alone
            store_window(self)
        self.engine.stop()
        super().closeEvent(event)
