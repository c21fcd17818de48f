"""The fine-tune dialog with the real worker thread and a stand-in for the training itself."""

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.trainer.test_finetune import warm_photos
from autochrome.desktop import finetune_dialog
from autochrome.trainer import finetune
from autochrome.trainer.training import Progress

TIMEOUT = 30000


class FakeRun:
    """Behaves like trainer.finetune.Finetune, without the cost of training."""

    instances = []
    starting_delay_s = 0.0
    finish_error: Exception | None = None

    def __init__(self, folder_scan, options):
        self.options = options
        self.gate = finetune.PauseGate()
        run = self
        self.saved_checkpoints = 0

        def save_checkpoint(trainer):
            run.saved_checkpoints += 1

        self.trainer = type("T", (), {"step": 0, "save_checkpoint": save_checkpoint})()
        self.checkpoint = "checkpoint.ckpt"
        self.base = type("B", (), {"colorize": lambda self, image, settings=None: type("R", (), {
            "rgb": np.zeros(image.lightness.shape + (3,), np.float32)})()})()
        self.finished = False
        self.preview_sizes = []
        FakeRun.instances.append(self)
        if FakeRun.starting_delay_s:
            time.sleep(FakeRun.starting_delay_s)

    def steps(self, should_stop=lambda: False):
        total = self.options.total_steps
        for step in range(1, total + 1):
            while not self.gate.wait(0.05):
                if should_stop():
                    return
            if should_stop():
                return
            time.sleep(0.01)
            self.trainer.step = step
            # The shipped model is a classifier: its loss is cross-entropy ("ce"), not L1.
            yield Progress(1, step, total, {"ce": 1.0 / step}, 50.0, step * 0.01)

    def preview(self, image, settings=None):
        self.preview_sizes.append(image.size)
        return np.ones(image.lightness.shape + (3,), np.float32) * 0.5

    def finish(self, progress=None):
        if FakeRun.finish_error is not None:
            raise FakeRun.finish_error
        self.finished = True
        return "/models/Test model.safetensors", {"base": {"ciede2000": 9.0, "psnr": 22.0},
                                                   "new": {"ciede2000": 7.5, "psnr": 22.6}}


@pytest.fixture
def dialog(qtbot, monkeypatch):
    from autochrome.desktop import finetune_dialog

    FakeRun.instances.clear()
    monkeypatch.setattr(FakeRun, "starting_delay_s", 0.0)
    monkeypatch.setattr(FakeRun, "finish_error", None)
    monkeypatch.setattr(finetune, "Finetune", FakeRun)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    widget = finetune_dialog.FinetuneDialog()
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.close()


def scanned(qtbot, dialog, folder):
    dialog.folder.setText(str(folder))
    dialog._scan()
    # Wait on the dialog's state, not the worker's signal: the dialog's own slot may run later.
    qtbot.waitUntil(lambda: dialog.folder_scan is not None, timeout=TIMEOUT)


def test_scan_reports_usable_and_skipped_photos(qtbot, dialog, tmp_path):
    folder = warm_photos(tmp_path / "photos", 12)
    (folder / "bad.jpg").write_bytes(b"junk")
    scanned(qtbot, dialog, folder)
    assert "12 usable photos" in dialog.scan_label.text() and "1 unreadable" in dialog.scan_label.text()
    assert dialog.skipped.count() == 1 and "bad.jpg" in dialog.skipped.item(0).text()
    assert dialog.start_button.isEnabled()
    assert dialog.name.text() == "photos"


def test_a_folder_with_too_few_photos_cannot_start(qtbot, dialog, tmp_path):
    folder = warm_photos(tmp_path / "few", 3)
    dialog.folder.setText(str(folder))
    dialog._scan()
    qtbot.waitUntil(lambda: "at least 10" in dialog.scan_label.text(), timeout=TIMEOUT)
    assert not dialog.start_button.isEnabled()


def test_start_progress_and_finish(qtbot, dialog, tmp_path):
    scanned(qtbot, dialog, warm_photos(tmp_path / "photos", 12))
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(20)
    dialog.name.setText("Test model")
    with qtbot.waitSignal(dialog.modelCreated, timeout=TIMEOUT) as blocker:
        dialog.start()
        assert not dialog.start_button.isEnabled() and dialog.cancel_button.isEnabled()
    assert blocker.args == ["Test model"]
    assert dialog.progress.value() == 20
    assert len(dialog.curve.points) == 20
    assert "7.50" in dialog.result.text()
    assert dialog.new_preview.pixmap() is not None and not dialog.new_preview.pixmap().isNull()
    assert FakeRun.instances[-1].finished


