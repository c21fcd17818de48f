"""Training the damage network's speck filter (engine.networks.specks) on simulated damage.

As the mark filter's (trainer.mark_training): training photos, each enlarged by one of SCALES,
once damaged and once clean, through the per-pixel network; every speck found (a mark under
MIN_SCORED_AREA px) is an example, damage when at least half its pixels are in the simulator's
mask. Each speck also carries what filling it does: the squared error to the clean L of the
speck left, less that of the speck filled. The filter learns weighted by the size of that (a
faint speck filled or not changes little; a catchlight painted out, much), and its cut is the
one that does the held-out photos the most good: the largest sum of the specks' gains.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from autochrome.engine.networks.marks import OPERATING_CHANCE, MarkFilter, find_marks
from autochrome.engine.networks.specks import SPECK_FEATURES, scored_specks, speck_features

from .damage import DamageRecipe
from .mark_training import DAMAGE_SHARE, MARK_RECIPE, SCALES, fitted_filter, photo_pair


@dataclass
class SpeckExamples:
    features: np.ndarray  # (N, SPECK_FEATURES)
    areas: np.ndarray  # (N,) pixels of each speck
    damage: np.ndarray  # (N,) of those, pixels in the simulator's mask
    gains: np.ndarray  # (N,) squared error to the clean L left unfilled, less filled

    @property
    def is_damage(self) -> np.ndarray:
        return self.damage >= DAMAGE_SHARE * self.areas

    def __len__(self) -> int:
        return len(self.areas)


FIELDS = ("features", "areas", "damage", "gains")


def joined_specks(parts: list[SpeckExamples]) -> SpeckExamples:
    return SpeckExamples(*(np.concatenate([getattr(part, name) for part in parts]) for name in FIELDS))


def gather_specks(net, photos: list[Path], seed: int, recipe: DamageRecipe = MARK_RECIPE, scales=SCALES,
                  progress=None, first_index: int = 0) -> SpeckExamples:
    """The specks `net`'s per-pixel network finds on each photo (its filters left out), enlarged
    by one of `scales` (drawn as the mark filter's gathering draws them), damaged and clean."""
    from autochrome.engine.restore import damage_probability, fill

    parts = []
    for index, path in enumerate(photos, start=first_index):
        clean, damaged, truth = photo_pair(path, seed, index, recipe, scales)
        for lightness, mask in ((damaged, truth), (clean, None)):
            chance = damage_probability(lightness, net, judge_marks=False)
            marks = find_marks(chance, OPERATING_CHANCE, with_stats=True)
            indices = scored_specks(marks)
            if not len(indices):
                continue
            filled = fill(lightness, marks.seeded[marks.labels])
            labels, count = marks.labels.ravel(), len(marks.seeded)
            left = np.bincount(labels, ((lightness - clean) ** 2).ravel(), count)
            after = np.bincount(labels, ((filled - clean) ** 2).ravel(), count)
            in_mask = np.bincount(labels, mask.ravel(), count) if mask is not None else np.zeros(count)
            parts.append(SpeckExamples(speck_features(lightness, chance, marks, indices),
                                       marks.stats[indices, 4].astype(np.float64), in_mask[indices].astype(np.float64),
                                       (left - after)[indices]))
        if progress is not None:
            progress(index + 1 - first_index, len(photos))
    if not parts:
        return SpeckExamples(np.zeros((0, SPECK_FEATURES), np.float32), *(np.zeros(0) for _ in range(3)))
    return joined_specks(parts)


def fit_speck_filter(examples: SpeckExamples, hidden: int = 32, steps: int = 1500, lr: float = 1e-2,
                     seed: int = 0) -> MarkFilter:
    """A speck filter fitted to the examples, each weighted by how much filling it moves the error."""
    if not len(examples):
        raise ValueError("the network found no specks on these photos to learn from")
    weight = np.abs(examples.gains)
    return fitted_filter(lambda: MarkFilter(hidden, SPECK_FEATURES), examples.features, examples.is_damage,
                         weight / max(weight.mean(), 1e-9), steps, lr, seed)


def choose_speck_cut(speck_filter: MarkFilter, held_out: SpeckExamples) -> dict:
    """Fold into the filter's last bias the cut (in its logits) whose specks kept give the
    held-out photos the largest gain; returns the gains there, of filling every speck and of none."""
    with torch.no_grad():
        scores = speck_filter(torch.from_numpy(held_out.features.astype(np.float32))).numpy()
    order = np.argsort(-scores)
    gained = np.cumsum(held_out.gains[order])
    best = int(np.argmax(gained))
    if gained[best] <= 0:
        cut, kept = float(scores[order[0]]) + 1.0, np.zeros(len(scores), bool)  # filling none does best
    else:
        cut = float(scores[order[best]])
        kept = scores >= cut
    damage = held_out.damage
    speck_filter.shift(cut)
    return {"cut": cut, "specks": len(held_out), "kept": int(kept.sum()),
            "gain_kept": float(held_out.gains[kept].sum()), "gain_all": float(held_out.gains.sum()),
            "damage_pixels_kept": float(damage[kept].sum() / max(damage.sum(), 1.0)),
            "false_pixels_kept": float((held_out.areas - damage)[kept].sum() / max((held_out.areas - damage).sum(), 1.0))}
