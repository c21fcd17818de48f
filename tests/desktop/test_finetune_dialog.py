"""The fine-tune dialog with the real worker thread and a stand-in for the training itself."""

import time

import numpy as np
import pytest
from PySide6.QtWidgets import QMessageBox

from tests.trainer.test_finetune import warm_photos
from trainer import finetune
from trainer.training import Progress

TIMEOUT = 30000


class FakeRun:
    """Behaves like trainer.finetune.Finetune, without the cost of training."""

    instances = []

    def __init__(self, folder_scan, options):
        self.options = options
        self.gate = finetune.PauseGate()
        self.trainer = type("T", (), {"step": 0, "save_checkpoint": lambda self: None})()
        self.checkpoint = "checkpoint.ckpt"
        self.base = type("B", (), {"colorize": lambda self, image, settings=None: type("R", (), {
            "rgb": np.zeros((8, 8, 3), np.float32)})()})()
        self.finished = False
        FakeRun.instances.append(self)

    def steps(self, should_stop=lambda: False):
        total = self.options.total_steps
        for step in range(1, total + 1):
            time.sleep(0.01)
            self.trainer.step = step
            # The shipped model is a classifier: its loss is cross-entropy ("ce"), not L1.
            yield Progress(1, step, total, {"ce": 1.0 / step}, 50.0, step * 0.01)
            while not self.gate.wait(0.05):
                if should_stop():
                    return
            if should_stop():
                return

    def preview(self, image, settings=None):
        return np.ones((8, 8, 3), np.float32) * 0.5

    def finish(self):
        self.finished = True
        return "/models/Test model.safetensors", {"base": {"ciede2000": 9.0, "psnr": 22.0},
                                                   "new": {"ciede2000": 7.5, "psnr": 22.6}}


@pytest.fixture
def dialog(qtbot, monkeypatch):
    from desktop import finetune_dialog

    FakeRun.instances.clear()
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
    from desktop import finetune_dialog

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
    assert isinstance(dialog, finetune_dialog.FinetuneDialog)


def test_the_step_time_for_estimates_is_measured_once(monkeypatch):
    from desktop.finetune_worker import FinetuneWorker

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
