"""A loaded model on a chosen device: the object the CLI and the app's worker hold.

It owns where the model runs: when a GPU runs out of memory it retries at half the render
size, then on the CPU, moving the model and forgetting every feature computed on the GPU
(a later render of the same photo must not mix devices), and says so in the result's notes.
"""

from __future__ import annotations

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


class Colorizer:
    def __init__(self, model: str | Path | None = None, device: str = "auto"):
        self.choice: DeviceChoice = choose_device(device)
        path = weights.resolve_model(model)
        self.model, self.info = weights.load_generator(path, self.choice.device)
        self.memo = EncoderMemo()
        self._predictor = ModelPredictor(self.model, self.choice, self.memo, self._guide_model())

    def _guide_model(self) -> torch.nn.Module | None:
        """A model without an encoder of its own (pix2pix) compares photos through the
        default model's encoder."""
        if hasattr(self.model, "encode"):
            return None
        try:
            guide, _ = weights.load_generator(weights.resolve_model(None), self.choice.device)
        except Exception:  # noqa: BLE001  a missing default only costs the reference photo
            return None
        return guide

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
        guide = self._predictor.guide if self._predictor.guide is not self.model else None
        self.memo = EncoderMemo()  # features computed on the GPU must not meet the model on the CPU
        self._predictor = ModelPredictor(self.model, self.choice, self.memo, guide.to("cpu") if guide else None)
        return "out of GPU memory: fell back to the CPU"
