"""Tools > Manage Models: the user's models can be renamed, deleted, exported and imported."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from autochrome.engine import weights
from autochrome.engine.errors import ModelError

FILTER = "Autochrome model (*.safetensors)"


class ModelsDialog(QDialog):
    modelsChanged = Signal()

    def __init__(self, parent=None, engine=None):
        """`engine`: the window's desktop.worker.EngineThread, which imports off this thread."""
        super().__init__(parent)
        self.engine = engine
        self.setWindowTitle("Manage models")
        self.resize(560, 360)
        self.list = QListWidget()
        self.rename_button = QPushButton("Rename...")
        self.delete_button = QPushButton("Delete")
        self.export_button = QPushButton("Export...")
        self.import_button = QPushButton("Import...")
        close = QPushButton("Close")
        buttons = QHBoxLayout()
        for button in (self.rename_button, self.delete_button, self.export_button, self.import_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.rename_button.clicked.connect(self.rename)
        self.delete_button.clicked.connect(self.delete)
        self.export_button.clicked.connect(self.export)
        self.import_button.clicked.connect(self.import_file)
        close.clicked.connect(self.accept)
        self.list.currentRowChanged.connect(lambda _: self._update_buttons())
        if engine is not None:
            engine.worker.modelImported.connect(self._on_imported)
            engine.worker.modelImportFailed.connect(self._on_import_failed)
        self.importing = False
        self.refresh()

    @classmethod
    def ask(cls, parent=None, on_change=None, engine=None) -> "ModelsDialog":
        """Show the dialog until it is closed; `on_change()` runs after each change."""
        dialog = cls(parent, engine)
        if on_change is not None:
            dialog.modelsChanged.connect(on_change)
        dialog.exec()
        return dialog

    def refresh(self):
        self.list.clear()
        for info in weights.list_models():
            provenance = info.provenance
            facts = ", ".join(str(provenance[k]) for k in ("base_model", "photos", "steps", "date") if k in provenance)
            item = QListWidgetItem(f"{info.name}  [{info.origin}]\n    {info.description or ''} {f'({facts})' if facts else ''}")
            item.setData(Qt.ItemDataRole.UserRole, (info.name, info.origin))
            item.setToolTip("\n".join(f"{k}: {v}" for k, v in sorted(provenance.items())))
            self.list.addItem(item)
        self._update_buttons()

    def _selected(self):
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else (None, None)

    def _update_buttons(self):
        name, origin = self._selected()
        self.rename_button.setEnabled(origin == "user")
        self.delete_button.setEnabled(origin == "user")
        self.export_button.setEnabled(name is not None)
        self.import_button.setEnabled(not self.importing)

    def _apply(self, action):
        try:
            action()
        except (ModelError, OSError) as exc:
            QMessageBox.warning(self, "Models", str(exc))
            return
        self.refresh()
        self.modelsChanged.emit()

    def rename(self):
        name, _ = self._selected()
        new, ok = QInputDialog.getText(self, "Rename model", "New name:", text=name)
        if ok and new and new != name:
            self._apply(lambda: weights.rename_user_model(name, new))

    def delete(self):
        name, _ = self._selected()
        answer = QMessageBox.question(self, "Delete model", f"Delete the model '{name}'? This cannot be undone.",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        if answer == QMessageBox.StandardButton.Yes:
            self._apply(lambda: weights.delete_user_model(name))

    def export(self):
        name, _ = self._selected()
        path, _ = QFileDialog.getSaveFileName(self, "Export model", str(Path.home() / f"{name}.safetensors"), FILTER)
        if path:
            self._apply(lambda: weights.export_model(name, path))

    def import_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Import model", str(Path.home()), FILTER)
        if not path:
            return
        if self.engine is None:
            self._apply(lambda: weights.import_model(path))
            return
        # Checking a model means loading it: on the engine's thread, so the window stays live.
        self.importing = True
        self.import_button.setText("Importing...")
        self._update_buttons()
        self.engine.import_model(Path(path))

    def _import_done(self) -> None:
        self.importing = False
        self.import_button.setText("Import...")
        self._update_buttons()

    def _on_imported(self, path: str) -> None:
        self._import_done()
        self.refresh()
        self.modelsChanged.emit()

    def _on_import_failed(self, message: str) -> None:
        self._import_done()
        QMessageBox.warning(self, "Models", message)
