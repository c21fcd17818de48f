"""A loaded model on a chosen device: the object the CLI and the app's worker hold.

It owns where the model runs: when a GPU runs out of memory it retries at half the render
size, then on the CPU, moving the model and forgetting every feature computed on the GPU
(a later render of the same photo must not mix devices), and says so in the result's notes.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import replace
from pathlib import Path

import torch

from . import weights
from .device import DeviceChoice, choose_device, cpu_choice, is_out_of_memory
from .edit import MIN_RENDER_SIZE, ColorizeSettings
from .hints import Hint
from .image_io import LoadedImage
from .pipeline import (
    CancelCheck,
    ColorizedImage,
    Colouring,
    EncoderMemo,
    ModelPredictor,
    ProgressCallback,
    colorize,
)


_GUIDES: "weakref.WeakValueDictionary" = weakref.WeakValueDictionary()
_GUIDES_LOCK = threading.Lock()


def shared_guide(device: torch.device) -> torch.nn.Module:
    """The default model on a device, loaded once for every Colorizer that needs its encoder
    (the models of a batch's sidecars would otherwise each load their own copy); freed when
    no Colorizer holds it. Read-only: guides only encode."""
    path = weights.resolve_model(None)
    key = (str(path), path.stat().st_mtime_ns, str(device))
    with _GUIDES_LOCK:
        guide = _GUIDES.get(key)
        if guide is None:
            guide, _ = weights.load_generator(path, device)
            _GUIDES[key] = guide
        return guide


class Colorizer:
    def __init__(self, model: str | Path | None = None, device: str = "auto"):
        self.choice: DeviceChoice = choose_device(device)
        path = weights.resolve_model(model)
        self.model, self.info = weights.load_generator(path, self.choice.device)
        self.memo = EncoderMemo()
        affinity = self._affinity_head()
        self._predictor = ModelPredictor(self.model, self.choice, self.memo, self._guide_model(affinity), affinity)
        self._damage_net = None
        self._damage_seen: tuple | None = None  # (the photo, held weakly; its damage probability)

    # ----------------------------------------------------------- restoration

    def damage_probability(self, image: LoadedImage, progress=None):
        """The damage network's chance of damage at each pixel of the photo (computed once per
        photo: brush strokes and strength changes reuse it)."""
        from .restore import damage_probability

        seen = self._damage_seen
        if seen is not None and seen[0]() is image:
            return seen[1]
        if self._damage_net is None:
            self._damage_net = weights.load_damage_net()  # on the CPU: it is small and runs banded
        probability = damage_probability(image.lightness, self._damage_net, progress)
        self._damage_seen = (weakref.ref(image), probability)
        return probability

    def restored(self, image: LoadedImage, edit, progress=None) -> tuple[LoadedImage, object]:
        """(the photo with its damage filled, the mask filled); nothing outside the mask changes."""
        from .restore import restore, restore_note

        lightness, mask, _ = restore(image.lightness, None, edit, self.damage_probability(image, progress))
        notes = list(image.notes) + [restore_note(mask, edit)]
        return replace(image, lightness=lightness, notes=notes), mask

    def _affinity_head(self) -> torch.nn.Module | None:
        """The hint spreading's affinity head that ships with the app (None without it: hints
        then spread by lightness alone)."""
        path = weights.shipped_affinity_path()
        if not path.is_file():
            return None
        try:
            return weights.load_affinity_head(path, self.choice.device)
        except Exception:  # noqa: BLE001  a damaged head costs the learned spreading, not the app
            return None

    def _guide_model(self, affinity) -> torch.nn.Module | None:
        """Whose encoder compares places and photos: the model's own when the affinity head was
        trained on that encoder (or there is no head), else the default model's (pix2pix has
        no encoder; the first model's is EfficientNet-Lite0)."""
        own = getattr(self.model, "config", None)
        if self.model.has_encoder and (affinity is None or (
                own.encoder == affinity.config.encoder and own.tf_compat)):
            return None
        try:
            return shared_guide(self.choice.device)
        except Exception:  # noqa: BLE001  a missing default only costs the reference photo and the head
            return None

    @property
    def stride(self) -> int:
        return self.info.config.stride

    @property
    def predictor(self) -> ModelPredictor:
        return self._predictor

    def describe(self) -> str:
        return f"model {self.info.name} on {self.choice.describe()}"

    def colorize(
        self,
        image: LoadedImage,
        settings: ColorizeSettings | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelCheck | None = None,
        hints: list[Hint] | None = None,
        ab_small=None,
        reference=None,
    ) -> ColorizedImage:
        settings = settings or ColorizeSettings()
        colouring = Colouring(list(hints or []), reference)
        notes = []
        while True:
            try:
                result = colorize(image, self._predictor, settings, colouring, progress, cancel, ab_small)
                result.notes[:0] = notes
                return result
            except Exception as exc:
                if not is_out_of_memory(exc):
                    raise
                notes.append(self._fall_back(settings))
                if notes[-1] is None:
                    raise MemoryError("not enough memory to colorize this photo; try a smaller render size") from None
                if "render size" in notes[-1]:
                    settings = replace(settings, render_size=settings.render_size // 2)

    def _fall_back(self, settings: ColorizeSettings) -> str | None:
        """The next thing to try after running out of memory, as a note; None when nothing is left."""
        if self.choice.device.type == "cpu":
            return None
        if self.choice.device.type == "cuda":
            torch.cuda.empty_cache()
        if settings.render_size // 2 >= MIN_RENDER_SIZE:
            return f"out of GPU memory: retried at render size {settings.render_size // 2}"
        self.choice = cpu_choice()
        self.model = self.model.to("cpu")
        own_guide = self._predictor.guide is self.model or self._predictor.guide is None
        affinity = self._predictor.affinity.to("cpu") if self._predictor.affinity is not None else None
        self.memo = EncoderMemo()  # features computed on the GPU must not meet the model on the CPU
        guide = None if own_guide else self._guide_model(affinity)  # the CPU's shared copy of the default
        self._predictor = ModelPredictor(self.model, self.choice, self.memo, guide, affinity)
        return "out of GPU memory: fell back to the CPU"
