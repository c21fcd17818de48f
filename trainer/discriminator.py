"""The conditional PatchGAN discriminator of pix2pix (Isola et al. 2017).

It sees L together with ab (3 channels) and scores overlapping 70x70 patches as real
or fake, so it judges local colour plausibility rather than the whole photo.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class PatchDiscriminator(nn.Module):
    def __init__(self, filters: int = 64, layers: int = 3):
        super().__init__()
        blocks = [nn.Conv2d(3, filters, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        width = filters
        for index in range(1, layers + 1):
            previous, width = width, filters * min(2**index, 8)
            stride = 2 if index < layers else 1
            blocks += [nn.Conv2d(previous, width, 4, stride, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2, True)]
        blocks.append(nn.Conv2d(width, 1, 4, 1, 1))
        self.model = nn.Sequential(*blocks)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, 0.0, 0.02)

    def forward(self, lightness: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Logits, one per patch."""
        return self.model(torch.cat([lightness, ab], dim=1))
