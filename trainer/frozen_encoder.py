"""Training on a frozen encoder's features, cached on disk or computed on the fly.

The encoder stays as initialised (ImageNet). Each step takes a batch of views with their
encoder features and hands it to each learner: the generator's decoder (colour), and the
affinity head that tells the hint spreading which places share a colour. Two sources of views:

- `CachedViews`: a fixed set of views per photo whose features were computed once
  (feature_cache.py); the batch of step s depends only on (seed, s).
- `StreamedViews`: photos decoded on the fly with fresh augmentation (photo_stream.py),
  the frozen encoder run on each batch; for sets too large to cache, and so that a photo
  never shows the same view twice.

Either way a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from autochrome.engine import color
from autochrome.engine.networks import GeneratorConfig
from autochrome.engine.networks.affinity import AffinityHead

from .discriminator import PatchDiscriminator
from .distributed import average_buffers, average_gradients, check_ranks_agree, is_main_process, rank, share, world
from .feature_cache import FIRST_TAP, VIEWS_PER_PHOTO, FeatureCache
from .objective import Objective
from .photo_stream import PhotoStream
from .training import (
    StaleCheckpointError,
    TrainSettings,
    ema_decay,
    learning_rate,
    run_steps,
    write_checkpoint,
)


LAST_TAP = 4  # stride 32: the encoder's deepest features
# Half the seed's width: at 128 px on a CPU the full PatchGAN would cost more than the decoder itself.
DISCRIMINATOR_FILTERS = 32


class CachedViews:
    def __init__(self, cache: FeatureCache, seed: int = 0, min_colourfulness: float = 0.0):
        if not cache.complete:
            raise ValueError("cached features must be complete before training on them")
        self.cache, self.seed = cache, seed
        # Views of near-grey photos teach "stay grey"; BigColor and DDColor leave them out.
        # Under torchrun each rank draws from its own share of the photos (a photo's four views together).
        colourful = cache.colourfulness >= min_colourfulness
        photos = share(np.arange(len(colourful) // VIEWS_PER_PHOTO))
        self.indices = np.array([index for photo in photos for index in range(photo * VIEWS_PER_PHOTO,
                                 (photo + 1) * VIEWS_PER_PHOTO) if colourful[index]], np.int64)
        if len(self.indices) == 0:
            raise ValueError("no training view is colourful enough")
        self.stream_key = [seed] if world() == 1 else [seed, rank()]

    def batch(self, step: int, size: int, device: torch.device):
        rng = np.random.default_rng([*self.stream_key, step])
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


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    with torch.no_grad():
        for ema_value, value in zip(ema.state_dict().values(), model.state_dict().values()):
            if ema_value.is_floating_point():
                ema_value.lerp_(value, 1.0 - decay)
            else:
                ema_value.copy_(value)


class DecoderLearner:
    """The generator's decoder, trained on the frozen encoder's features (and its EMA).

    Options (TrainSettings): the encoder's last stages learning too, run live on the cached
    features before them (`live_encoder_stages`), and a PatchGAN beside the colour loss
    (`adversarial_weight`), the seed's second stage brought to cached training."""

    name = "decoder"

    def __init__(self, generator: torch.nn.Module, config: GeneratorConfig, objective: Objective,
                 settings: TrainSettings, device: torch.device, seed: int = 0):
        if config.output_stride < 4:
            raise ValueError("decoder-only training serves decoders that stop at stride 4 or coarser")
        if not 0 <= settings.live_encoder_stages <= LAST_TAP - FIRST_TAP - 1:
            raise ValueError(f"the encoder's last 0 to {LAST_TAP - FIRST_TAP - 1} stages can learn on cached features")
        if settings.adversarial_weight < 0:
            raise ValueError("the adversarial weight cannot be negative")
        self.config, self.objective, self.settings, self.seed = config, objective, settings, seed
        self.generator = generator.to(device).train()
        encoder = self.generator.encoder
        for parameter in encoder.parameters():
            parameter.requires_grad_(False)
        # Its batch statistics stay ImageNet's either way: a batch of 32 small views is too few to re-estimate them.
        encoder.eval()
        self.first_live_tap = LAST_TAP + 1 - settings.live_encoder_stages
        live = self._live_parameters()
        for parameter in live:
            parameter.requires_grad_(True)
        decoder = [p for name, p in self.generator.named_parameters() if not name.startswith("encoder.")]
        groups = [{"params": decoder, "lr_scale": 1.0}]
        if live:
            groups.append({"params": live, "lr_scale": settings.encoder_lr_scale})
        self.optimizer = torch.optim.AdamW(groups, lr=settings.learning_rate, weight_decay=settings.weight_decay)
        self._trainable = decoder + live
        self.ema = copy.deepcopy(self.generator).eval() if settings.decoder_ema else None
        self.discriminator = self.d_optimizer = None
        if settings.adversarial_weight > 0:
            self.discriminator = PatchDiscriminator(filters=DISCRIMINATOR_FILTERS).to(device).train()
            self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=settings.gan_discriminator_lr,
                                                betas=(0.5, 0.999))

    def _live_parameters(self) -> list[torch.nn.Parameter]:
        if self.first_live_tap > LAST_TAP:
            return []
        encoder = self.generator.encoder
        start = encoder.taps[self.first_live_tap - 1] + 1
        return [p for block in encoder._blocks[start:] for p in block.parameters()]

    def features(self, cached: list) -> list:
        """The features the decoder sees: the cache's, the live stages' from the tap before them."""
        if self.first_live_tap > LAST_TAP:
            return cached
        live = self.generator.encoder.run_blocks(cached[self.first_live_tap - 1], self.first_live_tap)
        return list(cached[: self.first_live_tap]) + live

    def step(self, step: int, features, lightness, ab) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(step, self.settings) * group["lr_scale"]
        self.objective.generator.manual_seed(self.seed * 1_000_003 + step)
        raw = self.generator.decode(self.features(features), lightness, self.objective.hints(ab))
        colour_loss = self.objective.loss(raw, ab)
        losses = {"ce" if self.config.ab_classes else "l1": colour_loss.item()}
        loss = colour_loss
        if self.discriminator is not None:
            verdict, losses["d"] = self._adversarial(step, raw, lightness, ab)
            if verdict is not None:
                loss = loss + self.settings.adversarial_weight * verdict
                losses["gan"] = verdict.item()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self._trainable)
        self.optimizer.step()
        average_buffers(self.generator)
        if self.ema is not None:
            _ema_update(self.ema, self.generator, ema_decay(step, self.settings.ema_decay))
        return losses

    def _adversarial(self, step: int, raw, lightness, ab):
        """One discriminator step, and the generator's adversarial loss once the discriminator
        has warmed up. Both colours are compared as the decoder can give them: the truth
        pooled to the output stride and upsampled like the prediction, so the discriminator
        cannot win on detail the decoder never produces."""
        fake = self.generator.to_ab(raw, gain=False)
        stride = self.config.output_stride
        real = F.interpolate(F.avg_pool2d(ab.float(), stride), scale_factor=stride, mode="bilinear",
                             align_corners=False)
        real_logits = self.discriminator(lightness, real)
        fake_logits = self.discriminator(lightness, fake.detach())
        loss_d = 0.5 * (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
                        + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
        self.d_optimizer.zero_grad(set_to_none=True)
        loss_d.backward()
        average_gradients(self.discriminator.parameters())
        self.d_optimizer.step()
        average_buffers(self.discriminator)
        if step < self.settings.discriminator_warmup:
            return None, loss_d.item()
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(False)
        judged = self.discriminator(lightness, fake)
        for parameter in self.discriminator.parameters():
            parameter.requires_grad_(True)
        return F.binary_cross_entropy_with_logits(judged, torch.ones_like(judged)), loss_d.item()

    def state(self) -> dict:
        state = {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "config": self.config.to_json()}
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self.discriminator is not None:
            state["discriminator"] = self.discriminator.state_dict()
            state["d_optimizer"] = self.d_optimizer.state_dict()
        return state

    def load_state(self, state: dict) -> None:
        if state.get("config") != self.config.to_json():
            raise StaleCheckpointError("the checkpoint was trained with another architecture")
        self.generator.load_state_dict(state["generator"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.ema is not None:
            self.ema.load_state_dict(state.get("ema", state["generator"]))
        if self.discriminator is not None:
            if "discriminator" not in state:
                raise StaleCheckpointError("the checkpoint was trained without a discriminator")
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_optimizer.load_state_dict(state["d_optimizer"])

    def export(self) -> torch.nn.Module:
        return (self.ema if self.ema is not None else self.generator).eval()


# Two places share a colour when their true ab (averaged over a stride-4 cell) are this close.
AFFINITY_SIGMA = 6.0
RANDOM_PAIRS = 2048


class AffinityLearner:
    """The affinity head (engine.networks.affinity): embeddings at stride 4 whose distances
    predict how alike the true colours of two places are, for neighbours (what the hint
    spreading ties) and for random pairs across the view (so the embedding is consistent)."""

    name = "affinity"

    def __init__(self, head: AffinityHead, settings: TrainSettings, device: torch.device, seed: int = 0):
        self.head, self.settings, self.seed = head.to(device).train(), settings, seed
        self.optimizer = torch.optim.AdamW(self.head.parameters(), lr=settings.learning_rate, weight_decay=1e-4)

    def step(self, step: int, features, lightness, ab) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(step, self.settings)
        embedding = self.head(features, lightness)  # (N, D, h, w)
        n, dimensions, height, width = embedding.shape
        truth = color.denormalize_ab(F.adaptive_avg_pool2d(ab.float(), (height, width)))
        pairs = [(embedding[..., :, 1:], embedding[..., :, :-1], truth[..., :, 1:], truth[..., :, :-1]),
                 (embedding[..., 1:, :], embedding[..., :-1, :], truth[..., 1:, :], truth[..., :-1, :]),
                 (embedding[..., :, 2:], embedding[..., :, :-2], truth[..., :, 2:], truth[..., :, :-2]),
                 (embedding[..., 2:, :], embedding[..., :-2, :], truth[..., 2:, :], truth[..., :-2, :])]
        generator = torch.Generator().manual_seed(self.seed * 7_000_003 + step)
        flat_e, flat_t = embedding.flatten(2), truth.flatten(2)
        first = torch.randint(height * width, (RANDOM_PAIRS,), generator=generator).to(embedding.device)
        second = torch.randint(height * width, (RANDOM_PAIRS,), generator=generator).to(embedding.device)
        pairs.append((flat_e[..., first], flat_e[..., second], flat_t[..., first], flat_t[..., second]))
        losses = []
        for e1, e2, t1, t2 in pairs:
            predicted = torch.exp(-((e1 - e2) ** 2).sum(dim=1)).clamp(1e-5, 1 - 1e-5)
            target = torch.exp(-((t1 - t2) ** 2).sum(dim=1) / (2 * AFFINITY_SIGMA**2))
            losses.append(F.binary_cross_entropy(predicted, target))
        loss = torch.stack(losses).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.head.parameters())
        self.optimizer.step()
        average_buffers(self.head)
        return {"affinity": loss.item()}

    def state(self) -> dict:
        return {"head": self.head.state_dict(), "optimizer": self.optimizer.state_dict(),
                "config": self.head.config.to_json()}

    def load_state(self, state: dict) -> None:
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])

    def export(self) -> torch.nn.Module:
        return self.head.eval()


