"""What a generator is trained to do, given its config: one owner for hints and losses.

Every trainer (end-to-end, decoder-only on cached features, fine-tuning) asks this for the
hint maps of a batch and for the loss of the network's raw output: rebalanced L1 on ab for
a regression model, rebalanced cross-entropy over ab bins for a classifier, each against the
truth pooled to the model's output stride.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from autochrome.engine import color
from autochrome.engine.networks import GeneratorConfig

from .colour_classes import bin_prior, classification_loss, rebalance_class_weights
from .hint_simulation import HintPolicy, simulate_hints
from .rebalance import PixelWeights, ab_histogram, rebalance_weights


class Objective:
    def __init__(self, config: GeneratorConfig, device: torch.device, photos: np.ndarray | None,
                 centres: torch.Tensor | None = None, rebalance: bool = True, hint_policy: HintPolicy = HintPolicy(),
                 seed: int = 0):
        """`photos`: uint8 (N, H, W, 3) training photos for the colour statistics (None: no rebalancing);
        `centres`: the classifier's bin centres (Lab units)."""
        self.config, self.device, self.hint_policy = config, device, hint_policy
        self.generator = torch.Generator().manual_seed(seed + 7919)
        self.pixel_weights = self.class_weights = None
        self.centres = centres.to(device) if centres is not None else None
        if config.ab_classes:
            if centres is None:
                raise ValueError("a classifier needs its bin centres")
            if rebalance and photos is not None:
                samples = _ab_samples(photos)
                prior = bin_prior(samples, self.centres.cpu().numpy())
                self.class_weights = torch.from_numpy(rebalance_class_weights(prior, self.centres.cpu().numpy())).to(device)
        elif rebalance and photos is not None:
            self.pixel_weights = PixelWeights(rebalance_weights(ab_histogram(photos)), device)

    def hints(self, ab: torch.Tensor) -> torch.Tensor | None:
        if not self.config.hint_input:
            return None
        return simulate_hints(ab.float().cpu(), self.hint_policy, self.generator).to(ab.device, ab.dtype)

    def loss(self, raw: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
        """Loss of the raw output (logits or ab at the output stride, before any gain) against full-size true ab."""
        stride = self.config.output_stride
        target = F.avg_pool2d(ab.float(), stride) if stride > 1 else ab.float()
        if self.config.ab_classes:
            return classification_loss(raw, target, self.centres, self.class_weights)
        error = (raw.float() - target).abs()
        return (error * self.pixel_weights(target)).mean() if self.pixel_weights is not None else error.mean()


def _ab_samples(photos: np.ndarray, count: int = 200_000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(photos), count)
    ys = rng.integers(0, photos.shape[1], count)
    xs = rng.integers(0, photos.shape[2], count)
    rgb = photos[index, ys, xs].astype(np.float32) / 255.0
    return color.rgb_to_lab(rgb)[:, 1:]
