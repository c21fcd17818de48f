"""The two-stage training of the seed, as an iterator of progress records.

Stage 1: the generator alone, L1 on ab. Stage 2: pix2pix's conditional GAN (the PatchGAN
sees L with ab; generator loss = GAN + lambda * L1), with the care the adversarial stage
needs: a discriminator warm-up, a lower generator learning rate and an EMA of the
generator, which is what gets exported.

Stopping the iteration stops training; the last checkpoint (written atomically) stays
valid and a later run resumes from it. Under torchrun the same code trains with
DistributedDataParallel; only rank 0 writes.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from autochrome.engine.atomic import atomic_path
from autochrome.engine.networks import GeneratorConfig

from .crop_sampler import CropSampler
from .discriminator import PatchDiscriminator
from .distributed import check_ranks_agree, is_main_process, world
from .objective import Objective


@dataclass(frozen=True)
class TrainSettings:
    stage1_steps: int = 1000
    stage2_steps: int = 0
    batch_size: int = 16
    learning_rate: float = 5e-4  # stage 1
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    gan_generator_lr: float = 2e-5  # a tenth of pix2pix's: plain 2e-4 over-saturates (see model card)
    gan_discriminator_lr: float = 2e-4
    l1_lambda: float = 100.0
    discriminator_warmup: int = 100  # stage-2 steps that train D alone
    ema_decay: float = 0.999
    checkpoint_every: int = 250
    # "cosine": to a tenth by the last step. "constant" after the warm-up, for runs trained in
    # chunks until their curve flattens (the total is not known ahead; the EMA smooths instead).
    lr_schedule: str = "cosine"
    decoder_ema: bool = False  # decoder-only training: export an EMA of the weights
    # Decoder-only training: the encoder's last stages (1: stride 32; 2: strides 16-32) run
    # live on the cached features before them and learn, at `encoder_lr_scale` of the rate.
    live_encoder_stages: int = 0
    encoder_lr_scale: float = 0.3
    # Decoder-only training: weight of a PatchGAN's verdict beside the colour loss (0: none);
    # the discriminator trains alone for `discriminator_warmup` steps first.
    adversarial_weight: float = 0.0
    bf16: bool = True  # autocast on CUDA only
    channels_last: bool = True
    compile: bool = False

    @property
    def total_steps(self) -> int:
        return self.stage1_steps + self.stage2_steps


@dataclass(frozen=True)
class Progress:
    stage: int
    step: int
    steps: int
    losses: dict = field(default_factory=dict)
    images_per_second: float = 0.0
    elapsed_s: float = 0.0
    start_step: int = 0

    @property
    def colour_loss(self) -> float | None:
        """The generator's colour loss, whichever the model has (cross-entropy or L1)."""
        for name in ("ce", "l1"):
            if name in self.losses:
                return self.losses[name]
        return None

    @property
    def eta_s(self) -> float:
        done = max(self.step - self.start_step, 1)
        return self.elapsed_s / done * (self.steps - self.step)


def learning_rate(step: int, settings: TrainSettings) -> float:
    """Stage 1: linear warm-up, then cosine decay to a tenth (or constant)."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    if settings.lr_schedule == "constant":
        return settings.learning_rate
    progress = (step - settings.warmup_steps) / max(settings.stage1_steps - settings.warmup_steps, 1)
    return settings.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def ema_decay(updates: int, ceiling: float) -> float:
    """The EMA's decay after `updates` updates, warming up as (1 + n) / (10 + n): with a fixed
    0.999 the EMA of a 100-update adversarial stage is still about 90 % the stage-1 weights."""
    return min(ceiling, (1.0 + updates) / (10.0 + updates))


def write_checkpoint(path: Path, state: dict) -> None:
    """Atomically: a kill mid-write leaves the previous checkpoint intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temp:
        torch.save(state, temp)


class StaleCheckpointError(ValueError):
    """The checkpoint belongs to another run (other photos, base model or options)."""


