"""Training the damage network's whole-photo stain branch (engine.networks.stains).

The rest of a trained damage network stays as it is: the branch learns alone, on whole
photos (a crop of one cannot show a stain's extent), each made grey and given simulated
damage of every kind with stains more often than the bench draws them; the target is where
the stains moved the lightness (trainer.damage), at the branch's output size. Binary
cross-entropy (stains weighted up) plus soft Dice, on the trainer's one loop: checkpoints,
exact resume, the finite-loss check. Then `calibrate_stains` chooses where the branch's
chance counts, on training photos, with the rule the per-pixel network was calibrated by.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from autochrome.engine.image_io import load_image
from autochrome.engine.networks.damage import DamageNet
from autochrome.engine.networks.stains import STAIN_STRIDE, stain_input, stain_logits, stain_chance

from .damage import DamageRecipe, simulate_damage
from .damage_training import (best_allowed, grey_of, lightness_psnr, mask_loss, pooled_scores,
                              resume_damage_checkpoint, save_damage_checkpoint)
from .photos import find_photos
from .training import TrainSettings, learning_rate, run_steps

STAIN_RECIPE = DamageRecipe(stains=0.6, faint=0.2)
POSITIVE_WEIGHT = 20.0  # a stain is 1 % of the cells: at 2 or 5 the branch learned to say none
DICE_WEIGHT = 1.0


def stain_target(stains: np.ndarray, small_shape: tuple[int, int]) -> np.ndarray:
    """The stain mask (H, W) of a photo at the branch's output size for an input of `small_shape`:
    the cells that are stain for at least half their pixels, float32."""
    height, width = (-(-side // STAIN_STRIDE) for side in small_shape[-2:])
    share = cv2.resize(stains.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA)
    return (share >= 0.5).astype(np.float32)


class WholePhotos:
    """(branch input, target) pairs of a folder's whole photos with simulated damage."""

    def __init__(self, folder: Path, seed: int = 0, recipe: DamageRecipe = STAIN_RECIPE):
        self.files = find_photos(folder)
        if not self.files:
            raise ValueError(f"no photos in {folder}")
        self.seed, self.recipe = seed, recipe

    def sample(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng([self.seed, index])
        for _ in range(8):
            path = self.files[int(rng.integers(len(self.files)))]
            try:
                lightness = np.clip(load_image(path).lightness, 0, 100).astype(np.float32)
            except Exception:  # noqa: BLE001  an unreadable training photo is passed over
                continue
            if rng.random() < 0.5:
                lightness = np.ascontiguousarray(lightness[:, ::-1])
            kinds: dict = {}
            damaged, _ = simulate_damage(lightness, [self.seed, index, 1], self.recipe, kinds=kinds)
            small = stain_input(damaged)
            return small, stain_target(kinds.get("stains", np.zeros(damaged.shape, bool)), small.shape)
        raise ValueError("eight photos in a row could not be read")


def stain_loss(logits: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    flat = torch.cat([x.flatten() for x in logits]), torch.cat([t.flatten() for t in targets])
    return mask_loss(*flat, positive_weight=POSITIVE_WEIGHT, dice_weight=DICE_WEIGHT)


class StainTrainer:
    def __init__(self, net: DamageNet, photos: WholePhotos, settings: TrainSettings, checkpoint: Path | None = None):
        if net.stains is None:
            raise ValueError("this damage network has no stain branch (DamageConfig.stains)")
        self.net, self.photos, self.settings, self.checkpoint = net, photos, settings, checkpoint
        for parameter in net.parameters():
            parameter.requires_grad_(False)
        for parameter in net.stains.parameters():
            parameter.requires_grad_(True)
        net.eval()
        net.stains.train()
        self.optimizer = torch.optim.AdamW(net.stains.parameters(), lr=settings.learning_rate, weight_decay=1e-4)
        self.step, self.metrics = resume_damage_checkpoint(checkpoint, net, "stains", net.stains, self.optimizer)

    def one_step(self) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.settings)
        first = self.step * self.settings.batch_size
        samples = [self.photos.sample(first + offset) for offset in range(self.settings.batch_size)]
        # One photo at a time: each keeps its own size and shape, as in use (padding photos to
        # one size would show the network borders it never sees in use).
        logits = [self.net.stains(torch.from_numpy(small)[None])[0, 0] for small, _ in samples]
        loss = stain_loss(logits, [torch.from_numpy(target) for _, target in samples])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"stains": loss.item()}

    def save_checkpoint(self) -> None:
        save_damage_checkpoint(self, "stains", self.net.stains)

    def run(self):
        yield from run_steps(self, self.settings.stage1_steps)
        self.net.eval()


