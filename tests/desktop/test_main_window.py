"""The desktop app through pytest-qt: real window, real worker thread, tiny model."""

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from autochrome.desktop.settings import Key, Settings
from tests.conftest import write_grey_png

TIMEOUT = 30000


def open_and_wait(qtbot, window, paths):
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.open_paths(paths)
    return blocker.args[0]


def test_open_colorizes_into_split_view_history_and_queue(qtbot, window, tmp_path):
    photo = write_grey_png(tmp_path / "street.png", 160, 120)
    entry = open_and_wait(qtbot, window, [photo])
    assert entry.reply.rgb.shape == (120, 160, 3)
    assert window.view.original is not None and window.view.result is not None
    assert (window.view.result.width(), window.view.result.height()) == (160, 120)
    assert window.history_panel.count() == 1
    assert window.queue_panel.item(0).text().startswith("done")
    assert str(photo) in Settings().get(Key.RECENT)
    assert window.actions_.save.isEnabled()


def test_open_through_the_file_dialog(qtbot, window, tmp_path, monkeypatch):
    photo = write_grey_png(tmp_path / "a.png", 64, 64)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(photo)], ""))
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.actions_.open.trigger()


def test_drop_files_and_folders(qtbot, window, tmp_path):
    folder = tmp_path / "box"
    folder.mkdir()
    write_grey_png(folder / "one.png", 64, 48)
    write_grey_png(folder / "two.png", 48, 64)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignals([window.resultShown, window.resultShown], timeout=TIMEOUT):
        window.dropEvent(event)
    qtbot.waitUntil(lambda: len(window.session.history.entries) == 2, timeout=TIMEOUT)
    assert {e.title for e in window.session.history.entries} == {"one.png", "two.png"}


def test_paste_an_image_from_the_clipboard(qtbot, window):
    image = QImage(80, 60, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.darkGray)
    QApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.actions_.paste.trigger()
    assert blocker.args[0].reply.rgb.shape == (60, 80, 3)
    assert blocker.args[0].reply.source is None


def test_broken_files_are_reported_and_the_app_keeps_working(qtbot, window, tmp_path):
    broken = tmp_path / "letter.jpg"
    broken.write_text("Dear Sir, this is not a photograph.")
    good = write_grey_png(tmp_path / "good.png", 64, 64)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.open_paths([broken, good])
    qtbot.waitUntil(lambda: bool(window.dialogs), timeout=TIMEOUT)
    assert "letter.jpg" in window.dialogs[0] and "not an image" in window.dialogs[0]
    assert window.queue_panel.item(0).text().startswith("failed")
    assert window.queue_panel.item(1).text().startswith("done")


def test_the_queue_panel_says_a_photo_was_damaged(qtbot, window, tmp_path):
    """Issue 26.3: the damage note was only on stderr and in the status line."""
    import io

    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray((rng.random((400, 40)) * 255).astype(np.uint8), "L").save(buffer, "JPEG", quality=80)
    data = buffer.getvalue()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) * 3 // 4] + b"\xff\xd9")
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 20] + b"\xff\xd9")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        window.open_paths([tmp_path / "half.jpg", tmp_path / "cut.jpg"])
    qtbot.waitUntil(lambda: bool(window.dialogs), timeout=TIMEOUT)
    assert "less than half the photo" in window.dialogs[0]
    assert window.queue_panel.item(0).text().startswith("failed")
    assert window.queue_panel.item(1).text().startswith("done, damaged: its data ends early")


def test_divider_drag_and_synchronised_zoom(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "a.png", 400, 300)])
    view = window.view
    view.resize(800, 600)
    view.set_divider(0.5)
    start = QPoint(int(view.width() * 0.5), view.height() // 2)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, QPoint(int(view.width() * 0.25), view.height() // 2))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=QPoint(int(view.width() * 0.25), view.height() // 2))
    assert view.divider == pytest.approx(0.25, abs=0.02)
    # One transform for both sides: the image point under the cursor stays put while zooming.
    anchor = QPointF(300, 200)
    before = view.widget_to_image(anchor)
    view.set_zoom(view.zoom * 2, anchor)
    after = view.widget_to_image(anchor)
    assert (before - after).manhattanLength() < 1e-6
    window.actions_.actual.trigger()
    assert view.zoom == 1.0
    window.actions_.fit.trigger()
    assert view.fit_mode and view.zoom == pytest.approx(min(view.width() / 400, view.height() / 300))
    window.actions_.toggle.trigger()
    assert view.show_before_only


def test_settings_change_recolorizes_and_undo_redo_walk_history(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "a.png", 96, 64)])
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.adjust.saturation.setValue(0)
    assert blocker.args[0].settings["saturation"] == 0.0
    grey_result = blocker.args[0].reply.rgb
    assert np.abs(grey_result - grey_result.mean(axis=2, keepdims=True)).max() < 0.01
    assert len(window.session.history.entries) == 2
    window.actions_.undo.trigger()
    assert window.session.history.current == 0 and window.view.result is window.session.history.entries[0].reply.result_display
    window.actions_.redo.trigger()
    assert window.session.history.current == 1
    window.history_panel.setCurrentRow(0)
    assert window.session.history.current == 0


