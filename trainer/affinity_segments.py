"""The hint spreading's affinity head trained on human segmentations: two places are alike
when an annotator put them in the same segment (what "one click, one object" asks for).

Each photo is seen as the app sees it: its lightness at render size 256 through the default
model's frozen encoder (computed once, and for the mirrored photo). Each step takes a batch
of photos, one annotator's segmentation each, and pairs of places: neighbours one and two
cells apart, and random pairs; the loss is the binary cross-entropy of exp(-distance^2)
against "same segment". Which segmentation says "same" (`annotation`): one annotator's at
random; the coarsest with at least 3 segments (the level of objects the one-click measure
asks a hint to fill); or the share of the annotators who put the two places together.

It trains on the trainer's one loop (trainer.training.run_steps): checkpoints, resuming,
the finite-loss check and progress records are the same as every other training's.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from autochrome.engine import color
from autochrome.engine.networks.affinity import AffinityHead
from autochrome.engine.pipeline import _pad, render_shape

from .training import TrainSettings, learning_rate, run_steps, write_checkpoint

RENDER = 256
RANDOM_PAIRS = 4096
ANNOTATIONS = ("random", "coarsest", "agreement")


def encode_segmented_photo(rgb: np.ndarray, segmentations: list[np.ndarray], encoder) -> list[tuple]:
    """(features, normalised L, segmentations (annotators, h/4, w/4), -1 in the padding) of a
    photo (float sRGB) and of its mirror image, at the render size."""
    lightness = color.rgb_to_lab(rgb)[..., 0]
    width, height = render_shape(lightness.shape[1], lightness.shape[0], RENDER)
    small = cv2.resize(lightness, (width, height), interpolation=cv2.INTER_AREA)
    items = []
    for mirrored in (False, True):
        one_l = small[:, ::-1].copy() if mirrored else small
        tensor = _pad(torch.from_numpy(color.normalize_l(one_l))[None, None], 32, "reflect")
        with torch.inference_mode():
            features = [f.clone() for f in encoder(tensor)]
        h4, w4 = features[1].shape[-2:]  # the embedding's stride-4 grid
        cells = []
        for segmentation in segmentations:
            seg = segmentation[:, ::-1] if mirrored else segmentation
            labels = cv2.resize(seg.astype(np.float32), (width // 4, height // 4), interpolation=cv2.INTER_NEAREST)
            padded = np.full((h4, w4), -1, np.float32)  # padding cells belong to no segment
            padded[: labels.shape[0], : labels.shape[1]] = labels
            cells.append(padded)
        items.append((features, tensor, torch.from_numpy(np.stack(cells))))
    return items


def coarsest_index(segmentations: torch.Tensor) -> int:
    """The annotator with the fewest segments, of those with at least 3 (bench/one_click.py's rule)."""
    counts = [len(torch.unique(seg[seg >= 0])) for seg in segmentations]
    usable = [i for i, count in enumerate(counts) if count >= 3] or list(range(len(counts)))
    return min(usable, key=lambda i: counts[i])


def pair_loss(embedding: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """embedding (D, h, w), labels (annotators, h, w) with -1 for padding; the target of a pair
    is the share of the given annotators who put its two places in one segment."""
    pairs = []
    for dy, dx in ((0, 1), (1, 0), (0, 2), (2, 0)):
        first = embedding[:, : embedding.shape[1] - dy, : embedding.shape[2] - dx]
        second = embedding[:, dy:, dx:]
        pairs.append((first.flatten(1), second.flatten(1), labels[:, : labels.shape[1] - dy, : labels.shape[2] - dx]
                      .flatten(1), labels[:, dy:, dx:].flatten(1)))
    flat_e, flat_l = embedding.flatten(1), labels.flatten(1)
    index = torch.randint(flat_l.shape[1], (2, RANDOM_PAIRS), generator=generator)
    pairs.append((flat_e[:, index[0]], flat_e[:, index[1]], flat_l[:, index[0]], flat_l[:, index[1]]))
    losses = []
    for e1, e2, l1, l2 in pairs:
        valid = (l1[0] >= 0) & (l2[0] >= 0)
        predicted = torch.exp(-((e1 - e2) ** 2).sum(0)).clamp(1e-5, 1 - 1e-5)[valid]
        target = (l1 == l2).float().mean(0)[valid]
        # Pairs across a boundary are few among neighbours: both kinds weigh the same.
        weight = torch.where(target > 0, 0.5 / target.mean().clamp(min=1e-3), 0.5 / (1 - target.mean()).clamp(min=1e-3))
        losses.append((F.binary_cross_entropy(predicted, target, reduction="none") * weight).mean())
    return torch.stack(losses).mean()


class SegmentAffinityTrainer:
    """A head, its optimizer and its random streams; `run()` is run_steps' iterator."""

    def __init__(self, head: AffinityHead, items: list[tuple], settings: TrainSettings, annotation: str = "random",
                 seed: int = 0, checkpoint: Path | None = None):
        if annotation not in ANNOTATIONS:
            raise ValueError(f"annotation must be one of {', '.join(ANNOTATIONS)}")
        if len(items) < settings.batch_size:
            raise ValueError(f"{len(items)} views are fewer than a batch of {settings.batch_size}")
        self.head, self.items, self.settings, self.annotation = head.train(), items, settings, annotation
        self.optimizer = torch.optim.AdamW(head.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
        self.generator = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.checkpoint, self.step, self.metrics = checkpoint, 0, {}
        if checkpoint is not None and Path(checkpoint).exists():
            self._load(Path(checkpoint))

    def one_step(self) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.settings)
        losses = []
        for index in self.rng.choice(len(self.items), self.settings.batch_size, replace=False):
            features, lightness, segmentations = self.items[index]
            embedding = self.head(features, lightness)[0]
            if self.annotation == "random":
                labels = segmentations[self.rng.integers(len(segmentations))][None]
            elif self.annotation == "coarsest":
                labels = segmentations[coarsest_index(segmentations)][None]
            else:
                labels = segmentations
            losses.append(pair_loss(embedding, labels, self.generator))
        loss = torch.stack(losses).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"affinity": loss.item()}

    def state(self) -> dict:
        return {"head": self.head.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                "metrics": self.metrics, "config": self.head.config.to_json(), "annotation": self.annotation,
                "torch_rng": self.generator.get_state(), "numpy_rng": self.rng.bit_generator.state}

    def save_checkpoint(self) -> None:
        if self.checkpoint is not None:
            write_checkpoint(self.checkpoint, self.state())

    def _load(self, path: Path) -> None:
        from .training import StaleCheckpointError

        state = torch.load(path, map_location="cpu", weights_only=True)
        if state.get("config") != self.head.config.to_json() or state.get("annotation") != self.annotation:
            raise StaleCheckpointError(f"{path} belongs to another head or annotation")
        self.head.load_state_dict(state["head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["torch_rng"])
        self.rng.bit_generator.state = state["numpy_rng"]
        self.step, self.metrics = int(state["step"]), dict(state.get("metrics", {}))

    def run(self):
        yield from run_steps(self, self.settings.stage1_steps)
        self.head.eval()
