"""Decoder-only training on cached encoder features (see feature_cache.py).

The encoder stays as initialised (ImageNet); each step reads a batch of cached features
and true colours, simulates hints, runs the decoder and its loss. The batch and the hints of
step s depend only on (seed, s), so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from engine import color
from engine.networks import GeneratorConfig

from .feature_cache import FeatureCache
from .objective import Objective
from .training import (
    Progress,
    TrainSettings,
    read_checkpoint,
    stage1_learning_rate,
    write_checkpoint,
)


class CachedDecoderTrainer:
    def __init__(self, generator: torch.nn.Module, config: GeneratorConfig, cache: FeatureCache, objective: Objective,
                 settings: TrainSettings, device: torch.device, checkpoint: Path | None = None, seed: int = 0,
                 min_colourfulness: float = 0.0):
        if config.output_stride < 4 or not cache.complete:
            raise ValueError("cached features serve decoders that stop at stride 4, from a complete cache")
        self.config, self.cache, self.objective, self.settings = config, cache, objective, settings
        self.device, self.checkpoint, self.seed = device, checkpoint, seed
        self.generator = generator.to(device).train()
        for parameter in self.generator.encoder.parameters():
            parameter.requires_grad_(False)
        self.generator.encoder.eval()
        trainable = [p for p in self.generator.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay)
        # Views of near-grey photos teach "stay grey"; BigColor and DDColor leave them out.
        self.indices = np.flatnonzero(cache.colourfulness >= min_colourfulness)
        if len(self.indices) == 0:
            raise ValueError("no training view is colourful enough")
        self.step = 0
        self.metrics: dict = {}
        if checkpoint is not None and checkpoint.exists():
            self._load(checkpoint)

    def state(self) -> dict:
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "config": self.config.to_json(), "step": self.step, "metrics": self.metrics}

    def save_checkpoint(self) -> None:
        if self.checkpoint is not None:
            write_checkpoint(self.checkpoint, self.state())

    def _load(self, path: Path) -> None:
        state = read_checkpoint(path, self.device, self.config)
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        self.metrics = dict(state.get("metrics", {}))

    def export_model(self) -> torch.nn.Module:
        return self.generator.eval()

    def _step(self) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = stage1_learning_rate(self.step, self.settings)
        rng = np.random.default_rng([self.seed, self.step])
        self.objective.generator.manual_seed(self.seed * 1_000_003 + self.step)
        features, rgb = self.cache.batch(rng.choice(self.indices, self.settings.batch_size), self.device)
        lab = color.torch_rgb_to_lab(rgb.permute(0, 3, 1, 2).float() / 255.0)
        lightness, ab = color.normalize_l(lab[:, :1]), color.normalize_ab(lab[:, 1:])
        raw = self.generator.decode(features, lightness, self.objective.hints(ab))
        loss = self.objective.loss(raw, ab)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"ce" if self.config.ab_classes else "l1": loss.item()}

    def run(self):
        settings = self.settings
        start, began = self.step, time.perf_counter()
        smoothed: dict[str, float] = {}
        while self.step < settings.stage1_steps:
            losses = self._step()
            self.step += 1
            for name, value in losses.items():
                if not np.isfinite(value):
                    raise FloatingPointError(f"{name} loss became {value} at step {self.step}")
                smoothed[name] = value if name not in smoothed else 0.95 * smoothed[name] + 0.05 * value
            self.metrics = {f"loss_{k}": v for k, v in smoothed.items()}
            if self.step % settings.checkpoint_every == 0 or self.step == settings.stage1_steps:
                self.save_checkpoint()
            elapsed = time.perf_counter() - began
            rate = (self.step - start) * settings.batch_size / max(elapsed, 1e-9)
            yield Progress(1, self.step, settings.stage1_steps, dict(smoothed), rate, elapsed, start)
        self.generator.eval()
