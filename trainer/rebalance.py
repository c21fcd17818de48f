"""Colour rebalancing: weight each pixel's loss by how rare its true colour is.

Plain L1 on ab settles on the median colour of everything plausible, which for most
objects is a desaturated brown. Weighting pixels by the inverse of their (smoothed) ab
frequency, mixed with a uniform prior as in Zhang, Isola & Efros (ECCV 2016), moves that
median toward the saturated colours that real photos have.
"""

from __future__ import annotations

import numpy as np
import torch

from autochrome.engine import color

BIN = 10.0  # ab units per histogram bin
EDGE = 110.0


def ab_histogram(photos: np.ndarray, stride: int = 4, batch: int = 256) -> np.ndarray:
    """Normalised histogram of ab over uint8 photos (N, H, W, 3), every `stride`-th pixel."""
    bins = int(2 * EDGE / BIN)
    counts = np.zeros((bins, bins), np.float64)
    for start in range(0, len(photos), batch):
        rgb = photos[start : start + batch, ::stride, ::stride].astype(np.float32) / 255.0
        ab = color.rgb_to_lab(rgb)[..., 1:].reshape(-1, 2)
        index = np.clip(((ab + EDGE) / BIN).astype(int), 0, bins - 1)
        np.add.at(counts, (index[:, 0], index[:, 1]), 1)
    return counts / counts.sum()


def rebalance_weights(histogram: np.ndarray, mix: float = 0.5, sigma_bins: float = 0.5) -> np.ndarray:
    """Per-bin weights, 1 on average over the data; rare colours weigh more."""
    import cv2

    smooth = cv2.GaussianBlur(histogram.astype(np.float32), (0, 0), sigma_bins)
    smooth = smooth / smooth.sum()
    seen = smooth > 1e-7
    uniform = 1.0 / max(int(seen.sum()), 1)
    weights = np.where(seen, 1.0 / ((1 - mix) * smooth + mix * uniform), 0.0)
    weights /= float((weights * smooth).sum())
    return weights.astype(np.float32)


class PixelWeights:
    """Looks up each target pixel's weight on the training device."""

    def __init__(self, weights: np.ndarray, device: torch.device):
        self.table = torch.from_numpy(weights).to(device)
        self.bins = weights.shape[0]

    def __call__(self, ab_normalised: torch.Tensor) -> torch.Tensor:
        ab = color.denormalize_ab(ab_normalised)
        index = ((ab + EDGE) / BIN).long().clamp(0, self.bins - 1)
        return self.table[index[:, 0], index[:, 1]].unsqueeze(1)
