"""The main window's actions, menus and toolbar: created once, enabled from state."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget


def _action(window, text, slot, shortcut=None, tip=None) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)
    return action


class WindowActions:
    def __init__(self, window):
        S = QKeySequence.StandardKey
        saves, session, view = window.saves, window.session, window.view
        self.open = _action(window, "&Open...", window.choose_files, S.Open, "Open photos to colorize")
        self.sample = _action(window, "Open &Sample Photo", window.open_sample, None,
                              "Open a black-and-white photo that ships with Autochrome")
        self.paste = _action(window, "&Paste Image", window.paste, S.Paste, "Colorize the image on the clipboard")
        self.save = _action(window, "&Save", saves.save, S.Save, "Save the shown result")
        self.save_as = _action(window, "Save &As...", saves.save_as, S.SaveAs, "Save the shown result as...")
        self.export_all = _action(window, "&Export All...", saves.export_all, "Ctrl+E",
                                  "Save every photo's latest result")
        self.export_comparison = _action(window, "Export &Before/After...", saves.export_comparison, None,
                                         "Save the original and the result side by side")
        self.quit = _action(window, "&Quit", window.close, S.Quit)
        self.undo = _action(window, "&Undo", session.undo, S.Undo, "Show the previous result")
        self.redo = _action(window, "&Redo", session.redo, [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")],
                            "Show the next result")
        self.fit = _action(window, "&Fit to Window", view.fit, [QKeySequence("Ctrl+0"), QKeySequence("F")])
        self.actual = _action(window, "&Actual Size (100%)", view.actual_size, "Ctrl+1")
        self.zoom_in = _action(window, "Zoom &In", lambda: view.set_zoom(view.zoom * 1.25), S.ZoomIn)
        self.zoom_out = _action(window, "Zoom &Out", lambda: view.set_zoom(view.zoom / 1.25), S.ZoomOut)
        self.toggle = _action(window, "&Before/After", view.toggle_before_after,
                              [QKeySequence("B"), QKeySequence("\\")], "Show only the original, or the split view")
        self.toggle.setCheckable(True)
        self.cancel = _action(window, "&Cancel", session.cancel, "Esc", "Stop colorizing")
        self.about = _action(window, "&About Autochrome", window.about)
        self.models = _action(window, "&Manage Models...", window.open_models,
                              tip="Rename, delete, export or import your models")
        self.finetune = _action(window, "&Fine-tune on Folder...", window.open_finetune,
                                tip="Teach the model a folder of your own colour photos")
        self.reference = _action(window, "Colour from &Reference Photo...", window.choose_reference, "Ctrl+R",
                                 "Take the whole photo's colours from a colour photo of the same place or thing")
        self.clear_reference = _action(window, "Clear Reference &Photo", window.clear_reference, None,
                                       "Colorize the photo without its reference photo")

    def build_menus(self, window) -> None:
        menu = window.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.open)
        window.recent_menu = file_menu.addMenu("Open &Recent")
        window.recent_menu.aboutToShow.connect(window.fill_recent_menu)
        for action in (self.sample, self.paste, None, self.save, self.save_as, self.export_all,
                       self.export_comparison, None, self.quit):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        edit_menu = menu.addMenu("&Edit")
        for action in (self.undo, self.redo, None, self.cancel):
            edit_menu.addSeparator() if action is None else edit_menu.addAction(action)
        hints_menu = menu.addMenu("H&ints")
        for action in window.hint_tool.actions:
            hints_menu.addAction(action)
        hints_menu.addSeparator()
        for action in window.hint_tool.reach_actions:
            hints_menu.addAction(action)
        hints_menu.addSeparator()
        hints_menu.addAction(self.reference)
        hints_menu.addAction(self.clear_reference)
        restore_menu = menu.addMenu("&Restore")
        for action in window.restore_tool.actions:
            restore_menu.addAction(action)
        toolbar = window.addToolBar("Tools")
        toolbar.setObjectName("toolbar-tools")
        toolbar.addAction(self.open)
        toolbar.addSeparator()
        for action in (window.hint_tool.tool_action, window.hint_tool.clear_action, window.hint_tool.without_action,
                       self.reference, None, window.restore_tool.mark_action, window.restore_tool.unmark_action):
            toolbar.addSeparator() if action is None else toolbar.addAction(action)
        view_menu = menu.addMenu("&View")
        for action in (self.fit, self.actual, self.zoom_in, self.zoom_out, self.toggle):
            view_menu.addAction(action)
        view_menu.addSeparator()
        for dock in window.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        tools_menu = menu.addMenu("&Tools")
        tools_menu.addAction(self.finetune)
        tools_menu.addAction(self.models)
        menu.addMenu("&Help").addAction(self.about)

    def update(self, window) -> None:
        session = window.session
        entry = session.shown
        has_result = entry is not None and entry.available
        for action in (self.save, self.save_as, self.export_comparison):
            action.setEnabled(has_result)
        self.export_all.setEnabled(bool(session.history.latest_per_photo()))
        self.undo.setEnabled(session.history.can_undo())
        self.redo.setEnabled(session.history.can_redo())
        self.cancel.setEnabled(session.in_flight is not None)
        editable = has_result and session.model_ready and not session.batch_running
        self.reference.setEnabled(editable)
        self.clear_reference.setEnabled(editable and session.reference is not None)
        window.adjust.again.setEnabled(has_result and session.model_ready)
        window.reference_panel.choose.setEnabled(editable)
        window.reference_panel.clear.setEnabled(editable and session.reference is not None)
        window.hint_tool.update_actions(has_result and session.model_ready, session.batch_running)
        window.restore_tool.update_actions(has_result and session.model_ready, session.batch_running)
