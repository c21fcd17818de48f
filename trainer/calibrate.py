"""Calibrate a trained generator's colour strength on training photos: the output gain of a
regression model, the annealed-mean temperature of a classifier.

A regression model's colours come out weaker or stronger than real photos' depending on its
loss (plain L1 desaturates, rebalanced L1 over-saturates). Scaling ab by one gain so that the
model is, on average, exactly as colourful as the photos it was trained on fixes the
strength without looking at any evaluation photo.

The photos go through the app's own pipeline (whole photo, render size, guided upsampling):
measured on training crops instead, the gain came out 0.91 where the pipeline needs 0.79,
because a model colours a whole photo differently from a crop of it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from autochrome.engine import color
from autochrome.engine.edit import MAX_TEMPERATURE, MIN_TEMPERATURE, ColorizeSettings
from autochrome.engine.pipeline import EncoderMemo, ModelPredictor, colorize
from autochrome.engine.device import DeviceChoice
from autochrome.engine.errors import AutochromeError
from autochrome.engine.image_io import load_image
from autochrome.engine.networks import GeneratorConfig

from .evaluate import truth_rgb
from .metrics import colourfulness


@dataclass(frozen=True)
class Calibration:
    config: GeneratorConfig  # the model's config with the chosen strength
    knob: str  # "ab_gain" or "temperature"
    value: float
    output_colourfulness: float  # at the chosen value
    truth_colourfulness: float
    photos: int


def mean_colourfulness(lightness: list[np.ndarray], ab: list[np.ndarray], gain: float) -> float:
    return float(np.mean([colourfulness(color.lab_to_rgb(np.concatenate([one_l[..., None], gain * one_ab], -1)))
                          for one_l, one_ab in zip(lightness, ab)]))


def _readable(photos: list[Path]):
    for path in photos:
        try:
            yield load_image(path), truth_rgb(path)
        except (AutochromeError, OSError):
            continue  # the trainer already counted unreadable photos


def calibrate_strength(generator: torch.nn.Module, config: GeneratorConfig, photos: list[Path], choice: DeviceChoice,
                       share: float = 1.0, settings: ColorizeSettings | None = None,
                       knob: str = "ab_gain") -> Calibration:
    """Match `share` of the photos' mean colourfulness with the output gain (a classifier keeps
    its temperature), or, for a classifier with knob="temperature", with the annealed-mean
    temperature. A gain the generator already has is replaced, not multiplied."""
    generator = generator.eval()
    pairs = list(_readable(photos))
    if not pairs:
        raise ValueError("no readable photos to calibrate on")
    target = share * float(np.mean([colourfulness(rgb) for _, rgb in pairs]))
    truth = target / share
    if config.ab_classes and knob == "temperature":
        return _calibrate_temperature(generator, config, pairs, choice, target, truth, settings or ColorizeSettings())
    lightness, ab = [], []
    with _at_gain_one(generator):
        for image, _ in pairs:
            result = colorize(image, ModelPredictor(generator, choice), settings)
            lightness.append(result.lab[..., 0])
            ab.append(result.lab[..., 1:])
    # The pipeline is linear in ab, so scaling its output is scaling the model's; colourfulness
    # grows with the gain (up to gamut clipping), so bisection finds the match.
    low, high = 0.3, 2.0
    for _ in range(12):
        middle = 0.5 * (low + high)
        if mean_colourfulness(lightness, ab, middle) < target:
            low = middle
        else:
            high = middle
    gain = round(0.5 * (low + high), 3)
    return Calibration(replace(config, ab_gain=gain), "ab_gain", gain, mean_colourfulness(lightness, ab, gain), truth,
                       len(pairs))


def colourfulness_share(generator: torch.nn.Module, config: GeneratorConfig, photos: list[Path],
                        choice: DeviceChoice) -> float:
    """The model's mean colourfulness on these photos, through the app's pipeline, as a share
    of the photos' own."""
    pairs = list(_readable(photos))
    if not pairs:
        raise ValueError("no readable photos to measure on")
    generator = generator.eval()
    predictor = ModelPredictor(generator, choice)
    ours = np.mean([colourfulness(colorize(image, predictor).rgb) for image, _ in pairs])
    return float(ours / np.mean([colourfulness(rgb) for _, rgb in pairs]))


@contextlib.contextmanager
def _at_gain_one(generator):
    """A generator made from a calibrated model carries its gain; the new one replaces it."""
    calibrated = generator.config
    generator.config = replace(calibrated, ab_gain=1.0)
    try:
        yield
    finally:
        generator.config = calibrated


def _calibrate_temperature(generator, config, pairs, choice, target, truth, settings) -> Calibration:
    """Colourfulness falls as the temperature rises (toward the plain mean). Each photo is
    encoded once and decoded at a grid of temperatures; the match is interpolated between
    the two grid points around it."""
    grid = np.geomspace(MIN_TEMPERATURE, MAX_TEMPERATURE, 16)
    memo = EncoderMemo()
    scores = np.zeros(len(grid))
    for image, _ in pairs:
        for index, temperature in enumerate(grid):
            result = colorize(image, ModelPredictor(generator, choice, memo), replace(settings, temperature=float(temperature)))
            scores[index] += colourfulness(result.rgb) / len(pairs)
    # scores fall with the temperature; np.interp wants rising x, so read the grid backwards.
    temperature = float(np.interp(target, scores[::-1], grid[::-1]))
    temperature = round(min(max(temperature, MIN_TEMPERATURE), MAX_TEMPERATURE), 3)
    reached = float(np.interp(temperature, grid, scores))
    return Calibration(replace(config, temperature=temperature), "temperature", temperature, reached, truth, len(pairs))