def read_checkpoint(path: Path, device: torch.device, config: GeneratorConfig, run_key: str | None = None) -> dict:
    """A checkpoint's state (no code runs), refused (StaleCheckpointError, which callers may
    offer to start afresh) if it belongs to another run or was trained with another architecture."""
    state = torch.load(path, map_location=device, weights_only=True)
    if run_key is not None and state.get("run_key") != run_key:
        raise StaleCheckpointError(f"{path} belongs to another run")
    if GeneratorConfig.from_json(state["config"]) != config:
        raise StaleCheckpointError(f"{path} was trained with another architecture; use a new checkpoint path")
    return state


def run_steps(trainer, total: int):
    """The one training loop, for every trainer: a step (`trainer.one_step()`, its losses),
    the losses smoothed and checked, a checkpoint every `checkpoint_every` steps and at the
    end of each stage, and a Progress record after every step. Resuming is the trainer's
    checkpoint (its step, weights and random state) read back: the loop goes on from there."""
    settings = trainer.settings
    start, began = trainer.step, time.perf_counter()
    smoothed: dict[str, float] = {}
    ranks = world()  # each rank trains on its own batch: the run's rate is all of theirs
    while trainer.step < total:
        stage = 1 if trainer.step < settings.stage1_steps else 2
        losses = trainer.one_step()
        trainer.step += 1
        for name, value in losses.items():
            value = float(value)
            if not math.isfinite(value):
                raise FloatingPointError(f"{name} loss became {value} at step {trainer.step}")
            smoothed[name] = value if name not in smoothed else 0.95 * smoothed[name] + 0.05 * value
        trainer.metrics = {f"loss_{k}": v for k, v in smoothed.items()}
        if trainer.step % settings.checkpoint_every == 0 or trainer.step in (total, settings.stage1_steps):
            trainer.save_checkpoint()
        elapsed = time.perf_counter() - began
        rate = (trainer.step - start) * settings.batch_size * ranks / max(elapsed, 1e-9)
        yield Progress(stage, trainer.step, total, dict(smoothed), rate, elapsed, start)