def calibrate_stains(net: DamageNet, photos: list[Path], seed: int = 1, min_clean_psnr: float = 40.0,
                     min_clean_share: float = 0.75) -> dict:
    """Choose the stain chance that counts as damage at strength 0.5, on training photos (never
    the evaluation sets), by the per-pixel network's rule (`calibrate_operating_point`): the
    best F1 of the whole mask on simulated damage among the chances that keep `min_clean_share`
    of the clean photos within `min_clean_psnr` dB of themselves; then move the branch's last
    bias so that its own 0.5 is that chance (1.0: the branch is never trusted). Returns the
    table measured."""
    from autochrome.engine.restore import fill, found_damage, joined_chance, pixel_damage_probability

    recipe = DamageRecipe(fading=0.0, halftone=0.0, clean=0.0, stains=STAIN_RECIPE.stains)
    thresholds = np.array([0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 1.0])
    counts, stain_counts = np.zeros((len(thresholds), 3)), np.zeros((len(thresholds), 2))
    clean_psnr = np.zeros((len(thresholds), len(photos)))
    for index, path in enumerate(photos):
        clean = grey_of(path)
        kinds: dict = {}
        damaged, truth = simulate_damage(clean, [seed, index], recipe, kinds=kinds)
        stains = kinds.get("stains", np.zeros(truth.shape, bool))
        pixels = {"damaged": pixel_damage_probability(damaged, net), "clean": pixel_damage_probability(clean, net)}
        logits = {"damaged": stain_logits(damaged, net.stains), "clean": stain_logits(clean, net.stains)}
        for row, threshold in enumerate(thresholds):
            def found(which: str) -> np.ndarray:
                chance = pixels[which]
                if threshold < 1.0:
                    shift = float(np.log(threshold / (1 - threshold)))
                    chance = joined_chance(chance.copy(), stain_chance(logits[which], chance.shape, shift))
                return found_damage(chance, 0.5)

            predicted = found("damaged")
            counts[row] += (np.logical_and(predicted, truth).sum(), predicted.sum(), truth.sum())
            stain_counts[row] += (np.logical_and(predicted, stains).sum(), stains.sum())
            clean_psnr[row, index] = lightness_psnr(fill(clean, found("clean")), clean)
    precision, recall, f1 = pooled_scores(counts)
    best, within = best_allowed(f1, clean_psnr, min_clean_psnr, min_clean_share)
    chosen = float(thresholds[best])
    with torch.no_grad():
        # 1.0: the stain branch is never trusted (its chance kept far below any threshold).
        net.stains.out.bias -= float(np.log(chosen / (1 - chosen))) if chosen < 1.0 else 1e4
    return {"threshold": chosen, "min_clean_psnr": min_clean_psnr, "table": [
        {"threshold": float(t), "precision": float(p), "recall": float(r), "f1": float(f),
         "stain_recall": float(sc[0] / max(sc[1], 1)), "clean_median_psnr": float(np.median(c)),
         "clean_within": float(w)}
        for t, p, r, f, sc, c, w in zip(thresholds, precision, recall, f1, stain_counts, clean_psnr, within)]}
