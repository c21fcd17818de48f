"""Decoder-only training on a frozen encoder's features, cached on disk or computed on the fly.

The encoder stays as initialised (ImageNet). Each step takes a batch of views with their
encoder features, simulates hints, runs the decoder and its loss. Two sources of views:

- `CachedViews`: a fixed set of views per photo whose features were computed once
  (feature_cache.py); the batch of step s depends only on (seed, s).
- `StreamedViews`: photos decoded on the fly with fresh augmentation (photo_stream.py),
  the frozen encoder run on each batch; for sets too large to cache, and so that a photo
  never shows the same view twice.

Either way a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import torch

from autochrome.engine import color
from autochrome.engine.networks import GeneratorConfig

from .feature_cache import FIRST_TAP, FeatureCache
from .objective import Objective
from .photo_stream import PhotoStream
from .training import (
    Progress,
    TrainSettings,
    ema_decay,
    learning_rate,
    read_checkpoint,
    write_checkpoint,
)


class CachedViews:
    def __init__(self, cache: FeatureCache, seed: int = 0, min_colourfulness: float = 0.0):
        if not cache.complete:
            raise ValueError("cached features must be complete before training on them")
        self.cache, self.seed = cache, seed
        # Views of near-grey photos teach "stay grey"; BigColor and DDColor leave them out.
        self.indices = np.flatnonzero(cache.colourfulness >= min_colourfulness)
        if len(self.indices) == 0:
            raise ValueError("no training view is colourful enough")

    def batch(self, step: int, size: int, device: torch.device):
        rng = np.random.default_rng([self.seed, step])
        return self.cache.batch(rng.choice(self.indices, size), device)

    def state(self) -> dict:
        return {}

    def load_state(self, state: dict) -> None:
        pass


class StreamedViews:
    def __init__(self, stream: PhotoStream, encoder: torch.nn.Module):
        self.stream, self.encoder = stream, encoder

    def batch(self, step: int, size: int, device: torch.device):
        rgb = torch.from_numpy(self.stream.batch(size)).to(device)
        lab = color.torch_rgb_to_lab(rgb.permute(0, 3, 1, 2).float() / 255.0)
        with torch.inference_mode():
            features = self.encoder(color.normalize_l(lab[:, :1]))
        # Inference tensors cannot be saved for backward; clones can.
        return [None] * FIRST_TAP + [f.clone() for f in features[FIRST_TAP:]], rgb

    def state(self) -> dict:
        return self.stream.state()

    def load_state(self, state: dict) -> None:
        self.stream.load_state(state)


class CachedDecoderTrainer:
    def __init__(self, generator: torch.nn.Module, config: GeneratorConfig, views: CachedViews | StreamedViews,
                 objective: Objective, settings: TrainSettings, device: torch.device, checkpoint: Path | None = None,
                 seed: int = 0, run_key: str | None = None):
        if config.output_stride < 4:
            raise ValueError("decoder-only training serves decoders that stop at stride 4 or coarser")
        self.config, self.views, self.objective, self.settings = config, views, objective, settings
        self.device, self.checkpoint, self.seed, self.run_key = device, checkpoint, seed, run_key
        self.generator = generator.to(device).train()
        for parameter in self.generator.encoder.parameters():
            parameter.requires_grad_(False)
        self.generator.encoder.eval()
        trainable = [p for p in self.generator.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay)
        self.ema = copy.deepcopy(self.generator).eval() if settings.decoder_ema else None
        self.step = 0
        self.metrics: dict = {}
        if checkpoint is not None and checkpoint.exists():
            self._load(checkpoint)

    def state(self) -> dict:
        state = {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "config": self.config.to_json(), "step": self.step, "metrics": self.metrics,
                 "run_key": self.run_key, "views": self.views.state()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def save_checkpoint(self) -> None:
        if self.checkpoint is not None:
            write_checkpoint(self.checkpoint, self.state())

    def _load(self, path: Path) -> None:
        state = read_checkpoint(path, self.device, self.config, self.run_key)
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state.get("ema", state["generator"]))
        self.views.load_state(state.get("views", {}))
        self.step = int(state["step"])
        self.metrics = dict(state.get("metrics", {}))

    def export_model(self) -> torch.nn.Module:
        return (self.ema if self.ema is not None else self.generator).eval()

    def _step(self) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.settings)
        self.objective.generator.manual_seed(self.seed * 1_000_003 + self.step)
        features, rgb = self.views.batch(self.step, self.settings.batch_size, self.device)
        lab = color.torch_rgb_to_lab(rgb.permute(0, 3, 1, 2).float() / 255.0)
        lightness, ab = color.normalize_l(lab[:, :1]), color.normalize_ab(lab[:, 1:])
        raw = self.generator.decode(features, lightness, self.objective.hints(ab))
        loss = self.objective.loss(raw, ab)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.ema is not None:
            decay = ema_decay(self.step, self.settings.ema_decay)
            with torch.no_grad():
                for ema_value, value in zip(self.ema.state_dict().values(), self.generator.state_dict().values()):
                    if ema_value.is_floating_point():
                        ema_value.lerp_(value, 1.0 - decay)
                    else:
                        ema_value.copy_(value)
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
