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

from autochrome.engine.image_io import to_8bit

from .threads import start_worker_thread, stop_worker_thread

PREVIEW_EVERY_S = 4.0
PREVIEW_SIDE = 320  # about the size of the dialog's preview panes


class FinetuneWorker(QObject):
    scanned = Signal(object, float)  # FolderScan, estimated seconds per step on this device
    scanFailed = Signal(str)
    started = Signal(int, int)  # first step (after a resume), total steps
    progress = Signal(object)  # trainer.training.Progress
    preview = Signal(object, object)  # base, current: uint8 RGB at most PREVIEW_SIDE pixels
    finished = Signal(str, dict)  # model path, validation figures
    failed = Signal(str)
    stopped = Signal(str)  # where the resumable checkpoint is ("" if nothing was kept)
    staleRun = Signal(str)  # an unfinished run of this name cannot continue with these photos or options

    def __init__(self):
        super().__init__()
        self._cancel = threading.Event()
        self._paused = False  # also for a pause pressed before the run exists
        self.run = None
        self._step_seconds = 0.0  # measured once: rescans of other folders reuse it

    def begin(self) -> None:
        """Called on the GUI thread just before a request is queued, so that a cancel pressed
        between the request and its start is not cleared by the start."""
        self._cancel.clear()

    def cancel(self) -> None:
        self._cancel.set()
        run = self.run
        if run is not None:
            run.gate.resume()

    def pause(self, paused: bool) -> None:
        self._paused = paused
        run = self.run
        if run is not None:
            (run.gate.pause if paused else run.gate.resume)()

    def _stop_if_cancelled(self, *_progress) -> None:
        from autochrome.trainer.finetune_options import FinetuneCancelled

        if self._cancel.is_set():
            raise FinetuneCancelled

    @Slot(str, float)
    def scan(self, folder: str, holdout_share: float) -> None:
        from autochrome.trainer.finetune import scan_folder

        self._scan(lambda: scan_folder(folder, holdout_share=holdout_share, progress=self._stop_if_cancelled),
                   f"could not scan {folder}")

    @Slot(str, str, str, float)
    def scan_corrections(self, name: str, base_model: str, folder: str, holdout_share: float) -> None:
        from autochrome.trainer.finetune import scan_corrections

        self._scan(lambda: scan_corrections(name, base_model or None, "auto", Path(folder) if folder else None,
                                            holdout_share, progress=self._stop_if_cancelled),
                   "could not prepare the corrected photos")

    def _scan(self, scan, failure: str) -> None:
        from autochrome.trainer.finetune_options import FinetuneCancelled, FinetuneError

        try:
            result = scan()
        except FinetuneCancelled:
            return  # the dialog is closing
        except FinetuneError as exc:
            self.scanFailed.emit(str(exc))
            return
        except Exception as exc:  # the dialog must survive anything the folder holds
            traceback.print_exc()
            self.scanFailed.emit(f"{failure}: {exc}")
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

        from autochrome.engine import weights
        from autochrome.engine.device import choose_device

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
        from autochrome.engine.errors import AutochromeError
        from autochrome.trainer.finetune_options import (
            FinetuneCancelled,
            FinetuneError,
            StaleRunError,
        )

        try:
            self._train(folder_scan, options)
        except FinetuneCancelled:
            self._keep_and_stop()
        except StaleRunError as exc:
            self.staleRun.emit(str(exc))
        except (FinetuneError, AutochromeError, ValueError, OSError) as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # any failure must reach the dialog, or it would wait forever
            traceback.print_exc()
            self.failed.emit(f"training stopped: {exc}")
        finally:
            self.run = None

    def _train(self, folder_scan, options) -> None:
        from autochrome.trainer.finetune import Finetune
        from autochrome.trainer.finetune_options import FinetuneCancelled

        self.run = run = Finetune(folder_scan, options)
        if self._paused:
            run.gate.pause()
        preview_image, base_preview = self._preview_source(run, folder_scan)
        self.started.emit(run.trainer.step, options.total_steps)
        last_preview = 0.0
        for record in run.steps(should_stop=self._cancel.is_set):
            self.progress.emit(record)
            if preview_image is not None and time.monotonic() - last_preview > PREVIEW_EVERY_S:
                self.preview.emit(base_preview, to_8bit(run.preview(preview_image)))
                last_preview = time.monotonic()
            if self._cancel.is_set():
                break
        if self._cancel.is_set():
            raise FinetuneCancelled
        path, figures = run.finish(progress=self._stop_if_cancelled)
        if preview_image is not None:
            self.preview.emit(base_preview, to_8bit(run.preview(preview_image)))
        self.finished.emit(str(path), figures)

    @staticmethod
    def _preview_source(run, folder_scan):
        """A held-out photo reduced to preview size, and the base model's result on it; the
        previews are computed here at the size they are shown, not at the photo's."""
        from autochrome.engine.edit import ColorizeSettings
        from autochrome.engine.errors import AutochromeError
        from autochrome.engine.image_io import load_image, reduced

        if not folder_scan.holdout_paths:
            return None, None
        try:
            image, _ = reduced(load_image(folder_scan.holdout_paths[0]), PREVIEW_SIDE)
            return image, to_8bit(run.base.colorize(image, ColorizeSettings()).rgb)
        except AutochromeError:
            return None, None  # no preview; the training itself does not need one

    def _keep_and_stop(self) -> None:
        run = self.run
        if run is None:
            self.stopped.emit("")
            return
        run.trainer.save_checkpoint()
        self.stopped.emit(str(run.checkpoint))


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
        self.worker.begin()
        self._scan.emit(str(folder), holdout_share)

    def scan_corrections(self, name: str, base_model: str, folder: Path | None, holdout_share: float) -> None:
        self.worker.begin()
        self._scan_corrections.emit(name, base_model or "", str(folder) if folder else "", holdout_share)

    def train(self, folder_scan, options) -> None:
        self.worker.begin()
        self._train.emit(folder_scan, options)

    @property
    def busy(self) -> bool:
        return self.worker.run is not None

    def stop(self) -> None:
        """Cancel any training (its checkpoint is kept) and end the thread."""
        self.worker.cancel()
        stop_worker_thread(self.thread, self.worker)
