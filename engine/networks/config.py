"""The generator's architecture, as a frozen value stored inside every weights file."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

ARCHITECTURES = ("unet", "pix2pix")
ENCODERS = ("resnet18", "resnet34", "efficientnet_lite0")


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything needed to rebuild a generator; loading never asks the caller.

    architecture "unet": an encoder (ResNet or EfficientNet-Lite0) with a U-Net decoder.
    architecture "pix2pix": the seed's first model, the plain pix2pix U-Net.
    """

    architecture: str = "unet"
    encoder: str = "resnet34"
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 16)
    self_attention: bool = False
    # pix2pix only: how many stride-2 levels and the width of the first one.
    pix2pix_downs: int = 8
    pix2pix_filters: int = 64
    # Calibration of the output's strength: the tanh output is multiplied by this. Chosen
    # after training (see the model card) so that the model is as colourful as real photos.
    ab_gain: float = 1.0

    def __post_init__(self):
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; expected one of {ARCHITECTURES}")
        if self.architecture == "unet":
            if self.encoder not in ENCODERS:
                raise ValueError(f"unknown encoder {self.encoder!r}; expected one of {ENCODERS}")
            if len(self.decoder_channels) != 5:
                raise ValueError("decoder_channels needs one width per decoder stage (5)")
        object.__setattr__(self, "decoder_channels", tuple(int(c) for c in self.decoder_channels))
        if not 0.0 < self.ab_gain <= 2.0:
            raise ValueError("ab_gain must be in (0, 2]")

    @property
    def stride(self) -> int:
        """Inputs must be a multiple of this size; the pipeline pads to it."""
        return 2**self.pix2pix_downs if self.architecture == "pix2pix" else 32

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "GeneratorConfig":
        raw = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"model config has unknown fields {sorted(unknown)}; is the file from a newer Autochrome?")
        if "decoder_channels" in raw:
            raw["decoder_channels"] = tuple(raw["decoder_channels"])
        return cls(**raw)
