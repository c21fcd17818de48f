"""Colour from a reference photo: each part of the photo takes the colour of the part of the
reference that looks most alike (after the exemplar-based colorization of He et al. 2018,
without its trained networks).

Both photos' lightness goes through the same ImageNet encoder. At stride 8, each position of
the photo is compared with every position of the reference (cosine similarity of features
from strides 8, 16 and 32, each normalised); a softmax over the reference's positions turns
the similarities into weights, and the weighted mean of the reference's colour there is the
colour the reference offers. How alike the best match is becomes a confidence: where the
reference shows nothing like the photo, the model's own colour stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import color

MATCH_STRIDE = 8
# Matching compares every cell of the photo with every cell of the reference, so its cost
# grows with the fourth power of the size: it runs at most at this long side whatever the
# render size (at 2048 it would hold a 9.7 GB matrix, at 4096 155 GB). 512 px is 64 cells
# across, finer than the colour of a reference needs to be.
MATCH_SIZE = 512
# A reference is kept at most this large (float sRGB, about 8 MB): matching never needs more,
# and a 100-megapixel one kept whole would take 1.2 GB of the history's memory.
KEPT_SIZE = 1024
TAPS = (2, 3, 4)  # strides 8, 16, 32
TAP_WEIGHTS = (1.0, 1.0, 0.5)
# Chosen on training photos (40 of bsds-val, urban100 and sunhays80, each matched with its own
# mirrored crop and with an unrelated photo; bench/reference_eval.py measures the eval sets):
# a sharper softmax or looser confidence colours more from an unrelated reference.
SOFTMAX_TEMPERATURE = 0.05
# Cosine similarity of the best match at which the reference's colour starts to count, and
# from which it counts in full.
CONFIDENT_FROM, CONFIDENT_AT = 0.4, 0.6


# Places of similar lightness are likelier to share a colour: the matching weights are also
# scaled by exp(-(L difference / LIGHTNESS_SIGMA)^2 / 2) (0: off).
LIGHTNESS_SIGMA = 6.0


@dataclass
class PreparedReference:
    """A reference photo at the render size: its features at stride 8 and its colour there."""

    descriptors: torch.Tensor  # (Nr, C), unit length
    ab: torch.Tensor  # (Nr, 2) mean ab of each cell, Lab units
    size: tuple[int, int]
    lightness: torch.Tensor | None = None  # (Nr,) mean L of each cell


def descriptors(features: list[torch.Tensor], shape: tuple[int, int]) -> torch.Tensor:
    """(H/8 * W/8, C) unit descriptors from an encoder's taps of one photo (batch of 1)."""
    height, width = shape
    parts = []
    for tap, weight in zip(TAPS, TAP_WEIGHTS):
        feature = features[tap].float()
        if feature.shape[-2:] != (height, width):
            feature = F.interpolate(feature, size=(height, width), mode="bilinear", align_corners=False)
        parts.append(F.normalize(feature, dim=1) * weight)
    joined = F.normalize(torch.cat(parts, dim=1), dim=1)
    return joined[0].flatten(1).T


def cells(shape: tuple[int, int]) -> tuple[int, int]:
    return max(1, shape[0] // MATCH_STRIDE), max(1, shape[1] // MATCH_STRIDE)


def prepare(reference_lab: np.ndarray, features: list[torch.Tensor]) -> PreparedReference:
    """`reference_lab`: the reference at the render size (h, w, 3), its encoder `features`."""
    grid = cells(reference_lab.shape[:2])
    lab = cv2.resize(reference_lab, (grid[1], grid[0]), interpolation=cv2.INTER_AREA)
    return PreparedReference(descriptors(features, grid), torch.from_numpy(lab[..., 1:].reshape(-1, 2)).float(),
                             reference_lab.shape[:2], torch.from_numpy(lab[..., 0].reshape(-1)).float())


def match(photo_features: list[torch.Tensor], photo_lightness: np.ndarray, reference: PreparedReference):
    """The reference's colour for the photo and the confidence in it, both at the photo's
    render size: ((h, w, 2) ab, (h, w) in [0, 1]). `photo_lightness`: L at the render size."""
    photo_shape = photo_lightness.shape
    grid = cells(photo_shape)
    query = descriptors(photo_features, grid).to(reference.descriptors.device)
    similarity = query @ reference.descriptors.T
    logits = similarity / SOFTMAX_TEMPERATURE
    if LIGHTNESS_SIGMA > 0 and reference.lightness is not None:
        cell_l = torch.from_numpy(cv2.resize(photo_lightness, (grid[1], grid[0]), interpolation=cv2.INTER_AREA))
        difference = cell_l.reshape(-1, 1).float() - reference.lightness.reshape(1, -1)
        logits = logits - 0.5 * (difference / LIGHTNESS_SIGMA) ** 2
    weights = torch.softmax(logits, dim=1)
    ab = (weights @ reference.ab.to(weights.device).float()).reshape(*grid, 2).cpu().numpy()
    best = similarity.max(dim=1).values.reshape(grid).cpu().numpy()
    confidence = np.clip((best - CONFIDENT_FROM) / (CONFIDENT_AT - CONFIDENT_FROM), 0.0, 1.0).astype(np.float32)
    height, width = photo_shape
    ab = cv2.resize(ab.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
    return ab, confidence


def reference_lab_at(rgb: np.ndarray, render_size: int) -> np.ndarray:
    """The reference photo (float sRGB) in Lab with its long side at most `render_size`."""
    height, width = rgb.shape[:2]
    scale = min(1.0, render_size / max(height, width))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    return color.rgb_to_lab(np.clip(rgb, 0.0, 1.0))


def _at_most(rgb: np.ndarray, size: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    if max(height, width) <= size:
        return rgb
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, shape, interpolation=cv2.INTER_AREA)


@dataclass(eq=False)
class ReferencePhoto:
    """A colour photo whose colours a photo takes; compared by identity (each load is new)."""

    path: Path | None
    rgb: np.ndarray  # float32 sRGB in [0, 1], upright, colour profile applied, at most KEPT_SIZE

    @property
    def nbytes(self) -> int:
        return int(self.rgb.nbytes)

    @classmethod
    def load(cls, path: str | Path) -> "ReferencePhoto":
        """Read as training and evaluation read true colours; ImageReadError when it cannot be."""
        from .errors import ImageReadError
        from .image_io import load_colour

        path = Path(path)
        if not path.is_file():
            raise ImageReadError(f"{path}: {'is a folder' if path.is_dir() else 'file not found'}")
        try:
            return cls(path, _at_most(load_colour(path), KEPT_SIZE))
        except ImageReadError:
            raise
        except Exception as exc:  # any decoder failure: the reference is left out, the photo is not
            raise ImageReadError(f"{path}: not a readable image ({type(exc).__name__})") from None
