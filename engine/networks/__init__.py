"""Generators: build one from its config."""

from __future__ import annotations

import torch.nn as nn

from .config import GeneratorConfig
from .pix2pix import Pix2PixGenerator
from .unet import UNetGenerator

__all__ = ["GeneratorConfig", "build_generator", "UNetGenerator", "Pix2PixGenerator"]


def build_generator(config: GeneratorConfig) -> nn.Module:
    if config.architecture == "pix2pix":
        return Pix2PixGenerator(config)
    return UNetGenerator(config)
