"""The engine on a background thread: one long-lived QObject owns the loaded model.

Requests carry ids. The newest request wins: a running job whose id is no longer the
latest stops at its next cancel check, and the window drops replies to stale requests.
torch and the engine are imported on this thread, so the window appears at once.
"""

from __future__ import annotations

import threading
import weakref
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from .threads import start_worker_thread, stop_worker_thread


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
    reference: object | None = None  # the reference photo the result took colours from
    restore: object | None = None  # engine.edit.RestoreEdit the photo was restored with
    damage: object | None = None  # numpy bool mask of what restoration filled, at most OVERLAY_SIDE (the overlay)


OVERLAY_SIDE = 2048  # the damage overlay's long side: enough for a screen, small at 100 megapixels


@dataclass
class SaveRequest:
    request_id: int
    path: Path
    image_format: str
    rgb: object
    image: object
    quality: int = 95
    # Before/after: the grey original beside `rgb`, composed here (on a large photo it is
    # hundreds of megabytes of work the window must not wait for).
    comparison: bool = False


# Models named by photos' sidecars, kept loaded (about 25 MB each on the CPU) for the next
# photo that names them; a batch naming many models keeps only the last few.
MAX_OTHER_MODELS = 3


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
    referenceLoaded = Signal(object)  # engine.reference.ReferencePhoto
    referenceFailed = Signal(str)
    modelImported = Signal(str)  # the path it was copied to
    modelImportFailed = Signal(str)

    def __init__(self):
        super().__init__()
        self._colorizer = None
        self._others: dict = {}  # models that photos' sidecars name, loaded when first asked for
        self._lock = threading.Lock()
        self._latest = 0
        self._cancelled: set[int] = set()
        self._preview_source = None  # (photo, size, reduced photo, scale): one photo is edited at a time
        self._preview_fill = None  # the last restored preview's fill, for the next stroke

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
        self._others = {}
        config = colorizer.info.config
        temperature = float(config.temperature) if getattr(config, "ab_classes", 0) else -1.0
        self.modelLoaded.emit(colorizer.info.name, colorizer.choice.describe(), temperature)

    @Slot(object)
    def colorize(self, request) -> None:
        """Run a desktop.photo_session.RenderRequest; reply with finished, failed or cancelled."""
        from autochrome.engine.errors import AutochromeError, Cancelled

        rid = request.request_id
        if self._should_stop(rid):
            self.cancelled.emit(rid)
            return
        if self._colorizer is None:
            self.failed.emit(rid, "no model is loaded")
            return
        try:
            reply = self._render(request, rid)
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
        self.finished.emit(reply)

    def _render(self, request, rid: int) -> ColorizeReply:
        from autochrome.engine.color import lightness_to_grey_rgb
        from autochrome.engine.edit import ColorizeSettings
        from autochrome.engine.errors import Cancelled

        from .display import DisplayImage
        from .photo_session import scaled_hints

        image = self._decode(request)
        settings, hints, reference, model, notes = dict(request.settings), list(request.hints), request.reference, \
            request.model, []
        restore = request.restore
        if request.kind == "open" and request.source is not None:
            hints, settings, reference, model, notes, restore = self._apply_sidecar(request.source, image, settings)
        colorizer, model_note = self._colorizer_for(model)
        notes += model_note
        target, scale = image, 1.0
        if request.preview_size:
            target, scale = self._reduced(image, request.preview_size)
            hints = scaled_hints(hints, image.size, target.size)
        target, damage = self._restored(colorizer, image, target, restore, rid)
        result = colorizer.colorize(
            target, ColorizeSettings(**settings),
            progress=lambda fraction, message: self.progress.emit(rid, fraction * 0.85, message),
            cancel=lambda: self._should_stop(rid), hints=hints, ab_small=request.ab_small, reference=reference)
        self.progress.emit(rid, 0.9, "preparing display")
        original = request.original_display or DisplayImage.from_rgb(lightness_to_grey_rgb(image.lightness))
        if self._should_stop(rid):
            raise Cancelled()
        shown = DisplayImage.from_rgb(result.rgb, scale=scale)
        if request.preview_size:
            hints = list(request.hints)  # the reply speaks of the photo's own pixels
        return ColorizeReply(rid, request.source, request.label, image, result.rgb, original, shown, settings,
                             colorizer.info.name, colorizer.choice.describe(), image.notes + notes + result.notes,
                             hints, bool(request.preview_size), result.ab_small, reference, restore, damage)

    def _restored(self, colorizer, image, target, restore, rid):
        """(the photo to colorize, with its damage filled when restoration is on; the mask at
        overlay size). The damage is found once per photo at full size; a preview fills a
        reduced copy (engine.restore.restored_view), so a stroke shows at once."""
        if restore is None or not restore.enabled:
            return target, None
        from dataclasses import replace

        from autochrome.engine.restore import FillCache, restored_view, tone

        probability = colorizer.damage_probability(
            image, progress=lambda fraction: self.progress.emit(rid, 0.1 * fraction, "finding damage"))
        preview = target.lightness.shape != probability.shape
        if preview and self._preview_fill is None:
            self._preview_fill = FillCache()  # a stroke then refills only the tiles it touches
        lightness, overlay = restored_view(target.lightness, probability, restore, OVERLAY_SIDE,
                                           self._preview_fill if preview else None)
        if restore.tone:
            lightness = tone(lightness)
        return replace(target, lightness=lightness), overlay

    @staticmethod
    def _decode(request):
        from autochrome.engine.image_io import load_image, load_image_bytes

        if request.image is not None:
            return request.image
        if request.data is not None:
            return load_image_bytes(request.data, request.label or "pasted image")
        return load_image(request.source)

    def _colorizer_for(self, name: str | None):
        """The loaded model, or another one a photo's edit names (loaded once); a model that
        cannot be had is a note, and the loaded one colorizes."""
        current = self._colorizer
        if not name or name == current.info.name:
            return current, []
        if name not in self._others:
            try:
                from autochrome.engine.colorizer import Colorizer

                other = Colorizer(name, current.choice.device.type)
            except Exception as exc:  # noqa: BLE001  a missing model never costs the photo
                other = exc
            while len(self._others) >= MAX_OTHER_MODELS:
                self._others.pop(next(iter(self._others)))  # the least recently used goes
        else:
            other = self._others.pop(name)
        self._others[name] = other  # the most recently used last
        if isinstance(other, Exception):
            return current, [f"its model {name!r} is not available ({other}); colorized with {current.info.name}"]
        return other, []

    @staticmethod
    def _apply_sidecar(source: Path, image, settings: dict):
        """The photo's saved edit: (hints, settings, reference, model, notes, restoration); a bad
        file is a note."""
        from autochrome.engine import sidecar
        from autochrome.engine.edit import ColorizeSettings, settings_for
        from autochrome.engine.errors import AutochromeError
        from autochrome.engine.reference import ReferencePhoto

        path = sidecar.find(source)
        if path is None:
            return [], settings, None, None, [], None
        try:
            edit = sidecar.read(path, image.size)
        except sidecar.SidecarError as exc:
            return [], settings, None, None, [f"{exc}; opened without it"], None
        merged = settings_for(ColorizeSettings(**settings), edit)
        settings = {key: getattr(merged, key) for key in settings} | {"reach": merged.reach}
        notes = [f"{len(edit.hints)} hint{'s' if len(edit.hints) != 1 else ''} from {path.name}"] if edit.hints else []
        reference = None
        if edit.reference:
            try:
                reference = ReferencePhoto.load(sidecar.reference_path(edit, path))
                notes.append(f"colours from {reference.path.name}")
            except (AutochromeError, OSError) as exc:
                notes.append(f"reference photo {exc}; colorized without it")
        return edit.hints, settings, reference, edit.model, notes, edit.restore

    def _reduced(self, image, size: int):
        """The photo at most `size` pixels on its long side (kept for the next edit), and the scale."""
        from autochrome.engine.image_io import reduced

        cached = self._preview_source
        if cached is not None and cached[0]() is image and cached[1] == size:
            return cached[2], cached[3]
        small, scale = reduced(image, size)
        # Held weakly: the history decides how long a photo stays in memory, not the preview.
        self._preview_source = (weakref.ref(image), size, small, scale)
        return small, scale

    @Slot(str)
    def load_reference(self, path: str) -> None:
        """Decode a reference photo here, not on the window's thread (it may be 24 megapixels)."""
        from autochrome.engine.errors import AutochromeError
        from autochrome.engine.reference import ReferencePhoto

        try:
            reference = ReferencePhoto.load(path)
        except (AutochromeError, OSError) as exc:
            self.referenceFailed.emit(str(exc))
            return
        except MemoryError:
            self.referenceFailed.emit(f"{path}: not enough memory to read it")
            return
        self.referenceLoaded.emit(reference)

    @Slot(object)
    def save(self, request: SaveRequest) -> None:
        from autochrome.engine.errors import AutochromeError
        from autochrome.engine.image_io import save_image

        image, rgb = request.image, request.rgb
        try:
            if request.comparison:
                from autochrome.engine.image_io import LoadedImage

                from .save_rules import comparison_rgb

                rgb = comparison_rgb(image.lightness, rgb)
                image = LoadedImage(None, image.lightness, 8, request.image_format)
            notes = save_image(request.path, rgb, request.image_format, image.alpha, image.bit_depth,
                               image.exif, request.quality)
        except (AutochromeError, OSError, ValueError) as exc:
            self.saveFailed.emit(request.request_id, str(exc))
            return
        except MemoryError:
            self.saveFailed.emit(request.request_id, f"{request.path.name}: not enough memory to save it")
            return
        except Exception as exc:  # a save must always end in saved or saveFailed, or closing waits
            traceback.print_exc()
            self.saveFailed.emit(request.request_id, f"{request.path.name}: unexpected error ({exc})")
            return
        self.saved.emit(request.request_id, str(request.path), notes)


    @Slot(str)
    def import_model(self, path: str) -> None:
        """Check that a model file loads and copy it into the user's models, off the window's thread."""
        from autochrome.engine import weights
        from autochrome.engine.errors import ModelError

        try:
            target = weights.import_model(path)
        except (ModelError, OSError, ValueError) as exc:
            self.modelImportFailed.emit(str(exc))
            return
        except Exception as exc:  # noqa: BLE001  an import must end in one of the two signals
            traceback.print_exc()
            self.modelImportFailed.emit(f"{Path(path).name}: unexpected error ({exc})")
            return
        self.modelImported.emit(str(target))