def test_newest_request_wins(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "a.png", 1200, 900)])
    # What the worker itself reports (a direct connection, in its thread): the superseded
    # request must be cancelled there, not computed in full and then dropped by the window.
    worker = window.engine.worker
    computed, cancelled = [], []
    direct = Qt.ConnectionType.DirectConnection
    worker.finished.connect(lambda reply: computed.append(reply.request_id), direct)
    worker.cancelled.connect(cancelled.append, direct)
    window.session.set_settings({"saturation": 0.5})
    superseded = window.session.in_flight.request_id
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.session.set_settings({"saturation": 1.5})
    assert blocker.args[0].settings["saturation"] == 1.5
    qtbot.wait(300)
    assert [e.settings["saturation"] for e in window.session.history.entries] == [1.0, 1.5]
    assert superseded in cancelled and superseded not in computed


def test_cancel_stops_the_queue(qtbot, window, tmp_path):
    photos = [write_grey_png(tmp_path / f"p{i}.png", 1500, 1000, seed=i) for i in range(3)]
    window.open_paths(photos)
    window.cancel_button.click()
    qtbot.waitUntil(lambda: window.session.in_flight is None, timeout=TIMEOUT)
    statuses = [window.queue_panel.item(i).text().split(" - ")[0] for i in range(3)]
    assert statuses[1:] == ["cancelled", "cancelled"]
    assert statuses[0] in ("cancelled", "done")


@pytest.mark.parametrize("suffix, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".tif", "TIFF"), (".webp", "WEBP")])
def test_save_formats_at_full_resolution(qtbot, window, tmp_path, suffix, fmt):
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "a.png", 130, 70)])
    target = tmp_path / f"out{suffix}"
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(target)
    with Image.open(target) as saved:
        assert saved.format == fmt and saved.size == (130, 70)


def test_16bit_input_saves_16bit_tiff(qtbot, window, tmp_path):
    values = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "deep.png")
    open_and_wait(qtbot, window, [tmp_path / "deep.png"])
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "deep-out.tif")
    import cv2

    assert cv2.imread(str(tmp_path / "deep-out.tif"), cv2.IMREAD_UNCHANGED).dtype == np.uint16


def test_the_original_is_never_overwritten(qtbot, window, tmp_path, monkeypatch):
    photo = write_grey_png(tmp_path / "family.png", 64, 64)
    before = photo.read_bytes()
    open_and_wait(qtbot, window, [photo])
    # Even a user who would confirm is not asked: saving over the original is refused.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as shown:
        assert window.saves.save_to(photo) is None
    assert "original" in shown.args[0]
    assert photo.read_bytes() == before


def test_no_save_replaces_another_open_original_or_a_reference(qtbot, window, tmp_path, monkeypatch):
    """Issue 27.4: Save As and Export Before/After refused only the shown photo's own original."""
    first = write_grey_png(tmp_path / "first.png", 64, 64)
    second = write_grey_png(tmp_path / "second.png", 64, 64, seed=1)
    kept = {path: path.read_bytes() for path in (first, second)}
    open_and_wait(qtbot, window, [first])
    open_and_wait(qtbot, window, [second])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    spelled = tmp_path / "sub" / ".." / "first.png"
    (tmp_path / "sub").mkdir()
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as shown:
        assert window.saves.save_to(spelled) is None  # the shown photo is "second"
    assert "original" in shown.args[0]
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(first), "PNG (*.png)"))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        window.actions_.export_comparison.trigger()
    assert all(path.read_bytes() == data for path, data in kept.items())
    from types import SimpleNamespace

    reference = tmp_path / "reference.png"
    reference.write_bytes(b"a reference photo")
    window.session.reference = SimpleNamespace(path=reference)
    assert reference in window.session.originals()
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        assert window.saves.save_to(reference) is None
    assert reference.read_bytes() == b"a reference photo"
    window.session.reference = None


