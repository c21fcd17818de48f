"""Which parts of a photo share a colour, learned: a small head on the frozen ImageNet encoder.

It maps the encoder's features at strides 4, 8 and 16 (and L) to an embedding at stride 4.
Trained so that two places' embeddings are close exactly when a person would put them in one
object (human segmentations: trainer/affinity_segments.py, the shipped head) or when their true
colours are close (trainer/frozen_encoder.py's AffinityLearner, `autochrome train --affinity-out`),
it tells the hint spreading where a colour carries: across a sky that looks alike to the
encoder, not from a kite into that sky, however alike their lightness. Shipped as its own small
file beside the default model, whose encoder it reads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

FEATURE_TAPS = (1, 2, 3)  # strides 4, 8, 16: the default; a head may also read 4 (stride 32)


@dataclass(frozen=True)
class AffinityConfig:
    encoder: str = "efficientnet_lite2"
    tap_channels: tuple[int, ...] = (24, 48, 120)
    width: int = 64
    dimensions: int = 16
    taps: tuple[int, ...] = FEATURE_TAPS  # which of the encoder's feature maps it reads, finest first

    def __post_init__(self):
        object.__setattr__(self, "tap_channels", tuple(int(c) for c in self.tap_channels))
        object.__setattr__(self, "taps", tuple(int(t) for t in self.taps))
        if not self.taps or list(self.taps) != sorted(set(self.taps)) or not all(0 <= t <= 4 for t in self.taps):
            raise ValueError("taps must be distinct feature maps 0-4 in increasing order")
        if len(self.tap_channels) != len(self.taps) or any(not 1 <= c <= 4096 for c in self.tap_channels):
            raise ValueError("tap_channels must give one width between 1 and 4096 per tap")
        if not 1 <= self.width <= 1024 or not 1 <= self.dimensions <= 256:
            raise ValueError("width must be 1-1024 and dimensions 1-256")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "AffinityConfig":
        raw = json.loads(text)
        raw["tap_channels"] = tuple(raw.get("tap_channels", ()))
        raw["taps"] = tuple(raw.get("taps", FEATURE_TAPS))  # files from before taps were chosen
        return cls(**raw)


class AffinityHead(nn.Module):
    def __init__(self, config: AffinityConfig):
        super().__init__()
        self.config = config
        cin = sum(config.tap_channels) + 1
        self.layers = nn.Sequential(
            nn.Conv2d(cin, config.width, 1), nn.ReLU(inplace=True),
            nn.Conv2d(config.width, config.width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(config.width, config.width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(config.width, config.dimensions, 1),
        )

    def forward(self, features: list[torch.Tensor], lightness: torch.Tensor) -> torch.Tensor:
        """(N, D, H/4, W/4) embeddings from the encoder's features and the normalised L."""
        taps = self.config.taps
        size = features[taps[0]].shape[-2:]
        parts = [features[taps[0]].float()]
        for tap in taps[1:]:
            parts.append(F.interpolate(features[tap].float(), size=size, mode="bilinear", align_corners=False))
        parts.append(F.adaptive_avg_pool2d(lightness.float(), size))
        return self.layers(torch.cat(parts, dim=1))


def similarity(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """How alike two places' colours are, in (0, 1], from their embeddings (last dimension)."""
    return torch.exp(-((first - second) ** 2).sum(dim=-1))
