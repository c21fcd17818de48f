"""Calibrate a trained generator's output strength (`ab_gain`) on training photos.

A regression model's colours come out weaker or stronger than real photos' depending on its
loss (plain L1 desaturates, rebalanced L1 over-saturates). Scaling ab by one gain so that the
model is, on average, exactly as colourful as the photos it was trained on fixes the
strength without looking at any evaluation photo.

The photos go through the app's own pipeline (whole photo, render size, guided upsampling):
measured on training crops instead, the gain came out 0.91 where the pipeline needs 0.79,
because a model colours a whole photo differently from a crop of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine import color
from engine.colorize import ColorizeSettings, colorize
from engine.device import DeviceChoice
from engine.errors import AutochromeError
from engine.image_io import load_image

from .evaluate import truth_rgb
from .metrics import colourfulness


@dataclass(frozen=True)
class Calibration:
    gain: float
    output_colourfulness: float  # at the chosen gain
    truth_colourfulness: float
    photos: int


def mean_colourfulness(lightness: list[np.ndarray], ab: list[np.ndarray], gain: float) -> float:
    return float(np.mean([colourfulness(color.lab_to_rgb(np.concatenate([one_l[..., None], gain * one_ab], -1)))
                          for one_l, one_ab in zip(lightness, ab)]))


def calibrate_gain(generator: torch.nn.Module, stride: int, photos: list[Path], choice: DeviceChoice,
                   settings: ColorizeSettings | None = None, low: float = 0.3, high: float = 2.0) -> Calibration:
    """The gain (within [low, high]) at which the photos' mean colourfulness is matched.

    `generator` must run at gain 1 (its config's ab_gain is what this chooses).
    """
    lightness, ab, truth = [], [], []
    generator = generator.eval()
    for path in photos:
        try:
            image = load_image(path)
            rgb = truth_rgb(path)
        except (AutochromeError, OSError):
            continue  # the trainer already counted unreadable photos
        result = colorize(image, generator, stride, choice, settings)
        lightness.append(result.lab[..., 0])
        ab.append(result.lab[..., 1:])
        truth.append(colourfulness(rgb))
    if not truth:
        raise ValueError("no readable photos to calibrate on")
    target = float(np.mean(truth))
    # The pipeline is linear in ab, so scaling its output is scaling the model's; colourfulness
    # grows with the gain (up to gamut clipping), so bisection finds the match.
    for _ in range(12):
        middle = 0.5 * (low + high)
        if mean_colourfulness(lightness, ab, middle) < target:
            low = middle
        else:
            high = middle
    gain = round(0.5 * (low + high), 3)
    return Calibration(gain, mean_colourfulness(lightness, ab, gain), target, len(truth))