def test_pause_resume_and_cancel(qtbot, dialog, tmp_path):
    scanned(qtbot, dialog, warm_photos(tmp_path / "photos", 12))
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(10_000)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 3, timeout=TIMEOUT)
    dialog.pause_button.setChecked(True)
    assert FakeRun.instances[-1].gate.paused
    qtbot.wait(200)
    held = dialog.progress.value()
    qtbot.wait(300)
    assert dialog.progress.value() == held
    dialog.pause_button.setChecked(False)
    qtbot.waitUntil(lambda: dialog.progress.value() > held, timeout=TIMEOUT)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.training, timeout=TIMEOUT)
    assert not FakeRun.instances[-1].finished
    assert "Cancelled" in dialog.status.text()


def test_closing_the_app_during_a_fine_tune_asks_first(qtbot, window, tmp_path, monkeypatch):
    FakeRun.instances.clear()
    monkeypatch.setattr(finetune, "Finetune", FakeRun)
    window.open_finetune()
    dialog = window._finetune_dialog
    scanned(qtbot, dialog, warm_photos(tmp_path / "photos", 12))
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(100_000)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.progress.value() >= 2, timeout=TIMEOUT)
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[1]) or QMessageBox.StandardButton.No)
    window.close()
    assert asked and window.isVisible() and dialog.training  # "No": everything keeps running
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    window.close()
    assert not window.isVisible()
    assert not dialog.engine.thread.isRunning()  # the run was stopped, not left behind
    assert FakeRun.instances[-1].saved_checkpoints == 1 and not FakeRun.instances[-1].finished


def test_the_step_time_for_estimates_is_measured_once(monkeypatch):
    from autochrome.desktop.finetune_worker import FinetuneWorker

    calls = []
    monkeypatch.setattr(FinetuneWorker, "_time_three_steps", staticmethod(lambda: calls.append(1) or 0.25))
    worker = FinetuneWorker()
    assert worker._seconds_per_step(None) == 0.25 and worker._seconds_per_step(None) == 0.25
    assert len(calls) == 1


def test_learning_from_corrected_photos(qtbot, dialog, tmp_path, tiny_model):
    from tests.trainer.test_corrections import corrected_photos

    dialog.base_model = str(tiny_model)
    dialog.source.setCurrentIndex(dialog.source.findData("corrections"))
    assert dialog.find_corrections.isVisible() and dialog.name.text() == "My corrections"
    corrected_photos(tmp_path / "few", 3)
    dialog.find_corrections.click()
    qtbot.waitUntil(lambda: "found 3 corrected photos" in dialog.scan_label.text(), timeout=TIMEOUT)
    assert not dialog.start_button.isEnabled()
    corrected_photos(tmp_path / "more", 4)
    dialog.find_corrections.click()
    qtbot.waitUntil(lambda: dialog.folder_scan is not None, timeout=TIMEOUT)
    assert "7 corrected photos" in dialog.scan_label.text() and dialog.folder_scan.source == "corrections"
    with qtbot.waitSignal(dialog.modelCreated, timeout=TIMEOUT):
        dialog.start()
    assert FakeRun.instances[-1].options.name == "My corrections"


def _start_long_run(qtbot, dialog, tmp_path, steps=10_000):
    scanned(qtbot, dialog, warm_photos(tmp_path / "photos", 12))
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(steps)
    dialog.start()


@pytest.mark.parametrize("error", [
    pytest.param("image", id="an unreadable held-out photo"),
    pytest.param("bug", id="any other exception"),
])
def test_any_failure_while_finishing_reaches_the_dialog(qtbot, dialog, tmp_path, monkeypatch, error):
    # Finding 7: only FinetuneError was caught around finish(); the dialog stayed "training".
    from autochrome.engine.errors import ImageReadError

    FakeRun.finish_error = ImageReadError("held.jpg: damaged") if error == "image" else KeyError("psnr")
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    _start_long_run(qtbot, dialog, tmp_path, steps=5)
    qtbot.waitUntil(lambda: not dialog.training, timeout=TIMEOUT)
    assert len(warnings) == 1 and ("held.jpg" in warnings[0] or "psnr" in warnings[0])
    assert dialog.start_button.isEnabled()


def test_pause_pressed_while_the_run_is_starting_is_kept(qtbot, dialog, tmp_path):
    # Finding 13: the worker had no run yet, so the pause was dropped.
    FakeRun.starting_delay_s = 0.5
    _start_long_run(qtbot, dialog, tmp_path)
    dialog.pause_button.setChecked(True)
    qtbot.waitUntil(lambda: len(FakeRun.instances) == 1 and dialog.total_steps > 0, timeout=TIMEOUT)
    qtbot.wait(300)
    assert FakeRun.instances[-1].gate.paused and dialog.progress.value() == 0
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.training, timeout=TIMEOUT)


