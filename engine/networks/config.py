"""The generator's architecture, as a frozen value stored inside every weights file."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

ARCHITECTURES = ("unet", "pix2pix")
ENCODERS = ("resnet18", "resnet34", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
# Ten times the largest network Autochrome trains: a config asking for more is damaged or
# hostile, and must fail with a sentence before gigabytes are allocated.
MAX_PARAMETERS = 250_000_000


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
    # EfficientNet-Lite: feed the ImageNet weights what TF-Lite fed them ((x - 127) / 128, SAME
    # padding). False only for the first shipped model, trained before this was fixed.
    tf_compat: bool = False
    # A second input: the user's colour hints (sparse ab map and mask) into every decoder stage.
    hint_input: bool = False
    # 0: regress ab. Otherwise classify into this many ab bins, decoded by the annealed mean
    # at `temperature` (chosen after training, like ab_gain; the app can override it).
    ab_classes: int = 0
    temperature: float = 0.38
    # Where the decoder stops: 1 (full resolution, with L in the last stage), 2 or 4.
    output_stride: int = 1
    # Classifiers: each cell's colour distribution is averaged with its neighbours' of similar
    # lightness before decoding (spatial sigma in cells; 0: off), against blotches.
    decode_smoothing: float = 0.0
    # Classifiers: colour strength follows confidence, the gain scaled by
    # (confidence / its mean over the photo) ** this (0: one gain everywhere).
    confidence_power: float = 0.0

    def __post_init__(self):
        for name in ("pix2pix_downs", "pix2pix_filters", "ab_classes", "output_stride"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} must be a whole number, not {value!r}")
        if not isinstance(self.decoder_channels, (tuple, list)) or not all(
                isinstance(c, int) and not isinstance(c, bool) for c in self.decoder_channels):
            raise ValueError("decoder_channels must be a list of whole numbers")
        for name in ("self_attention", "tf_compat", "hint_input"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")
        for name in ("ab_gain", "temperature", "decode_smoothing", "confidence_power"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
                raise ValueError(f"{name} must be a number")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; expected one of {ARCHITECTURES}")
        if self.architecture == "unet":
            if self.encoder not in ENCODERS:
                raise ValueError(f"unknown encoder {self.encoder!r}; expected one of {ENCODERS}")
            if self.output_stride not in (1, 2, 4):
                raise ValueError("output_stride must be 1, 2 or 4")
            stages = 5 - self.output_stride.bit_length() + 1
            if len(self.decoder_channels) != stages:
                raise ValueError(f"decoder_channels needs one width per decoder stage ({stages})")
        object.__setattr__(self, "decoder_channels", tuple(int(c) for c in self.decoder_channels))
        # Bounds that no real model comes near: a damaged or hostile file must fail here with
        # a sentence, not in the allocator with gigabytes requested.
        if any(not 1 <= c <= 4096 for c in self.decoder_channels):
            raise ValueError("decoder_channels must be between 1 and 4096")
        if not 5 <= self.pix2pix_downs <= 9 or not 1 <= self.pix2pix_filters <= 128:
            raise ValueError("pix2pix needs 5 to 9 levels and 1 to 128 filters")
        if self.estimated_parameters() > MAX_PARAMETERS:
            raise ValueError(f"the network it describes would have {self.estimated_parameters() / 1e6:.0f} million "
                             f"parameters; Autochrome builds at most {MAX_PARAMETERS / 1e6:.0f} million")
        if self.ab_classes > 1024:
            raise ValueError("ab_classes must be at most 1024")
        if not 0.0 < self.ab_gain <= 2.0:
            raise ValueError("ab_gain must be in (0, 2]")
        if self.ab_classes < 0 or (self.ab_classes and self.architecture != "unet"):
            raise ValueError("ab_classes needs the unet architecture and a positive count")
        if self.hint_input and self.architecture != "unet":
            raise ValueError("hint_input needs the unet architecture")
        if not 0.01 <= self.temperature <= 2.0:
            raise ValueError("temperature must be in [0.01, 2]")
        if not 0.0 <= self.decode_smoothing <= 4.0 or not 0.0 <= self.confidence_power <= 4.0:
            raise ValueError("decode_smoothing and confidence_power must be in [0, 4]")

    def estimated_parameters(self) -> int:
        """An upper estimate of the parameter count, from the config alone (before building)."""
        if self.architecture == "pix2pix":
            widths = [min(self.pix2pix_filters * 2**level, self.pix2pix_filters * 8) for level in range(self.pix2pix_downs)]
            # each level: a 4x4 down convolution and a 4x4 up convolution of twice the width
            return sum(16 * 3 * w * w for w in widths)
        encoder = 22_000_000 if self.encoder == "resnet34" else 12_000_000
        widths = (512,) + tuple(self.decoder_channels)
        decoder = sum(9 * (a + 512) * b + 9 * b * b + 2 * a * a for a, b in zip(widths, widths[1:]))
        return encoder + decoder + max(self.ab_classes, 2) * widths[-1]

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
        if "decoder_channels" in raw and isinstance(raw["decoder_channels"], list):
            raw["decoder_channels"] = tuple(raw["decoder_channels"])
        return cls(**raw)
