"""Calibrate a trained generator's output strength (`ab_gain`) on training photos.

A regression model's colours come out weaker or stronger than real photos' depending on its
loss (plain L1 desaturates, rebalanced L1 over-saturates). Scaling ab by one gain so that the
model is, on average, exactly as colourful as the photos it was trained on fixes the
strength without looking at any evaluation photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine import color

from .metrics import colourfulness


@dataclass(frozen=True)
class Calibration:
    gain: float
    output_colourfulness: float  # at the chosen gain
    truth_colourfulness: float
    photos: int


def predict_ab(generator: torch.nn.Module, photos: np.ndarray, device: torch.device, batch: int = 32) -> np.ndarray:
    """ab (N, H, W, 2) at gain 1 for uint8 photos whose sides are a multiple of the stride."""
    outputs = []
    generator = generator.eval()
    with torch.no_grad():
        for start in range(0, len(photos), batch):
            rgb = torch.from_numpy(photos[start : start + batch]).to(device).permute(0, 3, 1, 2).float() / 255.0
            lightness = color.normalize_l(color.torch_rgb_to_lab(rgb)[:, :1])
            ab = color.denormalize_ab(generator(lightness).float())
            outputs.append(ab.permute(0, 2, 3, 1).cpu().numpy())
    return np.concatenate(outputs)


def mean_colourfulness(lightness: np.ndarray, ab: np.ndarray) -> float:
    lab = np.concatenate([lightness[..., None], ab], axis=-1)
    return float(np.mean([colourfulness(color.lab_to_rgb(one)) for one in lab]))


def calibrate_gain(generator: torch.nn.Module, photos: np.ndarray, device: torch.device, stride: int,
                   every: int = 30, low: float = 0.3, high: float = 2.0) -> Calibration:
    """The gain (within [low, high]) at which every `every`-th photo's mean colourfulness is matched.

    `generator` must run at gain 1 (its config's ab_gain is what this chooses).
    """
    sample = photos[::every]
    side = min(sample.shape[1], sample.shape[2]) // stride * stride
    if side == 0 or len(sample) == 0:
        raise ValueError("not enough photos, or photos too small, to calibrate on")
    sample = np.ascontiguousarray(sample[:, :side, :side])
    lightness = color.rgb_to_lab(sample.astype(np.float32) / 255.0)[..., 0]
    truth = float(np.mean([colourfulness(one.astype(np.float32) / 255.0) for one in sample]))
    ab = predict_ab(generator, sample, device)
    # Colourfulness grows with the gain (up to gamut clipping), so bisection finds the match.
    for _ in range(12):
        middle = 0.5 * (low + high)
        if mean_colourfulness(lightness, middle * ab) < truth:
            low = middle
        else:
            high = middle
    gain = round(0.5 * (low + high), 3)
    return Calibration(gain, mean_colourfulness(lightness, gain * ab), truth, len(sample))
