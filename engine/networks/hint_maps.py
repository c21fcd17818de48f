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
    return hint_pyramid(hints, (stride,))[stride]


def hint_pyramid(hints: torch.Tensor, strides) -> dict[int, torch.Tensor]:
    """The hint map pooled to each stride (powers of two): each cell the mean colour of the
    hints in it and a mask of the cells that hold any. Each level is pooled from the next
    finer one (the means of means are the means: the levels are equal-sized blocks), which
    costs a fraction of pooling the full map again for every level."""
    pooled, sums, stride = {}, hints, 1
    for target in sorted(set(strides)):
        while stride < target:
            sums = F.avg_pool2d(sums, 2)
            stride *= 2
        coverage = sums[:, 2:3]
        present = (coverage > 0).to(hints.dtype)
        pooled[target] = torch.cat([sums[:, :2] / coverage.clamp(min=1e-6) * present, present], dim=1)
    return pooled
