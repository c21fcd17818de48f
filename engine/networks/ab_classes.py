"""Colour as classes: ab quantised into 10-unit bins (Zhang, Isola & Efros, ECCV 2016).

The network predicts a distribution over the bins; its "annealed mean" is the colour.
Temperature 1 gives the mean (safe, greyish where the model is unsure), lower temperatures
move toward the most likely colour (more vivid, and wrong more often): a vibrance knob.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

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


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, Q, H, W) logits -> (N, 2, H, W) ab in the network's scale (ab / AB_SCALE)."""
    probabilities = torch.softmax(logits.float() / max(temperature, 1e-3), dim=1)
    ab = torch.einsum("nqhw,qc->nchw", probabilities, centres.float())
    return color.normalize_ab(ab)