def test_save_as_and_export_all_never_overwrite(qtbot, window, tmp_path, monkeypatch):
    first = write_grey_png(tmp_path / "a.png", 64, 64)
    second = write_grey_png(tmp_path / "b.png", 64, 64, seed=1)
    open_and_wait(qtbot, window, [first])
    open_and_wait(qtbot, window, [second])
    out = tmp_path / "export"
    out.mkdir()
    (out / "a-colorized.png").write_bytes(b"keep me")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    with qtbot.waitSignals([window.fileSaved, window.fileSaved], timeout=TIMEOUT):
        window.actions_.export_all.trigger()
    assert (out / "a-colorized.png").read_bytes() == b"keep me"
    assert (out / "a-colorized-2.png").is_file() and (out / "b-colorized.png").is_file()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out / "pair"), "JPEG (*.jpg *.jpeg)"))
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.actions_.export_comparison.trigger()
    with Image.open(out / "pair.jpg") as pair:
        assert pair.size[0] > 2 * 64 and pair.size[1] == 64


def test_save_errors_show_a_message(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "a.png", 64, 64)])
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "missing-folder" / "x.png")
    assert "does not exist" in window.dialogs[-1]


def test_engine_errors_never_crash_the_window(qtbot, window, tmp_path, monkeypatch):
    from autochrome.engine import colorizer

    def out_of_memory(*args, **kwargs):
        raise MemoryError("not enough memory to colorize this photo; try a smaller render size")

    monkeypatch.setattr(colorizer.Colorizer, "colorize", out_of_memory)
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        window.open_paths([write_grey_png(tmp_path / "a.png", 64, 64)])
    assert "not enough memory" in window.dialogs[-1]
    assert window.isVisible()


def test_settings_persist_across_runs(qtbot, window):
    window.adjust.saturation.setValue(140)
    window.adjust.render_size.setCurrentIndex(2)
    window.close()
    from autochrome.desktop.main_window import MainWindow

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.adjust.saturation.value() == 140
    assert again.adjust.colorize_settings()["render_size"] == 384
    again.close()


def test_manage_models_dialog_renames_and_deletes_user_models(qtbot, window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from autochrome.desktop.models_dialog import ModelsDialog
    from autochrome.engine import paths, weights
    from tests.conftest import make_model_file

    make_model_file(paths.user_models_dir() / "mine.safetensors")
    dialog = ModelsDialog(window)
    qtbot.addWidget(dialog)
    rows = [dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())]
    assert ("mine", "user") in rows
    dialog.list.setCurrentRow(rows.index(("mine", "user")))
    assert dialog.delete_button.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("renamed", True))
    dialog.rename()
    assert "renamed" in [i.name for i in weights.list_models()]
    rows = [dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())]
    dialog.list.setCurrentRow(rows.index(("renamed", "user")))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    dialog.delete()
    assert "renamed" not in [i.name for i in weights.list_models()]
    shipped = [r for r in rows if r[1] == "shipped"][0]
    dialog.list.setCurrentRow([dialog.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.list.count())].index(shipped))
    assert not dialog.delete_button.isEnabled() and dialog.export_button.isEnabled()


def test_a_model_used_last_time_and_deleted_since_falls_back_to_the_default(qtbot, tmp_path):
    """Issue 27.5: the next launch had no model at all."""
    from autochrome.desktop.main_window import MainWindow

    Settings().set(Key.MODEL, str(tmp_path / "deleted since.safetensors"))
    window = MainWindow(quiet=True)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session.model_ready, timeout=TIMEOUT)
    assert window.model_name == "autochrome-default"
    assert "deleted since" in window.statusBar().currentMessage()
    assert Settings().get(Key.MODEL) == ""
    window.close()


