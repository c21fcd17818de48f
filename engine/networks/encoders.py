"""Encoders that turn L into features at strides 2, 4, 8, 16 and 32 (EfficientNet-Lite in
efficientnet.py).

Each encoder takes the normalised L channel (N, 1, H, W) in [-1, 1] and returns
five feature maps, shallow to deep, and says their widths in `channels`.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .efficientnet import VARIANTS, EfficientNetLiteEncoder


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


def build_encoder(name: str, tf_compat: bool = True) -> nn.Module:
    if name in ("resnet18", "resnet34"):
        return ResNetEncoder(name)
    if name in VARIANTS:
        return EfficientNetLiteEncoder(name, tf_compat)
    raise ValueError(f"unknown encoder {name!r}")
