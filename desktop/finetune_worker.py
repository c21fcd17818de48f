"""Fine-tuning on its own thread: scan the folder, train, preview, validate, save.

The dialog talks to it through queued signals; pause and cancel are thread-safe flags
checked between training steps, so the window never waits on training.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .threads import start_worker_thread, stop_worker_thread

PREVIEW_EVERY_S = 4.0


class FinetuneWorker(QObject):
    scanned = Signal(object, float)  # FolderScan, estimated seconds per step on this device
    scanFailed = Signal(str)
    started = Signal(int, int)  # first step (after a resume), total steps
    progress = Signal(object)  # trainer.training.Progress
    preview = Signal(object, object)  # base RGB, current RGB (numpy float)
    finished = Signal(str, dict)  # model path, validation figures
    failed = Signal(str)
    stopped = Signal(str)  # where the resumable checkpoint is

    def __init__(self):
        super().__init__()
        self._cancel = threading.Event()
        self.run = None
        self._step_seconds = 0.0  # measured once: rescans of other folders reuse it

    def cancel(self) -> None:
        self._cancel.set()
        if self.run is not None:
            self.run.gate.resume()

    def pause(self, paused: bool) -> None:
        if self.run is not None:
            (self.run.gate.pause if paused else self.run.gate.resume)()

    @Slot(str, float)
    def scan(self, folder: str, holdout_share: float) -> None:
        from trainer.finetune import FinetuneError, scan_folder

        try:
            result = scan_folder(folder, holdout_share=holdout_share)
        except FinetuneError as exc:
            self.scanFailed.emit(str(exc))
            return
        except Exception as exc:  # the dialog must survive anything the folder holds
            traceback.print_exc()
            self.scanFailed.emit(f"could not scan {folder}: {exc}")
            return
        self.scanned.emit(result, self._seconds_per_step(result))

    @Slot(str, str, str, float)
    def scan_corrections(self, name: str, base_model: str, folder: str, holdout_share: float) -> None:
        from trainer.finetune import FinetuneError, scan_corrections

        try:
            result = scan_corrections(name, base_model or None, "auto", Path(folder) if folder else None,
                                      holdout_share)
        except FinetuneError as exc:
            self.scanFailed.emit(str(exc))
            return
        except Exception as exc:  # the dialog must survive anything
            traceback.print_exc()
            self.scanFailed.emit(f"could not prepare the corrected photos: {exc}")
            return
        self.scanned.emit(result, self._seconds_per_step(result))

    def _seconds_per_step(self, folder_scan) -> float:
        if not self._step_seconds:
            self._step_seconds = self._time_three_steps()
        return self._step_seconds

    @staticmethod
    def _time_three_steps() -> float:
        """Time three decoder-only steps of the default model on this device, for the presets' estimates."""
        import torch

        from engine import weights
        from engine.device import choose_device

        try:
            device = choose_device("auto").device
            model, info = weights.load_generator(weights.resolve_model(None), device)
            model.train()
            for parameter in getattr(model, "encoder", model).parameters():
                parameter.requires_grad_(False)
            optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
            lightness = torch.zeros(8, 1, 128, 128, device=device)
            times = []
            for _ in range(3):
                began = time.perf_counter()
                loss = model(lightness).abs().mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                times.append(time.perf_counter() - began)
            return min(times[1:])
        except Exception:
            return 0.0  # no estimate is better than a wrong one

    @Slot(object, object)
    def train(self, folder_scan, options) -> None:
        from engine.colorize import ColorizeSettings
        from engine.errors import AutochromeError
        from engine.image_io import load_image
        from trainer.finetune import Finetune, FinetuneError

        self._cancel.clear()
        try:
            self.run = run = Finetune(folder_scan, options)
        except (FinetuneError, AutochromeError, ValueError, RuntimeError, OSError) as exc:
            self.failed.emit(str(exc))
            return
        preview_image = None
        if folder_scan.holdout_paths:
            try:
                preview_image = load_image(folder_scan.holdout_paths[0])
                base_rgb = run.base.colorize(preview_image, ColorizeSettings()).rgb
            except AutochromeError:
                preview_image = None
        self.started.emit(run.trainer.step, options.total_steps)
        last_preview = 0.0
        try:
            for record in run.steps(should_stop=self._cancel.is_set):
                self.progress.emit(record)
                now = time.monotonic()
                if preview_image is not None and now - last_preview > PREVIEW_EVERY_S:
                    self.preview.emit(base_rgb, run.preview(preview_image))
                    last_preview = now
                if self._cancel.is_set():
                    break
        except Exception as exc:
            traceback.print_exc()
            self.failed.emit(f"training stopped: {exc}")
            self.run = None
            return
        if self._cancel.is_set():
            run.trainer.save_checkpoint()
            self.stopped.emit(str(run.checkpoint))
            self.run = None
            return
        try:
            path, figures = run.finish()
        except FinetuneError as exc:
            self.failed.emit(str(exc))
            self.run = None
            return
        if preview_image is not None:
            self.preview.emit(base_rgb, run.preview(preview_image))
        self.run = None
        self.finished.emit(str(path), figures)


class FinetuneThread(QObject):
    _scan = Signal(str, float)
    _scan_corrections = Signal(str, str, str, float)
    _train = Signal(object, object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = FinetuneWorker()
        self._scan.connect(self.worker.scan)
        self._scan_corrections.connect(self.worker.scan_corrections)
        self._train.connect(self.worker.train)
        self.thread = start_worker_thread(self.worker, "autochrome-finetune")

    def scan(self, folder: Path, holdout_share: float) -> None:
        self._scan.emit(str(folder), holdout_share)

    def scan_corrections(self, name: str, base_model: str, folder: Path | None, holdout_share: float) -> None:
        self._scan_corrections.emit(name, base_model or "", str(folder) if folder else "", holdout_share)

    def train(self, folder_scan, options) -> None:
        self._train.emit(folder_scan, options)

    @property
    def busy(self) -> bool:
        return self.worker.run is not None

    def stop(self) -> None:
        """Cancel any training (its checkpoint is kept) and end the thread."""
        self.worker.cancel()
        stop_worker_thread(self.thread, self.worker)
