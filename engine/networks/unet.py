"""U-Net generator: encoder features, a decoder with learned upsampling and skips, ab out."""

from __future__ import annotations

import torch
import torch.nn as nn

from .config import GeneratorConfig
from .encoders import build_encoder


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class SelfAttention(nn.Module):
    """SAGAN-style self-attention, as DeOldify puts it in its decoder; starts as identity."""

    def __init__(self, channels: int):
        super().__init__()
        self.query = nn.Conv1d(channels, max(channels // 8, 1), 1, bias=False)
        self.key = nn.Conv1d(channels, max(channels // 8, 1), 1, bias=False)
        self.value = nn.Conv1d(channels, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        n, c, h, w = x.shape
        flat = x.view(n, c, h * w)
        attention = torch.softmax(torch.bmm(self.query(flat).transpose(1, 2), self.key(flat)), dim=-1)
        out = torch.bmm(self.value(flat), attention.transpose(1, 2))
        return x + self.gamma * out.view(n, c, h, w)


class UpBlock(nn.Module):
    """Learned x2 upsampling (pixel shuffle), concatenate the skip, two convolutions."""

    def __init__(self, cin: int, skip: int, cout: int, attention: bool = False):
        super().__init__()
        self.upsample = nn.Sequential(nn.Conv2d(cin, cin * 2, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True))
        self.convs = nn.Sequential(_conv_bn_relu(cin // 2 + skip, cout), _conv_bn_relu(cout, cout))
        self.attention = SelfAttention(cout) if attention else nn.Identity()

    def forward(self, x, skip):
        x = self.upsample(x)
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.attention(self.convs(x))


class UNetGenerator(nn.Module):
    """L (N, 1, H, W) in [-1, 1] -> ab (N, 2, H, W) in [-1, 1]; H and W multiples of 32."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config.encoder)
        enc = self.encoder.channels  # strides 2, 4, 8, 16, 32
        dec = config.decoder_channels
        skips = (enc[3], enc[2], enc[1], enc[0], None)
        blocks = []
        cin = enc[4]
        for index, (skip, cout) in enumerate(zip(skips, dec)):
            # Attention at stride 8, where DeOldify puts it: coarse enough to be cheap.
            blocks.append(UpBlock(cin, skip or 0, cout, attention=config.self_attention and index == 2))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        # The last stage also sees the full-resolution L, so edges of colour follow edges of light.
        self.head = nn.Sequential(_conv_bn_relu(cin + 1, cin), nn.Conv2d(cin, 2, 1), nn.Tanh())

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        features = self.encoder(lightness)
        x = features[4]
        for block, skip in zip(self.decoder, (features[3], features[2], features[1], features[0], None)):
            x = block(x, skip)
        ab = self.head(torch.cat([x, lightness], dim=1))
        return ab * self.config.ab_gain if self.config.ab_gain != 1.0 else ab