def test_a_cancel_before_the_run_starts_is_not_lost(qtbot, dialog, tmp_path, monkeypatch):
    # Finding 13: train() cleared the cancel flag when it began, after the user had cancelled.
    import threading

    from autochrome.trainer.finetune_options import FinetuneCancelled

    scanned(qtbot, dialog, warm_photos(tmp_path / "photos", 12))
    release = threading.Event()

    def busy_scan(*args, **kwargs):
        release.wait(5)
        raise FinetuneCancelled

    monkeypatch.setattr(finetune, "scan_folder", busy_scan)
    dialog.engine._scan.emit("elsewhere", 0.15)  # the worker is now busy; the training request waits in its queue
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(10_000)
    dialog.start()
    dialog.cancel()
    release.set()
    qtbot.waitUntil(lambda: not dialog.training, timeout=TIMEOUT)
    assert "Cancelled" in dialog.status.text()
    assert not FakeRun.instances or FakeRun.instances[-1].trainer.step <= 1


def test_closing_stops_a_scan_between_photos(qtbot, tmp_path):
    # Finding 13: closing waited for a whole scan it could not interrupt.
    from autochrome.desktop.finetune_worker import FinetuneWorker

    worker = FinetuneWorker()
    results = []
    worker.scanned.connect(lambda *a: results.append("scanned"))
    worker.scanFailed.connect(lambda message: results.append(message))
    worker.begin()
    worker.cancel()
    worker.scan(str(warm_photos(tmp_path / "photos", 12)), 0.15)
    assert results == []


def test_previews_are_made_at_the_size_they_are_shown(qtbot, dialog, tmp_path):
    # Finding 11: the held-out photo was colorized and converted at full size every 4 s.
    from autochrome.desktop.finetune_worker import PREVIEW_SIDE

    folder = warm_photos(tmp_path / "photos", 12, size=900)
    previews = []
    dialog.engine.worker.preview.connect(lambda base, new: previews.append((base.shape, new.shape, new.dtype)))
    scanned(qtbot, dialog, folder)
    dialog.advanced.setChecked(True)
    dialog.steps.setValue(5)
    with qtbot.waitSignal(dialog.modelCreated, timeout=TIMEOUT):
        dialog.start()
    assert previews and all(max(base[:2]) <= PREVIEW_SIDE and max(new[:2]) <= PREVIEW_SIDE and dtype == np.uint8
                            for base, new, dtype in previews)


@pytest.mark.parametrize("answer", [finetune_dialog.STALE_RUN_AFRESH, finetune_dialog.STALE_RUN_KEEP])
def test_a_stale_run_of_the_same_name_asks_before_starting_afresh(qtbot, dialog, tmp_path, monkeypatch, answer):
    # Finding 6: the dialog silently continued an older run of the same name.
    from autochrome.trainer.finetune_options import StaleRunError

    class StaleOnce(FakeRun):
        def __init__(self, folder_scan, options):
            if not options.fresh_start:
                raise StaleRunError("an unfinished fine-tune named 'x' was started with other photos")
            super().__init__(folder_scan, options)

    monkeypatch.setattr(finetune, "Finetune", StaleOnce)
    asked = []

    def click(box):
        asked.append(box.text())
        next(button for button in box.buttons() if button.text() == answer).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", click)
    _start_long_run(qtbot, dialog, tmp_path, steps=5)
    qtbot.waitUntil(lambda: not dialog.training, timeout=TIMEOUT)
    assert len(asked) == 1 and "afresh" in asked[0]
    if answer == finetune_dialog.STALE_RUN_AFRESH:
        assert FakeRun.instances[-1].options.fresh_start and FakeRun.instances[-1].finished
    else:
        assert not FakeRun.instances and "kept" in dialog.status.text()


def test_changing_the_held_out_share_after_a_scan_scans_again(qtbot, dialog, tmp_path):
    """Issue 19, 2.5: the share changed after the scan was ignored, yet written in the provenance."""
    folder = warm_photos(tmp_path / "photos", 12)
    scanned(qtbot, dialog, folder)
    first = dialog.folder_scan
    dialog.advanced.setChecked(True)
    dialog.holdout.setValue(40)
    qtbot.waitUntil(lambda: dialog.folder_scan is not None and dialog.folder_scan is not first, timeout=TIMEOUT)
    assert dialog.folder_scan.holdout_share == 0.4 and len(dialog.folder_scan.holdout_paths) > len(first.holdout_paths)
    assert dialog.options().holdout_share == 0.4


def test_escape_during_a_fine_tune_asks_and_stops_the_thread_before_the_dialog_goes(qtbot, dialog, tmp_path,
                                                                                   monkeypatch):
    """Issue 27.2: Esc went through QDialog.reject, past closeEvent, and left the training thread running."""
    from PySide6.QtCore import Qt

    _start_long_run(qtbot, dialog, tmp_path)
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=TIMEOUT)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or QMessageBox.StandardButton.No)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert asked == ["Stop fine-tuning?"] and dialog.isVisible() and dialog.engine.busy
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible() and not dialog.engine.thread.isRunning() and not dialog.engine.busy
    assert FakeRun.instances[-1].saved_checkpoints >= 1  # its progress is kept
