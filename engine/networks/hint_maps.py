"""User colour hints as network input: a sparse ab map and a mask beside L (Zhang et al. 2017).

A hint map is (N, 3, H, W): a/AB_SCALE and b/AB_SCALE where a hint lies (0 elsewhere), then
the mask (1 where a hint lies). The decoder sees it at every scale, pooled so that a hint
of a few pixels still marks the coarse cell it falls in, with that cell's mean hint colour.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

HINT_CHANNELS = 3


def empty_hint_map(lightness: torch.Tensor) -> torch.Tensor:
    n, _, h, w = lightness.shape
    return lightness.new_zeros((n, HINT_CHANNELS, h, w))


def pool_hint_map(hints: torch.Tensor, stride: int) -> torch.Tensor:
    if stride == 1:
        return hints
    coverage = F.avg_pool2d(hints[:, 2:3], stride)
    ab_sum = F.avg_pool2d(hints[:, :2], stride)
    present = (coverage > 0).to(hints.dtype)
    return torch.cat([ab_sum / coverage.clamp(min=1e-6) * present, present], dim=1)