def test_before_after_and_model_import_run_off_the_window_thread(qtbot, window, tmp_path, monkeypatch):
    """Issue 27.5: on a large photo both froze the window."""
    import threading

    from autochrome.desktop import save_rules
    from autochrome.desktop.models_dialog import ModelsDialog
    from autochrome.engine import weights
    from tests.conftest import make_model_file

    threads = []
    compose, copy_in = save_rules.comparison_rgb, weights.import_model
    monkeypatch.setattr(save_rules, "comparison_rgb",
                        lambda *a: threads.append(threading.current_thread()) or compose(*a))
    monkeypatch.setattr(weights, "import_model", lambda *a: threads.append(threading.current_thread()) or copy_in(*a))
    open_and_wait(qtbot, window, [write_grey_png(tmp_path / "big.png", 64, 48)])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "pair.png"), "PNG (*.png)"))
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.actions_.export_comparison.trigger()
    with Image.open(tmp_path / "pair.png") as pair:
        assert pair.size == (2 * 64 + 8, 48)
    model = make_model_file(tmp_path / "shared.safetensors")
    dialog = ModelsDialog(window, window.engine)
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(model), ""))
    with qtbot.waitSignal(dialog.modelsChanged, timeout=TIMEOUT):
        dialog.import_file()
        assert dialog.importing and not dialog.import_button.isEnabled()
    assert "shared" in [info.name for info in weights.list_models()] and dialog.import_button.isEnabled()
    assert len(threads) == 2 and all(thread is not threading.main_thread() for thread in threads)


def test_the_empty_window_offers_a_sample_photo_that_colorizes(qtbot, window):
    assert window.empty_state.isVisible() and window.empty_state.sample_button.isEnabled()
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        qtbot.mouseClick(window.empty_state.sample_button, Qt.MouseButton.LeftButton)
    entry = blocker.args[0]
    assert entry.reply.rgb.shape == (512, 768, 3) and "mountain-stream" in entry.title
    assert not window.empty_state.isVisible()


def test_the_queue_goes_on_after_a_failed_model_switch(qtbot, window, tmp_path):
    # Finding 4: photos opened while a model switch failed stayed "waiting" for ever.
    window._on_model_chosen("no-such-model", "cpu")
    photo = write_grey_png(tmp_path / "waiting.png", 64, 48)
    window.open_paths([photo])
    assert window.queue_panel.item(0).text().startswith("waiting")
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        qtbot.waitUntil(lambda: bool(window.dialogs), timeout=TIMEOUT)
    assert "switch failed" in window.model_label.text()


def test_saves_still_queued_when_the_window_closes_are_finished(qtbot, window, tmp_path):
    # Finding 5: they were dropped without a word.
    photo = write_grey_png(tmp_path / "a.png", 400, 300)
    open_and_wait(qtbot, window, [photo])
    targets = [tmp_path / f"out{i}.png" for i in range(3)]
    for target in targets:
        window.saves.save_to(target)
    window.close()
    assert all(target.is_file() for target in targets)


def test_vibrance_is_offered_for_classifier_models_only(qtbot):
    from autochrome.desktop.panels import AdjustPanel

    panel = AdjustPanel()
    qtbot.addWidget(panel)
    panel.set_vibrance(-1.0)  # a regression model
    assert not panel.vibrance.isEnabled() and panel.colorize_settings()["temperature"] is None
    panel.set_vibrance(0.38)
    assert panel.vibrance.isEnabled() and panel.temperature() is None  # the model's own setting
    with qtbot.waitSignal(panel.settingsChanged):
        panel.vibrance.setValue(100)
    assert panel.colorize_settings()["temperature"] == pytest.approx(0.05)
    panel.vibrance.setValue(0)
    assert panel.temperature() == pytest.approx(1.0)


def test_two_pasted_images_of_one_size_export_as_two(qtbot, window, tmp_path, monkeypatch):
    # Finding 14: Export All keyed results by title, so same-size pastes were merged into one.
    for shade in (Qt.GlobalColor.darkGray, Qt.GlobalColor.lightGray):
        image = QImage(80, 60, QImage.Format.Format_RGB32)
        image.fill(shade)
        QApplication.clipboard().setImage(image)
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
            window.actions_.paste.trigger()
    assert len({e.title for e in window.session.history.entries}) == 1
    out = tmp_path / "export"
    out.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    with qtbot.waitSignals([window.fileSaved, window.fileSaved], timeout=TIMEOUT):
        window.actions_.export_all.trigger()
    assert len(list(out.iterdir())) == 2


