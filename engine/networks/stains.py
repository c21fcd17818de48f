"""The stain branch of the damage network: water stains, foxing and blotches, found on the whole photo.

A stain is wider than anything the per-pixel network sees (its context spans 120 px, its
training crops 192): on a 2,000 px scan one is hundreds of pixels across, a region whose tone
is shifted by 10-30 L behind a soft rim, with the photo's own detail still inside. Only the
whole photo tells it from a dark coat or a lit wall, so this branch looks at the whole photo,
small: its L at STAIN_SIDE px on the longer side and that L less its blur (a stain's rim, a
plateau's edge, apart from the photo's broad shading), through a small U-Net with group
normalisation (without it the branch learned nothing in 650 steps: a stain is 1 % of the
cells), giving the chance of a stain at half that size, resized to the photo's pixels.

`stain_input` is the one definition of what the branch sees, for training and for use alike.
The shipped damage network has no such branch: the one trained (d9 in resources/guide/README.md)
took dark objects on light grounds for stains on real photos.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import color

STAIN_SIDE = 256  # px, the longer side of the photo as the branch sees it
STAIN_STRIDE = 2  # the chance comes at half that size: 16 px cells of a 2,000 px scan
_PAD = 16  # the U-Net halves the size four times
HIGH_PASS_SIGMA = 6.0  # px at STAIN_SIDE: wider than a stain's rim, narrower than most stains


def stain_input(lightness: np.ndarray) -> np.ndarray:
    """The photo's L (H, W) in [0, 100] at STAIN_SIDE px on its longer side (never enlarged),
    normalised, and that less its blur: (2, h, w) float32."""
    height, width = lightness.shape
    scale = min(1.0, STAIN_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(np.ascontiguousarray(lightness, np.float32), size, interpolation=cv2.INTER_AREA)
    small = color.normalize_l(small).astype(np.float32)
    return np.stack([small, small - cv2.GaussianBlur(small, (0, 0), HIGH_PASS_SIGMA)])


def _block(inputs: int, outputs: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride=stride, padding=dilation, dilation=dilation),
                         nn.GroupNorm(4, outputs), nn.ReLU(inplace=True))


class StainNet(nn.Module):
    """A small U-Net: (N, 2, h, w) `stain_input` -> (N, 1, ceil(h/2), ceil(w/2)) stain logits."""

    def __init__(self, width: int = 16):
        super().__init__()
        w1, w2, w3, w4 = width, 2 * width, 3 * width, 4 * width
        self.stem = nn.Sequential(_block(2, w1, stride=2), _block(w1, w1))
        self.down2 = nn.Sequential(_block(w1, w2, stride=2), _block(w2, w2))
        self.down3 = nn.Sequential(_block(w2, w3, stride=2), _block(w3, w3, dilation=2), _block(w3, w3, dilation=4))
        self.down4 = nn.Sequential(_block(w3, w4, stride=2), _block(w4, w4, dilation=2), _block(w4, w4, dilation=4))
        self.up3 = _block(w4 + w3, w3)
        self.up2 = _block(w3 + w2, w2)
        self.up1 = _block(w2 + w1, w1)
        self.out = nn.Conv2d(w1, 1, 1)

    def forward(self, small: torch.Tensor) -> torch.Tensor:
        height, width = small.shape[-2:]
        padded = F.pad(small, (0, (-width) % _PAD, 0, (-height) % _PAD), mode="replicate")
        half = self.stem(padded)
        quarter = self.down2(half)
        eighth = self.down3(quarter)
        sixteenth = self.down4(eighth)
        x = self.up3(torch.cat([_up(sixteenth, eighth), eighth], dim=1))
        x = self.up2(torch.cat([_up(x, quarter), quarter], dim=1))
        x = self.up1(torch.cat([_up(x, half), half], dim=1))
        return self.out(x)[..., : -(-height // STAIN_STRIDE), : -(-width // STAIN_STRIDE)]


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


@torch.inference_mode()
def stain_logits(lightness: np.ndarray, net: StainNet) -> np.ndarray:
    """The branch's (h, w) stain logits for a photo's L (H, W) in [0, 100], float32."""
    return net.eval()(torch.from_numpy(stain_input(lightness))[None])[0, 0].numpy()


def stain_chance(logits: np.ndarray, full_shape: tuple[int, int], shift: float = 0.0) -> np.ndarray:
    """The chance of a stain at each of the photo's (H, W) pixels, float16, from `stain_logits`
    (less `shift`, a move of the operating point): resized as logits, so a stain's rim stays
    where the branch put it rather than blurring into a halo of middling chances."""
    height, width = full_shape
    resized = cv2.resize(np.ascontiguousarray(logits - shift, np.float32), (width, height),
                         interpolation=cv2.INTER_LINEAR)
    # By torch: numpy took 0.3 s at 12 MP to make float16 of the many chances too small for its
    # normal numbers, torch 0.01 s.
    return torch.sigmoid_(torch.from_numpy(resized)).to(torch.float16).numpy()
