"""U-Net generator: encoder features, a decoder with learned upsampling and skips, ab out."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import color
from .ab_classes import annealed_mean, confidence_strength, smoothed_log_probabilities
from .config import GeneratorConfig
from .encoders import build_encoder
from .hint_maps import HINT_CHANNELS, empty_hint_map, hint_pyramid


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
    """Learned x2 upsampling (pixel shuffle), concatenate the skip (and the hints), two convolutions."""

    def __init__(self, cin: int, skip: int, cout: int, attention: bool = False, hint_channels: int = 0):
        super().__init__()
        self.upsample = nn.Sequential(nn.Conv2d(cin, cin * 2, 1), nn.PixelShuffle(2), nn.ReLU(inplace=True))
        self.convs = nn.Sequential(_conv_bn_relu(cin // 2 + skip + hint_channels, cout), _conv_bn_relu(cout, cout))
        self.attention = SelfAttention(cout) if attention else nn.Identity()

    def forward(self, x, skip, hints=None):
        x = self.upsample(x)
        parts = [x] + ([skip] if skip is not None else []) + ([hints] if hints is not None else [])
        return self.attention(self.convs(torch.cat(parts, dim=1) if len(parts) > 1 else x))


class UNetGenerator(nn.Module):
    """L (N, 1, H, W) in [-1, 1] (and, with `hint_input`, a hint map) -> ab (N, 2, H, W) in
    [-1, 1]; H and W multiples of 32.

    The decoder stops at `output_stride` (colour is low-frequency; the pipeline's guided
    upsampling restores its edges from L). With `ab_classes` it ends in a distribution over
    ab bins, decoded by its annealed mean; otherwise it regresses ab.
    `encode` and `decode` are separate so that a hint edit reruns only the decoder; the
    encoder's features also compare photos (reference matching, the affinity head):
    `has_encoder`.
    """

    has_encoder = True

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.config = config
        self.encoder = build_encoder(config.encoder, config.tf_compat)
        enc = self.encoder.channels  # strides 2, 4, 8, 16, 32
        hint_channels = HINT_CHANNELS if config.hint_input else 0
        skips = (enc[3], enc[2], enc[1], enc[0], None)
        blocks = []
        cin = enc[4]
        for index, cout in enumerate(config.decoder_channels):
            # Attention at stride 8, where DeOldify puts it: coarse enough to be cheap.
            blocks.append(UpBlock(cin, skips[index] or 0, cout, config.self_attention and index == 2, hint_channels))
            cin = cout
        self.decoder = nn.ModuleList(blocks)
        if config.ab_classes:
            self.classifier = nn.Conv2d(cin, config.ab_classes, 1)
            self.register_buffer("ab_centres", torch.zeros(config.ab_classes, 2))
        elif config.output_stride > 1:
            self.head = nn.Sequential(nn.Conv2d(cin, 2, 1), nn.Tanh())
        else:
            # The last stage also sees the full-resolution L, so edges of colour follow edges of light.
            self.head = nn.Sequential(_conv_bn_relu(cin + 1, cin), nn.Conv2d(cin, 2, 1), nn.Tanh())

    def encode(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        return self.encoder(lightness)

    def decode(self, features: list[torch.Tensor], lightness: torch.Tensor, hints: torch.Tensor | None = None):
        """Logits (N, Q, H/s, W/s) for a classifier, ab (N, 2, H/s, W/s) otherwise, s the output stride."""
        if self.config.hint_input and hints is None:
            hints = empty_hint_map(lightness)
        x = features[4]
        skips = (features[3], features[2], features[1], features[0], None)
        strides = [16 >> index for index in range(len(self.decoder))]
        pooled = hint_pyramid(hints, strides) if self.config.hint_input else {}
        for index, block in enumerate(self.decoder):
            x = block(x, skips[index], pooled.get(strides[index]))
        if self.config.ab_classes:
            return self.classifier(x)
        if self.config.output_stride > 1:
            return self.head(x)
        return self.head(torch.cat([x, lightness], dim=1))

    def to_ab(self, decoded: torch.Tensor, temperature: float | None = None, gain: bool = True,
              lightness: torch.Tensor | None = None) -> torch.Tensor:
        """ab from the decoder's output; `gain=False` leaves out the output calibration (training
        compares outputs before it, so training never learns the calibration away). `lightness`
        (the normalised L the decoder saw) lets a classifier decode with its smoothing."""
        ab = decoded
        strength = None
        if self.config.ab_classes:
            logits = decoded
            if self.config.decode_smoothing > 0 and lightness is not None:
                small_l = color.denormalize_l(F.adaptive_avg_pool2d(lightness.float(), decoded.shape[-2:]))
                logits = smoothed_log_probabilities(decoded, small_l, self.config.decode_smoothing)
            if self.config.confidence_power > 0 and gain:
                strength = confidence_strength(logits, self.config.confidence_power)
            ab = annealed_mean(logits, self.ab_centres, self.config.temperature if temperature is None else temperature)
            if strength is not None:
                ab = ab * strength
        if self.config.output_stride > 1:
            ab = F.interpolate(ab, scale_factor=self.config.output_stride, mode="bilinear", align_corners=False)
        return ab * self.config.ab_gain if gain and self.config.ab_gain != 1.0 else ab

    def forward(self, lightness: torch.Tensor, hints: torch.Tensor | None = None,
                temperature: float | None = None, raw: bool = False) -> torch.Tensor:
        """ab; with `raw`, what `decode` returns (what training losses compare, through DDP too)."""
        decoded = self.decode(self.encode(lightness), lightness, hints)
        return decoded if raw else self.to_ab(decoded, temperature)
