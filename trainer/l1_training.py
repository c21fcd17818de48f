"""First training loop: the generator alone with L1 on ab (the seed's stage 1).

A run is an iterator of progress records; stopping the iteration stops training,
and the last checkpoint written stays valid.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from engine.atomic import atomic_path
from engine.networks import GeneratorConfig, build_generator

from .batches import CropSampler


@dataclass(frozen=True)
class L1Settings:
    steps: int = 1000
    batch_size: int = 16
    learning_rate: float = 5e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    checkpoint_every: int = 250
    channels_last: bool = True


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    loss: float
    images_per_second: float
    elapsed_s: float
    start_step: int = 0  # where this run resumed

    @property
    def eta_s(self) -> float:
        done = max(self.step - self.start_step, 1)
        return self.elapsed_s / done * (self.steps - self.step)


def learning_rate_at(step: int, settings: L1Settings) -> float:
    """Linear warm-up, then cosine decay to a tenth."""
    if step < settings.warmup_steps:
        return settings.learning_rate * (step + 1) / settings.warmup_steps
    progress = (step - settings.warmup_steps) / max(settings.steps - settings.warmup_steps, 1)
    return settings.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def save_checkpoint(path: Path, model, optimizer, config: GeneratorConfig, settings: L1Settings, step: int, metrics: dict):
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "config": config.to_json(),
        "settings": asdict(settings),
        "step": step,
        "metrics": metrics,
    }
    with atomic_path(path) as temp:
        torch.save(state, temp)


def train_l1(
    model: torch.nn.Module,
    config: GeneratorConfig,
    sampler: CropSampler,
    settings: L1Settings,
    checkpoint: Path | None = None,
    device: torch.device = torch.device("cpu"),
    pixel_weights=None,
):
    """`pixel_weights`, if given, maps the target ab to a per-pixel loss weight (see rebalance)."""
    model.to(device).train()
    if settings.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    start = 0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = int(state["step"])
    began = time.perf_counter()
    recent_loss = None
    for step in range(start, settings.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate_at(step, settings)
        lightness, ab = sampler.batch(settings.batch_size)
        if settings.channels_last:
            lightness = lightness.contiguous(memory_format=torch.channels_last)
        error = (model(lightness) - ab).abs()
        loss = (error * pixel_weights(ab)).mean() if pixel_weights is not None else error.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"loss became {value} at step {step}")
        recent_loss = value if recent_loss is None else 0.98 * recent_loss + 0.02 * value
        done = step + 1
        if checkpoint is not None and (done % settings.checkpoint_every == 0 or done == settings.steps):
            save_checkpoint(checkpoint, model, optimizer, config, settings, done, {"l1": recent_loss})
        elapsed = time.perf_counter() - began
        yield Progress(done, settings.steps, recent_loss, (done - start) * settings.batch_size / elapsed, elapsed, start)
    model.eval()
