"""The seed's first model: the plain pix2pix U-Net (Isola et al. 2017), one channel in, ab out."""

from __future__ import annotations

import torch
import torch.nn as nn

from .config import GeneratorConfig


class _SkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, concatenated with the input."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, outermost=False, innermost=False, cin=None):
        super().__init__()
        cin = outer if cin is None else cin
        down = [nn.Conv2d(cin, inner, 4, 2, 1, bias=False)]
        if not outermost:
            down = [nn.LeakyReLU(0.2, True)] + down
        if not (outermost or innermost):
            down.append(nn.BatchNorm2d(inner))
        up_in = inner if innermost else inner * 2
        up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=outermost)]
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(nn.BatchNorm2d(outer))
        self.outermost = outermost
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x):
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], dim=1)


class Pix2PixGenerator(nn.Module):
    """The generator interface of every Autochrome model (see UNetGenerator): `has_encoder`
    says whether `encode` gives features to compare photos with; here it gives none, and
    `decode` runs the whole network on L."""

    has_encoder = False

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        f = config.pix2pix_filters
        downs = config.pix2pix_downs
        if downs < 5:
            raise ValueError("pix2pix_downs must be at least 5")
        block = _SkipBlock(f * 8, f * 8, None, innermost=True)
        for _ in range(downs - 5):
            block = _SkipBlock(f * 8, f * 8, block)
        block = _SkipBlock(f * 4, f * 8, block)
        block = _SkipBlock(f * 2, f * 4, block)
        block = _SkipBlock(f, f * 2, block)
        self.model = _SkipBlock(2, f, block, outermost=True, cin=1)

    def encode(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        return []

    def decode(self, features: list[torch.Tensor], lightness: torch.Tensor, hints=None) -> torch.Tensor:
        """Hints are not an input of this model; the pipeline spreads them itself."""
        return self.model(lightness)

    def forward(self, lightness: torch.Tensor, hints=None, temperature=None, raw=False) -> torch.Tensor:
        ab = self.decode([], lightness, hints)
        return ab if raw else self.to_ab(ab)

    def to_ab(self, decoded: torch.Tensor, temperature=None, gain: bool = True, lightness=None) -> torch.Tensor:
        return decoded * self.config.ab_gain if gain and self.config.ab_gain != 1.0 else decoded