def test_history_keeps_full_results_within_a_byte_budget(qtbot, window, tmp_path, monkeypatch):
    # Finding 10: twelve full results were kept whatever their size (4.7 GB for a 24 MP photo).
    from autochrome.desktop import history

    photo = write_grey_png(tmp_path / "a.png", 200, 150)
    open_and_wait(qtbot, window, [photo])
    one_result = window.session.history.bytes_kept
    monkeypatch.setattr(history, "HISTORY_BUDGET_BYTES", int(one_result * 2.5))
    for _ in range(4):
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
            window.session.render_again()
    entries = window.session.history.entries
    assert len(entries) == 5 and window.session.history.bytes_kept <= history.HISTORY_BUDGET_BYTES
    assert entries[-1].available and not entries[0].available
    assert entries[0].thumbnail is not None and entries[0].settings  # what is listed stays
    # Choosing it rebuilds it from its colour at render size and the photo's L, with no model run.
    monkeypatch.setattr(window.engine.worker._colorizer, "model", None)
    with qtbot.waitSignal(window.entryShown, timeout=TIMEOUT):
        window.session.history.select(0)
    qtbot.waitUntil(lambda: entries[0].available, timeout=TIMEOUT)
    np.testing.assert_allclose(entries[0].reply.rgb, entries[-1].reply.rgb, atol=1e-6)
    assert window.session.history.bytes_kept <= history.HISTORY_BUDGET_BYTES and len(entries) == 5


def test_a_photo_the_os_asks_to_open_is_opened(qtbot, window, tmp_path):
    # Finding 14: macOS sends "Open with Autochrome" as a QFileOpenEvent, which nothing handled.
    from PySide6.QtGui import QFileOpenEvent

    from autochrome.desktop.file_open import relay_file_open_events

    photo = write_grey_png(tmp_path / "scan.png", 64, 48)
    relay = relay_file_open_events(QApplication.instance(), window)
    try:
        with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
            QApplication.sendEvent(QApplication.instance(), QFileOpenEvent(str(photo)))
        assert blocker.args[0].reply.source == photo
    finally:
        QApplication.instance().removeEventFilter(relay)


def test_a_folder_opens_as_the_command_line_reads_it(qtbot, window, tmp_path):
    # One owner for folder expansion: the window recursed into hidden folders, the CLI did not.
    folder = tmp_path / "archive"
    for sub in ("sub", ".thumbnails"):
        (folder / sub).mkdir(parents=True)
        write_grey_png(folder / sub / "a.png", 40, 30)
    write_grey_png(folder / "b.png", 40, 30)
    assert window.open_paths([folder]) == 2
    assert window.queue_panel.count() == 2


def test_a_reference_photo_colours_the_shown_photo_and_is_kept_in_its_history(qtbot, window, tmp_path, monkeypatch):
    """Issue 18: Hints > Colour from Reference Photo, the panel's thumbnail and Clear, the history."""
    from PIL import Image

    photo = write_grey_png(tmp_path / "scan.png", 96, 64)
    open_and_wait(qtbot, window, [photo])
    red = tmp_path / "red.png"
    Image.fromarray(np.tile(np.uint8([220, 30, 30]), (48, 64, 1))).save(red)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(red), ""))
    assert window.actions_.reference.isEnabled()
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.actions_.reference.trigger()
    entry = blocker.args[0]
    assert entry.reference is not None and entry.reference.path == red
    assert window.reference_panel.clear.isEnabled() and not window.reference_panel.thumbnail.pixmap().isNull()
    with qtbot.waitSignal(window.fileSaved, timeout=TIMEOUT):
        window.saves.save_to(tmp_path / "out.png")
    import json

    assert json.loads((tmp_path / "scan.png.autochrome.json").read_text())["reference"] == "red.png"
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.reference_panel.clear.click()
    assert blocker.args[0].reference is None and not window.reference_panel.clear.isEnabled()
    with qtbot.waitSignal(window.entryShown, timeout=TIMEOUT):
        window.session.undo()  # back to the result with the reference: the panel shows it again
    assert window.session.reference is not None and window.reference_panel.clear.isEnabled()


def test_models_named_by_sidecars_are_kept_for_the_next_photo_but_not_all_of_them(qapp, monkeypatch):
    """Issue 27.10: one Colorizer per model any sidecar named was cached and never let go."""
    import types

    from autochrome.desktop import worker
    from autochrome.engine import colorizer

    loaded = []

    class Fake:
        def __init__(self, name, device):
            loaded.append(name)
            self.info = types.SimpleNamespace(name=name)

    monkeypatch.setattr(colorizer, "Colorizer", Fake)
    engine = worker.EngineWorker()
    engine._colorizer = types.SimpleNamespace(info=types.SimpleNamespace(name="current"), choice=types.SimpleNamespace(
        device=types.SimpleNamespace(type="cpu")))
    for name in ("a", "b", "a", "c", "d", "a"):
        assert engine._colorizer_for(name)[0].info.name == name
    assert loaded == ["a", "b", "c", "d"]  # "a" was used again each time before it was the oldest
    assert len(engine._others) == worker.MAX_OTHER_MODELS and "b" not in engine._others
    engine.deleteLater()
