"""Encoders that turn L into features at strides 2, 4, 8, 16 and 32.

Each encoder takes the normalised L channel (N, 1, H, W) in [-1, 1] and returns
five feature maps, shallow to deep, and says their widths in `channels`.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class BasicBlock(nn.Module):
    """The ResNet-18/34 block, with torchvision's parameter names so its state dicts load."""

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


_RESNET_BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet34": (3, 4, 6, 3)}


class ResNetEncoder(nn.Module):
    """ResNet-18/34 (He et al. 2016) with a one-channel stem, built without weights.

    Written here rather than taken from torchvision so the app does not need torchvision
    at run time; the layout and names match torchvision's, so its weights load.
    """

    def __init__(self, depth: str = "resnet34"):
        super().__init__()
        conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.stem = nn.Sequential(conv1, nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        layers = []
        cin = 64
        for index, (count, width) in enumerate(zip(_RESNET_BLOCKS[depth], (64, 128, 256, 512))):
            stride = 1 if index == 0 else 2
            blocks = [BasicBlock(cin, width, stride)] + [BasicBlock(width, width) for _ in range(count - 1)]
            layers.append(nn.Sequential(*blocks))
            cin = width
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.channels = (64, 64, 128, 256, 512)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        s2 = self.stem(x)
        s4 = self.layer1(self.pool(s2))
        s8 = self.layer2(s4)
        s16 = self.layer3(s8)
        s32 = self.layer4(s16)
        return [s2, s4, s8, s16, s32]


def load_torchvision_resnet_state(encoder: ResNetEncoder, state: dict[str, torch.Tensor]) -> list[str]:
    """Copy a torchvision ResNet state dict (e.g. one the user supplies) into the encoder.

    The RGB stem is summed over its input channels, since a grey photo has R = G = B.
    Returns the keys that were not used.
    """
    rename = {"conv1.": "stem.0.", "bn1.": "stem.1."}
    own = encoder.state_dict()
    unused = []
    for key, value in state.items():
        target = key
        for old, new in rename.items():
            if key.startswith(old):
                target = new + key[len(old):]
        if target == "stem.0.weight" and value.shape[1] == 3:
            value = value.sum(dim=1, keepdim=True)
        if target in own and own[target].shape == value.shape:
            own[target] = value
        else:
            unused.append(key)
    encoder.load_state_dict(own)
    return unused


# ---------------------------------------------------------- EfficientNet-Lite0

# (repeats, kernel, stride, expand ratio, in, out) per stage, from the EfficientNet-Lite0 definition.
_LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# Index of the last block at each output stride 2, 4, 8, 16, 32.
_LITE0_TAPS = (0, 2, 4, 10, 15)
_BN = dict(eps=1e-3, momentum=0.01)
# ImageNet normalisation the pretrained stem expects (RGB mean and std in [0, 1]).
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class _MBConv(nn.Module):
    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int):
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **_BN)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = x
        if self.has_expand:
            y = torch.nn.functional.relu6(self._bn0(self._expand_conv(y)))
        y = torch.nn.functional.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0Encoder(nn.Module):
    """EfficientNet-Lite0 (no squeeze-excite, ReLU6) with a one-channel stem.

    Parameter names match the published ImageNet checkpoint, so it loads directly.
    """

    def __init__(self):
        super().__init__()
        self._conv_stem = nn.Conv2d(1, 32, 3, 2, 1, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in _LITE0_STAGES:
            for i in range(repeats):
                blocks.append(_MBConv(kernel, stride if i == 0 else 1, expand, cin if i == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self.channels = tuple(_LITE0_STAGES_OUT[i] for i in _LITE0_TAPS)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # The network's L in [-1, 1] becomes the grey level in [0, 1] the stem was folded for.
        x = torch.nn.functional.relu6(self._bn0(self._conv_stem((x + 1.0) * 0.5)))
        features = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in _LITE0_TAPS:
                features.append(x)
        return features


_LITE0_STAGES_OUT = [cout for repeats, _, _, _, _, cout in _LITE0_STAGES for _ in range(repeats)]


def load_efficientnet_lite0_imagenet(encoder: EfficientNetLite0Encoder, state: dict[str, torch.Tensor]) -> None:
    """Load the ImageNet checkpoint, folding its RGB stem into a grey one.

    A grey pixel g feeds every RGB channel, normalised as (g - mean_c) / std_c, so the
    stem's response is g * sum_c(w_c / std_c) minus a constant per output channel;
    the constant moves into the batch-norm's running mean.
    """
    own = encoder.state_dict()
    stem = state["_conv_stem.weight"].float()
    std = torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1)
    mean = torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1)
    own["_conv_stem.weight"] = (stem / std).sum(dim=1, keepdim=True)
    offset = (stem * mean / std).sum(dim=(1, 2, 3))
    for key, value in state.items():
        if key.startswith(("_conv_head", "_bn1.", "_fc")) or key == "_conv_stem.weight":
            continue
        if key not in own or own[key].shape != value.shape:
            raise ValueError(f"EfficientNet-Lite0 checkpoint does not match at {key}")
        own[key] = value
    own["_bn0.running_mean"] = own["_bn0.running_mean"] + offset
    encoder.load_state_dict(own)


def build_encoder(name: str) -> nn.Module:
    if name in ("resnet18", "resnet34"):
        return ResNetEncoder(name)
    if name == "efficientnet_lite0":
        return EfficientNetLite0Encoder()
    raise ValueError(f"unknown encoder {name!r}")
