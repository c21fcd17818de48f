"""Training the damage network's mark filter (engine.networks.marks) on simulated damage.

The per-pixel network is run on training photos, each enlarged by one of SCALES and then once
with simulated damage and once clean; every mark it finds there (at the operating point, of at
least MIN_SCORED_AREA pixels) is one example: damage when at least half its pixels are in the
simulator's mask (a clean photo's marks never are). The filter learns from those examples with
binary cross-entropy weighted by each mark's area (a mark's pixels are what the mask's precision
and the restored PSNR count), in one full batch: some tens of thousands of marks of
MARK_FEATURES numbers. Then its cut is chosen on
photos held out from every damage training: the surest cut that keeps `keep` of the damage
pixels the marks hold, folded into the last bias so that the filter's own 0 is that cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from autochrome.engine.networks.damage import DamageNet
from autochrome.engine.networks.marks import (MARK_FEATURES, OPERATING_CHANCE, FilterEnsemble, MarkFilter, find_marks,
                                              mark_features)

from .damage import DamageRecipe, simulate_damage
from .damage_training import grey_of

MARK_RECIPE = DamageRecipe(faint=0.2)  # as the per-pixel network learned (d8): every kind, nuisance texture too
# The training photos are about 256 px; enlarged (as the per-pixel network's crops were), their
# marks span the lengths of a Kodak photo's (768 px) and are as soft as a scan's.
SCALES = (1.0, 1.5, 2.0, 3.0)
DAMAGE_SHARE = 0.5  # of a mark's pixels in the simulator's mask: it is damage


@dataclass
class MarkExamples:
    features: np.ndarray  # (N, MARK_FEATURES)
    areas: np.ndarray  # (N,) pixels of each mark
    damage: np.ndarray  # (N,) of those, pixels in the simulator's mask

    @property
    def is_damage(self) -> np.ndarray:
        return self.damage >= DAMAGE_SHARE * self.areas

    def __len__(self) -> int:
        return len(self.areas)


def gather_marks(net: DamageNet, photos: list[Path], seed: int, recipe: DamageRecipe = MARK_RECIPE,
                 scales=SCALES, progress=None, first_index: int = 0, smooth_from: int | None = None) -> MarkExamples:
    """The marks `net` (its per-pixel network and stain branch; any filter it has is left out)
    finds on each photo, enlarged by one of `scales`, damaged and clean. `first_index`: the
    place of photos[0] in a longer list gathered in parts (each photo's damage is seeded by its
    place, so the parts together give what the whole list would). The photos from place
    `smooth_from` on are smoothed first (`smoothed`)."""
    from autochrome.engine.restore import damage_probability

    features, areas, damage = [], [], []
    for index, path in enumerate(photos, start=first_index):
        smooth = smooth_from is not None and index >= smooth_from
        clean, damaged, truth = photo_pair(path, seed, index, recipe, scales, smooth)
        for lightness, mask in ((damaged, truth), (clean, None)):
            chance = damage_probability(lightness, net, judge_marks=False)
            marks = find_marks(chance, OPERATING_CHANCE, with_stats=True)
            indices = marks.scored()
            if not len(indices):
                continue
            features.append(mark_features(lightness, chance, marks, indices))
            areas.append(marks.stats[indices, 4].astype(np.float64))
            in_mask = (np.bincount(marks.labels[mask], minlength=len(marks.seeded))[indices] if mask is not None
                       else np.zeros(len(indices)))
            damage.append(in_mask.astype(np.float64))
        if progress is not None:
            progress(index + 1 - first_index, len(photos))
    if not features:
        return MarkExamples(np.zeros((0, MARK_FEATURES), np.float32), np.zeros(0), np.zeros(0))
    return MarkExamples(np.concatenate(features), np.concatenate(areas), np.concatenate(damage))


def photo_pair(path: Path, seed: int, index: int, recipe: DamageRecipe, scales=SCALES, smooth: bool = False):
    """(clean L, damaged L, damage mask) of the photo at place `index`, enlarged by one of `scales`
    (and first `smoothed` when `smooth`)."""
    clean = grey_of(path)
    if smooth:
        clean = smoothed(clean, np.random.default_rng([seed, index, 3]))
    scale = float(np.random.default_rng([seed, index, 2]).choice(scales))
    if scale != 1.0:
        size = (round(clean.shape[1] * scale), round(clean.shape[0] * scale))
        clean = np.clip(cv2.resize(clean, size, interpolation=cv2.INTER_CUBIC), 0, 100)
    damaged, truth = simulate_damage(clean, [seed, index], recipe)
    return clean, damaged, truth


def smoothed(lightness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo blurred by a Gaussian of 3-10 px: a sky, a wall, an out-of-focus ground as
    smooth as the training photos seldom are, where a plain scratch is nothing but a scratch:
    more of the marks a filter sees on a sky (with 600 such photos, d24's filter against d23's:
    held-out precision 0.899 against 0.892). The simulator's grain and nuisance texture still come on top."""
    return cv2.GaussianBlur(lightness, (0, 0), float(rng.uniform(3.0, 10.0)))


