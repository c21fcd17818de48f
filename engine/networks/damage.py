"""The damage mask network: which pixels of an old print are scratches, dust, cracks or stains.

Two parts, so that a 12-megapixel scan is searched in about a second on a CPU:
- context: the first stages of the ImageNet EfficientNet-Lite0 (frozen, as trained on ImageNet)
  on the photo at a quarter of its size, and a small learned decoder to 8 channels at an eighth
  of the full size: what is around a pixel (a stain's extent, a crack's path, hair or wires
  that are not damage);
- full resolution: fixed filter responses of each pixel (the lightness, morphological top-hat
  and black-hat at 3, 7 and 15 px, the residual of a 5 px median, the contrast to a 15 px mean:
  a one-pixel scratch is a strong response of the small filters) joined with the upsampled
  context, and a learned per-pixel head (1x1 convolutions) giving the chance of damage.

`local_features` is the one definition of the filters, for training and for use alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import color
from .efficientnet import EfficientNetLiteEncoder

LOCAL_CHANNELS = 9
CONTEXT_SCALE = 4  # the context sees the photo at a quarter of its size
CONTEXT_BLOCKS = 3  # Lite0's stem and blocks 0-2: features at strides 2 (16 ch) and 4 (24 ch)
_U16 = 655.35  # L in [0, 100] as 16-bit levels, so OpenCV's morphology runs on integers


@dataclass(frozen=True)
class DamageConfig:
    context_channels: int = 8
    hidden: int = 16
    version: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DamageConfig":
        raw = json.loads(text)
        known = {"context_channels", "hidden", "version"}
        if set(raw) - known:
            raise ValueError(f"damage model config has unknown fields {sorted(set(raw) - known)}")
        config = cls(**raw)
        if not (1 <= config.context_channels <= 64 and 1 <= config.hidden <= 256):
            raise ValueError("damage model config out of range")
        return config


def local_features(lightness: np.ndarray) -> np.ndarray:
    """(H, W, LOCAL_CHANNELS) float32 filter responses of L (H, W) in [0, 100], scaled to about
    [-1, 1] for damage."""
    levels = np.clip(lightness * _U16, 0, 65535).astype(np.uint16)
    out = np.empty(lightness.shape + (LOCAL_CHANNELS,), np.float32)
    out[..., 0] = lightness / 50.0 - 1.0
    channel = 1
    for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        for size in (3, 7, 15):
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
            out[..., channel] = cv2.morphologyEx(levels, operation, kernel) * (1.0 / (_U16 * 20.0))
            channel += 1
    median = cv2.medianBlur(levels, 5).astype(np.float32) * (1.0 / _U16)
    out[..., 7] = (lightness - median) / 20.0
    mean = cv2.boxFilter(lightness.astype(np.float32), -1, (15, 15), borderType=cv2.BORDER_REFLECT)
    out[..., 8] = (lightness - mean) / 20.0
    return out


class DamageNet(nn.Module):
    def __init__(self, config: DamageConfig = DamageConfig()):
        super().__init__()
        self.config = config
        encoder = EfficientNetLiteEncoder("efficientnet_lite0", tf_compat=True)
        encoder._blocks = encoder._blocks[:CONTEXT_BLOCKS]
        encoder.taps = tuple(tap for tap in encoder.taps if tap < CONTEXT_BLOCKS)
        encoder.channels = encoder.channels[: len(encoder.taps)]
        self.encoder = encoder
        fine, coarse = encoder.channels  # 16 at stride 2, 24 at stride 4
        self.decoder = nn.Sequential(nn.Conv2d(fine + coarse, 16, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv2d(16, config.context_channels, 1))
        self.head = nn.Sequential(nn.Conv2d(LOCAL_CHANNELS + config.context_channels, config.hidden, 1),
                                  nn.ReLU(inplace=True), nn.Conv2d(config.hidden, 1, 1))

    def context(self, lightness: torch.Tensor) -> torch.Tensor:
        """(N, C, H/8, W/8)-ish context features of normalised L (N, 1, H, W) at full size."""
        small = F.interpolate(lightness, scale_factor=1 / CONTEXT_SCALE, mode="area") if CONTEXT_SCALE > 1 else lightness
        height, width = small.shape[-2:]
        padded = F.pad(small, (0, (-width) % 4, 0, (-height) % 4), mode="replicate")
        fine, coarse = self.encoder(padded)
        coarse = F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=False)
        return self.decoder(torch.cat([fine, coarse], dim=1))

    def logits(self, local: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Per-pixel damage logits (N, 1, h, w) from local features (N, 9, h, w) and the context
        already resampled to those pixels (N, C, h, w)."""
        return self.head(torch.cat([local, context], dim=1))[:, 0:1]


def context_at(context: torch.Tensor, full_shape: tuple[int, int], rows: slice | None = None) -> torch.Tensor:
    """The context resampled to full-size pixels (all rows, or a band of them), bilinearly as if
    the whole map were resized at once (a band never sees a seam)."""
    height, width = full_shape
    rows = rows or slice(0, height)
    small_h, small_w = context.shape[-2:]
    # The context covers the padded quarter-size photo: its pixel i spans full-size pixels
    # [i * s, (i + 1) * s), s = 2 * CONTEXT_SCALE (tap 0 is at stride 2 of the quarter photo).
    stride = 2 * CONTEXT_SCALE
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) / stride - 0.5
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / stride - 0.5
    grid_y = (ys.clamp(0, small_h - 1) + 0.5) / small_h * 2 - 1
    grid_x = (xs.clamp(0, small_w - 1) + 0.5) / small_w * 2 - 1
    grid = torch.stack(torch.meshgrid(grid_y, grid_x, indexing="ij")[::-1], dim=-1)[None]
    return F.grid_sample(context, grid.to(context.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def normalised(lightness: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(color.normalize_l(np.ascontiguousarray(lightness, np.float32)))[None, None]
