"""The engine on a background thread: one long-lived QObject owns the loaded model.

Requests carry ids. The newest request wins: a running job whose id is no longer the
latest stops at its next cancel check, and the window drops replies to stale requests.
torch and the engine are imported on this thread, so the window appears at once.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .threads import start_worker_thread, stop_worker_thread


@dataclass
class ColorizeRequest:
    request_id: int
    settings: dict  # ColorizeSettings fields: render_size, saturation
    source: Path | None = None
    data: bytes | None = None  # an image with no file, e.g. pasted
    image: object | None = None  # an already decoded LoadedImage (re-colorizing)
    label: str = ""
    original_display: object | None = None  # the grey view of `image`, when already built
    hints: list = field(default_factory=list)  # engine.hints.Hint, in the photo's pixels
    preview_size: int = 0  # > 0: a quick result at most this many pixels on the long side
    use_sidecar: bool = False  # a newly opened photo: apply its hint file, if it has one
    ab_small: object | None = None  # an earlier result's colour: rebuild it without the model
    restores: object | None = None  # the history entry that result belongs to


@dataclass
class ColorizeReply:
    request_id: int
    source: Path | None
    label: str
    image: object  # engine.image_io.LoadedImage
    rgb: object  # numpy float32 (H, W, 3) at full resolution
    original_display: object  # desktop.display.DisplayImage
    result_display: object
    settings: dict
    model_name: str
    device: str
    notes: list = field(default_factory=list)
    hints: list = field(default_factory=list)
    preview: bool = False  # rgb is a reduced copy, for the screen only
    ab_small: object | None = None  # the colour at render size (engine.pipeline.ColorizedImage)
    restores: object | None = None  # a history entry whose pixels this brings back


@dataclass
class SaveRequest:
    request_id: int
    path: Path
    image_format: str
    rgb: object
    image: object
    quality: int = 95


class EngineWorker(QObject):
    modelsListed = Signal(list)  # [(name, origin, description)]
    modelLoaded = Signal(str, str, float)  # model name, device, its vibrance temperature (-1: none)
    modelFailed = Signal(str)
    progress = Signal(int, float, str)  # request id, fraction, message
    finished = Signal(object)  # ColorizeReply
    failed = Signal(int, str)  # request id, message
    cancelled = Signal(int)
    saved = Signal(int, str, list)  # request id, path, notes
    saveFailed = Signal(int, str)

    def __init__(self):
        super().__init__()
        self._colorizer = None
        self._lock = threading.Lock()
        self._latest = 0
        self._cancelled: set[int] = set()
        self._preview_source = None  # (photo, size, reduced photo): one photo is edited at a time

    # Called from the GUI thread: plain state under a lock, so a cancel needs no event-loop trip.
    def mark_latest(self, request_id: int) -> None:
        with self._lock:
            self._latest = max(self._latest, request_id)

    def cancel(self, request_id: int) -> None:
        with self._lock:
            self._cancelled.add(request_id)

    def _should_stop(self, request_id: int) -> bool:
        with self._lock:
            return request_id in self._cancelled or request_id < self._latest

    @Slot()
    def list_models(self) -> None:
        try:
            from autochrome.engine import weights

            models = [(i.name, i.origin, i.description) for i in weights.list_models()]
        except Exception:  # a broken install shows up when the model loads; the list stays empty
            traceback.print_exc()
            models = []
        self.modelsListed.emit(models)

    @Slot(str, str)
    def load_model(self, model: str, device: str) -> None:
        try:
            from autochrome.engine.colorizer import Colorizer

            colorizer = Colorizer(model or None, device)
        except Exception as exc:  # includes a torch that fails to import: the window must say so
            traceback.print_exc()
            self.modelFailed.emit(str(exc) or type(exc).__name__)
            return
        self._colorizer = colorizer
        config = colorizer.info.config
        temperature = float(config.temperature) if getattr(config, "ab_classes", 0) else -1.0
        self.modelLoaded.emit(colorizer.info.name, colorizer.choice.describe(), temperature)

    @Slot(object)
    def colorize(self, request: ColorizeRequest) -> None:
        from autochrome.engine.color import lightness_to_grey_rgb
        from autochrome.engine.edit import ColorizeSettings
        from autochrome.engine.errors import AutochromeError, Cancelled
        from autochrome.engine.image_io import load_image, load_image_bytes

        from .display import DisplayImage

        rid = request.request_id
        if self._should_stop(rid):
            self.cancelled.emit(rid)
            return
        if self._colorizer is None:
            self.failed.emit(rid, "no model is loaded")
            return
        try:
            if request.image is not None:
                image = request.image
            elif request.data is not None:
                image = load_image_bytes(request.data, request.label or "pasted image")
            else:
                image = load_image(request.source)
            settings, hints, sidecar_notes = dict(request.settings), list(request.hints), []
            if request.use_sidecar and request.source is not None and request.ab_small is None:
                hints, settings, sidecar_notes = self._apply_sidecar(request.source, image, hints, settings)
            target, scale = image, 1.0
            if request.preview_size:
                target, scale = self._reduced(image, request.preview_size)
                hints = [replace(h, x=h.x / scale, y=h.y / scale) for h in hints]
            result = self._colorizer.colorize(
                target,
                ColorizeSettings(**settings),
                progress=lambda fraction, message: self.progress.emit(rid, fraction * 0.85, message),
                cancel=lambda: self._should_stop(rid),
                hints=hints,
                ab_small=request.ab_small,
            )
            self.progress.emit(rid, 0.9, "preparing display")
            original = request.original_display or DisplayImage.from_rgb(lightness_to_grey_rgb(image.lightness))
            if self._should_stop(rid):
                raise Cancelled()
            shown = DisplayImage.from_rgb(result.rgb, scale=scale)
        except Cancelled:
            self.cancelled.emit(rid)
            return
        except AutochromeError as exc:
            self.failed.emit(rid, str(exc))
            return
        except MemoryError as exc:
            self.failed.emit(rid, str(exc) or "not enough memory for this photo")
            return
        except Exception as exc:  # the window must survive any engine failure
            traceback.print_exc()
            self.failed.emit(rid, f"unexpected error: {exc}")
            return
        self.finished.emit(
            ColorizeReply(rid, request.source, request.label, image, result.rgb, original, shown, settings,
                          self._colorizer.info.name, self._colorizer.choice.describe(),
                          image.notes + sidecar_notes + result.notes, hints, bool(request.preview_size),
                          result.ab_small, request.restores)
        )

    @staticmethod
    def _apply_sidecar(source: Path, image, hints: list, settings: dict):
        """The photo's saved edit (hints, render size, saturation, vibrance); a bad file is a note."""
        from autochrome.engine import sidecar

        path = sidecar.find(source)
        if path is None:
            return hints, settings, []
        try:
            edit = sidecar.read(path, image.size)
        except sidecar.SidecarError as exc:
            return hints, settings, [f"{exc}; opened without it"]
        changes = {"render_size": edit.render_size, "saturation": edit.saturation, "temperature": edit.vibrance}
        settings = dict(settings, **{k: v for k, v in changes.items() if v is not None})
        count = len(edit.hints)
        return edit.hints, settings, [f"{count} hint{'s' if count != 1 else ''} from {path.name}"] if count else []

    def _reduced(self, image, size: int):
        """The photo at most `size` pixels on its long side (kept for the next edit), and the scale."""
        from autochrome.engine.image_io import reduced

        cached = self._preview_source
        if cached is not None and cached[0] is image and cached[1] == size:
            return cached[2], cached[3]
        small, scale = reduced(image, size)
        self._preview_source = (image, size, small, scale)
        return small, scale

    @Slot(object)
    def save(self, request: SaveRequest) -> None:
        from autochrome.engine.errors import AutochromeError
        from autochrome.engine.image_io import save_image

        image = request.image
        try:
            notes = save_image(request.path, request.rgb, request.image_format, image.alpha, image.bit_depth,
                               image.exif, request.quality)
        except (AutochromeError, OSError, ValueError) as exc:
            self.saveFailed.emit(request.request_id, str(exc))
            return
        self.saved.emit(request.request_id, str(request.path), notes)