class EngineThread(QObject):
    """Owns the QThread and its worker; `stop()` shuts it down before the app exits."""

    _colorize = Signal(object)
    _save = Signal(object)
    _load_model = Signal(str, str)
    _list_models = Signal()
    _load_reference = Signal(str)
    _import_model = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.worker = EngineWorker()
        self._colorize.connect(self.worker.colorize)
        self._save.connect(self.worker.save)
        self._load_model.connect(self.worker.load_model)
        self._list_models.connect(self.worker.list_models)
        self._load_reference.connect(self.worker.load_reference)
        self._import_model.connect(self.worker.import_model)
        self._next_id = 0
        self.thread = start_worker_thread(self.worker, "autochrome-engine")

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def submit(self, request) -> int:
        """Run a desktop.photo_session.RenderRequest; its id is the one returned."""
        request_id = self._new_id()
        request.request_id = request_id
        self.worker.mark_latest(request_id)
        self._colorize.emit(request)
        return request_id

    def save(self, path: Path, image_format: str, rgb, image, quality: int = 95, comparison: bool = False) -> int:
        request_id = self._new_id()
        self._save.emit(SaveRequest(request_id, Path(path), image_format, rgb, image, quality, comparison))
        return request_id

    def import_model(self, path: Path) -> None:
        self._import_model.emit(str(path))

    def cancel(self, request_id: int) -> None:
        self.worker.cancel(request_id)

    def load_model(self, model: str, device: str) -> None:
        self._load_model.emit(model, device)

    def list_models(self) -> None:
        self._list_models.emit()

    def load_reference(self, path: Path) -> None:
        self._load_reference.emit(str(path))

    def interrupt(self) -> None:
        """Any colorizing stops at its next check; saves still run."""
        self.worker.mark_latest(self._next_id + 1)

    def stop(self) -> None:
        self.interrupt()
        stop_worker_thread(self.thread, self.worker)