class FrozenEncoderTrainer:
    """Views in (with the frozen encoder's features), each learner a step; the loop,
    checkpoints and progress records are trainer.training.run_steps'."""

    def __init__(self, learners: list, views: CachedViews | StreamedViews, settings: TrainSettings,
                 device: torch.device, checkpoint: Path | None = None, run_key: str | None = None):
        if not learners:
            raise ValueError("nothing to train")
        self.learners, self.views, self.settings = learners, views, settings
        self.device, self.checkpoint, self.run_key = device, checkpoint, run_key
        self.step = 0
        self.metrics: dict = {}
        if checkpoint is not None and checkpoint.exists():
            self._load(checkpoint)

    def learner(self, name: str):
        return next((learner for learner in self.learners if learner.name == name), None)

    def state(self) -> dict:
        return {"step": self.step, "metrics": self.metrics, "run_key": self.run_key, "views": self.views.state(),
                **{f"learner:{learner.name}": learner.state() for learner in self.learners}}

    def save_checkpoint(self) -> None:
        if self.checkpoint is not None and is_main_process():
            write_checkpoint(self.checkpoint, self.state())

    def _load(self, path: Path) -> None:
        state = torch.load(path, map_location=self.device, weights_only=True)
        if self.run_key is not None and state.get("run_key") != self.run_key:
            raise StaleCheckpointError(f"{path} belongs to another run")
        for learner in self.learners:
            key = f"learner:{learner.name}"
            if key not in state:
                raise StaleCheckpointError(f"{path} holds no {learner.name}; use a new checkpoint path")
            learner.load_state(state[key])
        self.views.load_state(state.get("views", {}))
        self.step = int(state["step"])
        self.metrics = dict(state.get("metrics", {}))

    def export_model(self) -> torch.nn.Module:
        return self.learners[0].export()

    def one_step(self) -> dict:
        features, rgb = self.views.batch(self.step, self.settings.batch_size, self.device)
        lab = color.torch_rgb_to_lab(rgb.permute(0, 3, 1, 2).float() / 255.0)
        lightness, ab = color.normalize_l(lab[:, :1]), color.normalize_ab(lab[:, 1:])
        losses = {}
        for learner in self.learners:
            losses.update(learner.step(self.step, features, lightness, ab))
        return losses

    def run(self):
        yield from run_steps(self, self.settings.stage1_steps)
        self.digest = ",".join(check_ranks_agree(learner.export()) for learner in self.learners)