class EngineThread(QObject):
    """Owns the QThread and its worker; `stop()` shuts it down before the app exits."""

    _colorize = Signal(object)
    _save = Signal(object)
    _load_model = Signal(str, str)
    _list_models = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = EngineWorker()
        self._colorize.connect(self.worker.colorize)
        self._save.connect(self.worker.save)
        self._load_model.connect(self.worker.load_model)
        self._list_models.connect(self.worker.list_models)
        self._next_id = 0
        self.thread = start_worker_thread(self.worker, "autochrome-engine")

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def submit(self, settings: dict, source: Path | None = None, data: bytes | None = None, image=None,
               label: str = "", original_display=None, hints=(), preview_size: int = 0,
               use_sidecar: bool = False, ab_small=None, restores=None) -> int:
        request_id = self._new_id()
        self.worker.mark_latest(request_id)
        self._colorize.emit(ColorizeRequest(request_id, dict(settings), source, data, image, label, original_display,
                                            list(hints), preview_size, use_sidecar, ab_small, restores))
        return request_id

    def save(self, path: Path, image_format: str, rgb, image, quality: int = 95) -> int:
        request_id = self._new_id()
        self._save.emit(SaveRequest(request_id, Path(path), image_format, rgb, image, quality))
        return request_id

    def cancel(self, request_id: int) -> None:
        self.worker.cancel(request_id)

    def load_model(self, model: str, device: str) -> None:
        self._load_model.emit(model, device)

    def list_models(self) -> None:
        self._list_models.emit()

    def interrupt(self) -> None:
        """Any colorizing stops at its next check; saves still run."""
        self.worker.mark_latest(self._next_id + 1)

    def stop(self) -> None:
        self.interrupt()
        stop_worker_thread(self.thread, self.worker)