class Trainer:
    def __init__(
        self,
        generator: torch.nn.Module,
        config: GeneratorConfig,
        sampler: CropSampler,
        settings: TrainSettings,
        crop: int,
        device: torch.device,
        objective: Objective,
        checkpoint: Path | None = None,
        freeze_encoder: bool = False,
        run_key: str | None = None,
    ):
        self.config, self.settings, self.sampler, self.crop = config, settings, sampler, crop
        # pix2pix has no separate encoder: the whole network trains.
        self.freeze_encoder = freeze_encoder and generator.has_encoder
        self.objective = objective
        self.device, self.checkpoint, self.run_key = device, checkpoint, run_key
        memory_format = torch.channels_last if settings.channels_last else torch.preserve_format
        self.generator = generator.to(device, memory_format=memory_format).train()
        if self.freeze_encoder:
            # Fine-tuning the decoder alone: half the backward pass, and the features stay general.
            for parameter in self.generator.encoder.parameters():
                parameter.requires_grad_(False)
            self.generator.encoder.eval()
        self.discriminator = PatchDiscriminator().to(device, memory_format=memory_format).train()
        self.ema = copy.deepcopy(self.generator).eval()
        for parameter in self.ema.parameters():
            parameter.requires_grad_(False)
        trainable = [p for p in self.generator.parameters() if p.requires_grad]
        self.opt_g = torch.optim.AdamW(trainable, lr=settings.learning_rate,
                                       weight_decay=settings.weight_decay)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=settings.gan_discriminator_lr, betas=(0.5, 0.999))
        self.step = 0
        self.metrics: dict = {}
        if checkpoint is not None and checkpoint.exists():
            self._load(checkpoint)
        self.g_model, self.d_model = self.generator, self.discriminator
        if dist.is_initialized():
            ids = [device.index] if device.type == "cuda" else None
            self.g_model = torch.nn.parallel.DistributedDataParallel(self.generator, device_ids=ids)
            self.d_model = torch.nn.parallel.DistributedDataParallel(self.discriminator, device_ids=ids)
        if settings.compile:
            self.g_model = torch.compile(self.g_model)
            self.d_model = torch.compile(self.d_model)

    # ------------------------------------------------------------ checkpoints

    def state(self) -> dict:
        return {
            "generator": self.generator.state_dict(),
            "ema": self.ema.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "config": self.config.to_json(),
            "settings": asdict(self.settings),
            "step": self.step,
            "metrics": self.metrics,
            "run_key": self.run_key,
            # A resumed run continues the random sequence instead of replaying its first batches.
            "sampler_rng": self.sampler.generator.get_state(),
            "hint_rng": self.objective.generator.get_state(),
        }

    def save_checkpoint(self) -> None:
        if self.checkpoint is not None and is_main_process():
            write_checkpoint(self.checkpoint, self.state())

    def _load(self, path: Path) -> None:
        state = read_checkpoint(path, self.device, self.config, self.run_key)
        self.generator.load_state_dict(state["generator"])
        self.ema.load_state_dict(state["ema"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        self.metrics = dict(state.get("metrics", {}))
        if "sampler_rng" in state:
            self.sampler.generator.set_state(state["sampler_rng"].cpu())
            self.objective.generator.set_state(state["hint_rng"].cpu())

    def export_model(self) -> torch.nn.Module:
        """The generator to ship: the EMA weights once the adversarial stage has run."""
        return self.ema if self.step > self.settings.stage1_steps else self.generator

    # --------------------------------------------------------------- training

    def _autocast(self):
        enabled = self.device.type == "cuda" and self.settings.bf16
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled)

    def _batch(self):
        lightness, ab = self.sampler.batch(self.settings.batch_size)
        if self.settings.channels_last:
            lightness = lightness.contiguous(memory_format=torch.channels_last)
            ab = ab.contiguous(memory_format=torch.channels_last)
        return lightness, ab

    def _stage1_step(self) -> dict:
        for group in self.opt_g.param_groups:
            group["lr"] = learning_rate(self.step, self.settings)
        lightness, ab = self._batch()
        hints = self.objective.hints(ab)
        with self._autocast():
            raw = self.g_model(lightness, hints, raw=True)
        loss = self.objective.loss(raw, ab)
        self.opt_g.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        return {self.loss_name: loss.detach()}

    @property
    def loss_name(self) -> str:
        return "ce" if self.config.ab_classes else "l1"

    def _stage2_step(self) -> dict:
        settings = self.settings
        gan_step = self.step - settings.stage1_steps
        if gan_step == 0:
            self.ema.load_state_dict(self.generator.state_dict())  # the EMA starts from the L1 model
            for group in self.opt_g.param_groups:
                group["lr"] = settings.gan_generator_lr
                group["weight_decay"] = 0.0
        lightness, ab = self._batch()
        hints = self.objective.hints(ab)
        with self._autocast():
            raw = self.g_model(lightness, hints, raw=True)
            fake = self.generator.to_ab(raw, gain=False)  # the discriminator compares before calibration too
            real_logits = self.d_model(lightness, ab)
            fake_logits = self.d_model(lightness, fake.detach())
        loss_d = 0.5 * (
            F.binary_cross_entropy_with_logits(real_logits.float(), torch.ones_like(real_logits, dtype=torch.float32))
            + F.binary_cross_entropy_with_logits(fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float32))
        )
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_d.step()
        losses = {"d": loss_d.detach()}
        if gan_step < settings.discriminator_warmup:
            return losses
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(False)
        with self._autocast():
            judged = self.d_model(lightness, fake)
        loss_gan = F.binary_cross_entropy_with_logits(judged.float(), torch.ones_like(judged, dtype=torch.float32))
        loss_l1 = self.objective.loss(raw, ab)
        loss_g = loss_gan + settings.l1_lambda * loss_l1
        self.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        self.opt_g.step()
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(True)
        decay = ema_decay(gan_step - settings.discriminator_warmup, settings.ema_decay)
        with torch.no_grad():
            for ema_value, value in zip(self.ema.state_dict().values(), self.generator.state_dict().values()):
                if ema_value.is_floating_point():
                    ema_value.lerp_(value, 1.0 - decay)
                else:
                    ema_value.copy_(value)
        losses.update({"gan": loss_gan.detach(), self.loss_name: loss_l1.detach()})
        return losses

    def one_step(self) -> dict:
        return self._stage1_step() if self.step < self.settings.stage1_steps else self._stage2_step()

    def run(self):
        """Train to the end, yielding a Progress after every step."""
        yield from run_steps(self, self.settings.total_steps)
        self.generator.eval()
        self.digest = check_ranks_agree(self.export_model())
