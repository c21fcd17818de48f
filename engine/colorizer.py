"""A loaded model on a chosen device: the object the CLI and the app's worker hold."""

from __future__ import annotations

from pathlib import Path

from . import weights
from .colorize import (
    CancelCheck,
    ColorizedImage,
    ColorizeSettings,
    EncoderMemo,
    ProgressCallback,
    colorize,
)
from .device import DeviceChoice, choose_device, cpu_choice
from .hints import Hint
from .image_io import LoadedImage


class Colorizer:
    def __init__(self, model: str | Path | None = None, device: str = "auto"):
        self.choice: DeviceChoice = choose_device(device)
        path = weights.resolve_model(model)
        self.model, self.info = weights.load_generator(path, self.choice.device)
        self.memo = EncoderMemo()

    @property
    def stride(self) -> int:
        return self.info.config.stride

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
    ) -> ColorizedImage:
        result = colorize(image, self.model, self.stride, self.choice, settings, progress, cancel, hints, self.memo,
                          ab_small)
        if result.device == "cpu" and self.choice.device.type != "cpu":
            # The pipeline moved the model to the CPU after running out of GPU memory.
            self.choice = cpu_choice()
        return result
