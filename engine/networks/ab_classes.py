"""Colour as classes: ab quantised into 10-unit bins (Zhang, Isola & Efros, ECCV 2016).

The network predicts a distribution over the bins; its "annealed mean" is the colour.
Temperature 1 gives the mean (safe, greyish where the model is unsure), lower temperatures
move toward the most likely colour (more vivid, and wrong more often): a vibrance knob.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from .. import color

BIN_SIZE = 10.0


@functools.lru_cache(maxsize=4)
def in_gamut_ab_bins(samples: int = 96) -> np.ndarray:
    """Centres (Q, 2) of the ab bins whose 10x10 cell meets the sRGB gamut at some lightness.

    Zhang et al. count 313 such bins with their gamut test; this one, on a dense sampling of
    the sRGB cube with the cells' edges included, finds about 300.
    """
    levels = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    ab = color.rgb_to_lab(rgb)[:, 1:]
    half = BIN_SIZE / 2
    cells = set()
    for da in (-half, 0.0, half):
        for db in (-half, 0.0, half):
            index = np.round((ab + np.float32([da, db])) / BIN_SIZE).astype(np.int64)
            cells.update(map(tuple, np.unique(index, axis=0).tolist()))
    centres = np.array(sorted(cells), dtype=np.float32) * BIN_SIZE
    centres.setflags(write=False)  # shared between callers by the cache
    return centres


def smoothed_log_probabilities(logits: torch.Tensor, lightness: torch.Tensor, sigma: float,
                               lightness_sigma: float = 6.0, radius: int = 2) -> torch.Tensor:
    """Each cell's colour distribution averaged with its neighbours' of similar lightness (a
    cross-bilateral filter on the probabilities), returned as log-probabilities.

    Decoded cell by cell, a region the model is unsure about (an evening sky: orange or blue)
    flips between the two at small differences of its features, and the annealed mean turns
    each flip into a blotch. Averaging the distributions first gives one decision per smooth
    region; across an edge of light the neighbours count little, so objects keep their own.
    `lightness`: L in [0, 100] at the logits' size, (N, 1, h, w)."""
    probabilities = torch.softmax(logits.float(), dim=1)
    n, q, h, w = probabilities.shape
    size = 2 * radius + 1
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32, device=logits.device)
    spatial = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma**2)).reshape(1, size * size, 1)
    padded_l = F.pad(lightness.float(), (radius,) * 4, mode="replicate")
    neighbours_l = F.unfold(padded_l, size).reshape(n, size * size, h * w)
    weights = spatial * torch.exp(-((neighbours_l - lightness.reshape(n, 1, h * w)) ** 2) / (2 * lightness_sigma**2))
    weights = weights / weights.sum(dim=1, keepdim=True)
    padded_p = F.pad(probabilities, (radius,) * 4, mode="replicate")
    neighbours_p = F.unfold(padded_p, size).reshape(n, q, size * size, h * w)
    smoothed = torch.einsum("nqkp,nkp->nqp", neighbours_p, weights).reshape(n, q, h, w)
    return torch.log(smoothed.clamp(min=1e-8))


def confidence_strength(logits: torch.Tensor, power: float) -> torch.Tensor:
    """(N, 1, h, w) factors on the colour: above 1 where the model is surer than it is on
    average over the photo, below where less. Confidence is one minus the distribution's
    entropy as a share of the most it can be."""
    log_p = torch.log_softmax(logits.float(), dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=1, keepdim=True) / float(np.log(logits.shape[1]))
    confidence = (1.0 - entropy).clamp(min=1e-3)
    return (confidence / confidence.mean(dim=(2, 3), keepdim=True)) ** power


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, Q, H, W) logits -> (N, 2, H, W) ab in the network's scale (ab / AB_SCALE)."""
    probabilities = torch.softmax(logits.float() / max(temperature, 1e-3), dim=1)
    ab = torch.einsum("nqhw,qc->nchw", probabilities, centres.float())
    return color.normalize_ab(ab)