def joined(parts: list[MarkExamples]) -> MarkExamples:
    return MarkExamples(*(np.concatenate([getattr(part, name) for part in parts])
                          for name in ("features", "areas", "damage")))


def fit_mark_filter(examples: MarkExamples, hidden: int = 32, steps: int = 1500, lr: float = 1e-2,
                    seed: int = 0, members: int = 1) -> MarkFilter | FilterEnsemble:
    """A filter fitted to the examples (full batch, Adam), its standardisation theirs; with
    `members` > 1, the mean of that many, each fitted from its own first weights (seed, seed + 1, ...)."""
    if not len(examples):
        raise ValueError("the network found no marks on these photos to learn from")
    weight = examples.areas / examples.areas.mean()
    fitted = [fitted_filter(lambda: MarkFilter(hidden), examples.features, examples.is_damage, weight, steps, lr,
                            seed + member) for member in range(members)]
    return fitted[0] if members == 1 else FilterEnsemble.of(fitted)


def fitted_filter(make, features: np.ndarray, is_damage: np.ndarray, weight: np.ndarray,
                  steps: int, lr: float, seed: int) -> MarkFilter:
    """The filter `make()` gives (a mark or speck filter, its first weights drawn from `seed`)
    fitted to the examples (full batch, Adam), its standardisation theirs."""
    torch.manual_seed(seed)
    judge = make()
    features = torch.from_numpy(features.astype(np.float32))
    with torch.no_grad():
        judge.low.copy_(features.min(0).values)
        judge.high.copy_(features.max(0).values)
        judge.mean.copy_(features.mean(0))
        judge.scale.copy_(features.std(0).clamp_min(1e-3))
    target = torch.from_numpy(is_damage.astype(np.float32))
    weight = torch.from_numpy(weight.astype(np.float32))
    optimiser = torch.optim.Adam(judge.parameters(), lr, weight_decay=1e-4)
    for _ in range(steps):
        loss = (F.binary_cross_entropy_with_logits(judge(features), target, reduction="none") * weight).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    if not torch.isfinite(loss):
        raise FloatingPointError("the filter's loss is not finite")
    return judge.eval()


def choose_cut(marks_filter: MarkFilter | FilterEnsemble, held_out: MarkExamples, keep: float = 0.9) -> dict:
    """Fold into the filter's last bias the surest cut (in its logits) that keeps at least `keep`
    of the damage pixels of the held-out marks; returns what it keeps there and at other cuts."""
    with torch.no_grad():
        scores = marks_filter(torch.from_numpy(held_out.features.astype(np.float32))).numpy()
    damage, false = held_out.damage, held_out.areas - held_out.damage
    order = np.argsort(-scores)
    kept_damage = np.cumsum(damage[order]) / max(damage.sum(), 1.0)
    position = int(np.searchsorted(kept_damage, keep))  # the marks down to here keep `keep`
    cut = float(scores[order[min(position, len(order) - 1)]])

    def kept_at(value: float) -> dict:
        kept = scores >= value
        return {"cut": value, "damage_kept": float(damage[kept].sum() / max(damage.sum(), 1.0)),
                "false_kept": float(false[kept].sum() / max(false.sum(), 1.0)),
                "precision": float(damage[kept].sum() / max(held_out.areas[kept].sum(), 1.0))}

    table = [kept_at(value) for value in (-2.0, -1.0, 0.0, 1.0, 2.0)]
    chosen = kept_at(cut)
    marks_filter.shift(cut)
    return {"chosen": chosen, "table": table, "marks": len(held_out),
            "precision_before": float(damage.sum() / max(held_out.areas.sum(), 1.0))}
