"""Simulated user hints, drawn from the true photo (Zhang et al., SIGGRAPH 2017).

Per photo a random number of hints: none for a share of the photos (so the automatic mode
stays good), otherwise geometric. Each hint is a small square patch (1-9 px) carrying the
patch's mean true ab, at a random place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from autochrome.engine.networks.hint_maps import HINT_CHANNELS

MAX_PATCH = 9


@dataclass(frozen=True)
class HintPolicy:
    no_hint_share: float = 0.5
    geometric_p: float = 0.125  # mean 8 hints when there are any
    max_hints: int = 32


def simulate_hints(ab: torch.Tensor, policy: HintPolicy, generator: torch.Generator) -> torch.Tensor:
    """Hint maps (N, 3, H, W) for true ab (N, 2, H, W) in the network's scale."""
    n, _, height, width = ab.shape
    hints = ab.new_zeros((n, HINT_CHANNELS, height, width))
    none = torch.rand(n, generator=generator) < policy.no_hint_share
    uniform = torch.rand(n, generator=generator).clamp(min=1e-6)
    counts = (torch.log(uniform) / torch.log(torch.tensor(1.0 - policy.geometric_p))).floor().long() + 1
    counts = counts.clamp(max=policy.max_hints).masked_fill(none, 0)
    for index, count in enumerate(counts.tolist()):
        for _ in range(count):
            k = int(torch.randint(1, MAX_PATCH + 1, (1,), generator=generator))
            top = int(torch.randint(0, height - k + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - k + 1, (1,), generator=generator))
            mean = ab[index, :, top : top + k, left : left + k].mean(dim=(1, 2))
            hints[index, :2, top : top + k, left : left + k] = mean[:, None, None]
            hints[index, 2, top : top + k, left : left + k] = 1.0
    return hints
