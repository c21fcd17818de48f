"""The speck filter of the damage network: which specks (marks too small for the mark filter) are the photo's own.

On photos sharp to the pixel (a Kodak photo, a held-out training photo at its own size) most false
fills are specks: a catchlight, the tip of a leaf, a grain of gravel is a small bright or dark blot,
as dust is. On 100 held-out photos at their own size, specks alone kept 21 of the 32 clean photos
that left 40 dB of themselves outside it, and filling every speck found made those photos further
from their clean selves than leaving them (2026-12-07, the model card). A speck is judged from the
patch of PATCH_RADIUS px around it: how it stands against the photo just around it, how textured
that is and whether it holds look-alikes, how sure the network was on it and around it. All
specks of a photo are judged at once, as arrays of patches (a 12 MP photo holds thousands).
"""

from __future__ import annotations

import numpy as np

from .marks import MIN_SCORED_AREA, Marks, logit_of

PATCH_RADIUS = 7  # px: a speck is under 20 px, so its patch of 15 by 15 holds it and the photo around it
NEAR = 3  # px: the photo just around a speck, within the patch
SPECK_FEATURE_NAMES = (
    "log area", "mean logit", "surest logit", "ring mean logit", "against ring", "abs against ring",
    "abs against near", "ring spread", "near spread", "peak against ring per spread", "ring look-alikes",
    "patch share of other marks", "ring lightness", "box per pixel")
SPECK_FEATURES = len(SPECK_FEATURE_NAMES)


def scored_specks(marks: Marks) -> np.ndarray:
    """The indices of the marks the speck filter judges: found (seeded) and under MIN_SCORED_AREA px."""
    return np.flatnonzero(marks.seeded & (marks.stats[:, 4] < MIN_SCORED_AREA))


def speck_features(lightness: np.ndarray, chance: np.ndarray, marks: Marks, indices: np.ndarray) -> np.ndarray:
    """(len(indices), SPECK_FEATURES) float32 for those specks of L (H, W) in [0, 100] and its
    damage chance (marks with stats); the one definition for training and use."""
    radius = PATCH_RADIUS
    stats = marks.stats[indices]
    # Each patch centred on its speck's box; the photo's edge padded with labels of -1 (outside).
    rows = np.clip(stats[:, 1] + stats[:, 3] // 2, 0, lightness.shape[0] - 1)
    cols = np.clip(stats[:, 0] + stats[:, 2] // 2, 0, lightness.shape[1] - 1)
    offset_y, offset_x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    ys = rows[:, None, None] + offset_y
    xs = cols[:, None, None] + offset_x
    outside = (ys < 0) | (ys >= lightness.shape[0]) | (xs < 0) | (xs >= lightness.shape[1])
    ys, xs = np.clip(ys, 0, lightness.shape[0] - 1), np.clip(xs, 0, lightness.shape[1] - 1)
    light = lightness[ys, xs].astype(np.float32)
    logit = logit_of(chance[ys, xs])
    labels = np.where(outside, -1, marks.labels[ys, xs])
    inside = labels == indices[:, None, None]
    other = (labels > 0) & ~inside
    ring = (labels == 0)
    near = ring & (np.abs(offset_y) <= NEAR) & (np.abs(offset_x) <= NEAR)
    count_in = np.maximum(inside.sum((1, 2)), 1)
    mean_in = _mean(light, inside, count_in)
    ring_mean, ring_spread = _mean_spread(light, ring)
    near_mean, near_spread = _mean_spread(light, near)
    brighter = mean_in >= ring_mean
    peak = np.where(brighter, np.where(inside, light, -np.inf).max((1, 2)), np.where(inside, light, np.inf).min((1, 2)))
    # A point of texture has look-alikes around it; dust on a smooth stretch of photo has none.
    alike = ring & np.where(brighter[:, None, None], light >= mean_in[:, None, None] - 2, light <= mean_in[:, None, None] + 2)
    ring_count = np.maximum(ring.sum((1, 2)), 1)
    return np.stack([
        np.log(count_in), _mean(logit, inside, count_in), np.where(inside, logit, -99.0).max((1, 2)),
        _mean(logit, ring, ring_count), mean_in - ring_mean, np.abs(mean_in - ring_mean), np.abs(mean_in - near_mean),
        ring_spread, near_spread, np.abs(peak - ring_mean) / (ring_spread + 1.0), alike.sum((1, 2)) / ring_count,
        other.sum((1, 2)) / float(light[0].size), ring_mean, stats[:, 2] * stats[:, 3] / count_in,
    ], 1).astype(np.float32)


def _mean(values: np.ndarray, where: np.ndarray, count: np.ndarray) -> np.ndarray:
    return (values * where).sum((1, 2)) / count


def _mean_spread(values: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = np.maximum(where.sum((1, 2)), 1)
    mean = _mean(values, where, count)
    return mean, np.sqrt(np.maximum(_mean(values * values, where, count) - mean * mean, 0.0))
