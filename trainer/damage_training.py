"""Training the damage mask network (engine.networks.damage) on simulated damage.

Each step: a batch of crops of this project's photos made grey, each scaled by 1-3 (a scan
is smoother and larger than these small photos), given damage by trainer.damage (or none:
the clean crops teach an empty mask) and their filter responses. The ImageNet Lite0 stages
stay frozen; the context decoder and the per-pixel head learn, with binary cross-entropy
(damage weighted up: it is a few percent of the pixels) plus a soft-Dice term (the measure
is the mask's F1). It runs on the trainer's one loop: checkpoints, exact resume, the
finite-loss check.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from autochrome.engine.image_io import load_image
from autochrome.engine.networks.damage import (DamageNet, context_at, context_features, context_lightness,
                                                local_planes, pool_features)

from .damage import DamageRecipe, framed, simulate_damage
from .photos import find_photos
from .training import StaleCheckpointError, TrainSettings, learning_rate, run_steps, write_checkpoint

CROP = 192
POSITIVE_WEIGHT = 2.0
DICE_WEIGHT = 0.5


def load_partial_imagenet(encoder, state: dict) -> None:
    """The ImageNet Lite weights of the stages the damage network keeps (the stem summed over RGB)."""
    own = encoder.state_dict()
    for key, value in state.items():
        if key not in own:
            continue
        if key == "_conv_stem.weight":
            value = value.float().sum(dim=1, keepdim=True)
        if own[key].shape != value.shape:
            raise ValueError(f"the ImageNet checkpoint does not match the damage network at {key}")
        own[key] = value
    encoder.load_state_dict(own)


LARGEST_SCAN = 2000  # px, the longer side


class PhotoCrops:
    """Grey crops of a folder's photos, decoded once each time they are drawn (small photos)."""

    def __init__(self, folder: Path, seed: int = 0, recipe: DamageRecipe = DamageRecipe(), turned: bool = False,
                 hard: list[Path] | None = None, hard_share: float = 0.0):
        """`turned`: each damaged crop and its mask turned by a multiple of 90 degrees and
        perhaps mirrored (one of the 8, seeded): damage and the photo's own lines then lie in
        every direction alike. Without it the simulator's film scratches run mostly
        vertically, and a network trained so (d8) learned that a long horizontal line is the
        photo's own: a 5 px white scratch across a dark dog went unfound (chance under 0.01)
        and was found, 0.99 sure, with the photo turned upright."""
        self.files = find_photos(folder)
        if not self.files:
            raise ValueError(f"no photos in {folder}")
        """`hard`: photos on which a network marked much of its own detail as damage, drawn for
        `hard_share` of the crops at their own size (sharp to the pixel, as a Kodak photo is)."""
        self.seed, self.recipe, self.turned = seed, recipe, turned
        self.hard, self.hard_share = list(hard or []), hard_share

    def sample(self, index: int):
        """(damaged L, mask) of crop `index` (the same index gives the same crop and damage)."""
        rng = np.random.default_rng([self.seed, index])
        for _ in range(8):
            path = self.files[int(rng.integers(len(self.files)))]
            # Drawn only when asked, so that a run without hard photos draws the crops it always did.
            from_hard = bool(self.hard) and rng.random() < self.hard_share
            if from_hard:
                path = self.hard[int(rng.integers(len(self.hard)))]
            try:
                lightness = load_image(path).lightness
            except Exception:  # noqa: BLE001  an unreadable training photo is passed over
                continue
            scale = 1.0 if from_hard else float(rng.choice([1.0, 1.0, 1.0, 1.5, 2.0]))
            scale = max(scale, CROP / min(lightness.shape))
            if scale != 1.0:
                size = (round(lightness.shape[1] * scale), round(lightness.shape[0] * scale))
                lightness = cv2.resize(lightness, size, interpolation=cv2.INTER_CUBIC)
            top = int(rng.integers(0, lightness.shape[0] - CROP + 1))
            left = int(rng.integers(0, lightness.shape[1] - CROP + 1))
            crop = np.clip(lightness[top : top + CROP, left : left + CROP], 0, 100)
            if self.recipe.frames > 0:  # its own generator: without frames every crop stays as it was
                frame_rng = np.random.default_rng([self.seed, index, 2])
                if frame_rng.random() < self.recipe.frames:
                    crop = framed(crop, frame_rng)
            # The damage is drawn as large as on the photo the crop is from, a scan of any size
            # from this one's to LARGEST_SCAN: on the crop alone a stain shrank to a speck unlike
            # the stains of a whole photo (the network trained so still finds few of them: 1 %).
            side = max(lightness.shape)
            extent = float(np.exp(rng.uniform(np.log(side), np.log(max(side, LARGEST_SCAN)))))
            damaged, mask = simulate_damage(crop, [self.seed, index, 1], self.recipe, extent=extent)
            if self.turned:
                turn = int(rng.integers(8))  # drawn after the rest: an unturned crop is d8's crop
                damaged, mask = turned_by(damaged, turn), turned_by(mask, turn)
            return damaged, mask
        raise ValueError("eight photos in a row could not be read")


def turned_by(plane: np.ndarray, turn: int) -> np.ndarray:
    """`plane` turned by `turn % 4` quarter turns, mirrored left to right when `turn` >= 4."""
    out = np.rot90(plane, turn % 4)
    return np.ascontiguousarray(out[:, ::-1] if turn >= 4 else out)


def batch_tensors(samples, version: int):
    """For a network of `version` (DamageConfig): (normalised L at the context's size
    (N,1,H/4,W/4), local features (N,9,H,W), pooled (N,pooled_channels,H/4,W/4), mask
    (N,1,H,W)) of (damaged L, mask) pairs."""
    small = [context_lightness(damaged) for damaged, _ in samples]
    lightness = torch.from_numpy(np.stack(small))[:, None]
    planes = [local_planes(damaged) for damaged, _ in samples]
    local = torch.from_numpy(np.stack(planes))
    pooled = torch.from_numpy(np.stack([context_features(s, pool_features(p), version).transpose(2, 0, 1)
                                        for s, p in zip(small, planes)]))
    mask = torch.from_numpy(np.stack([m for _, m in samples]).astype(np.float32))[:, None]
    return lightness, local, pooled, mask


def damage_logits(net: DamageNet, small: torch.Tensor, local: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
    context = net.context(small, pooled)
    shape = tuple(local.shape[-2:])
    resampled = torch.cat([context_at(context[i : i + 1], shape) for i in range(len(context))])
    return net.logits(local, resampled)


def mask_loss(logits: torch.Tensor, mask: torch.Tensor, positive_weight: float = POSITIVE_WEIGHT,
              dice_weight: float = DICE_WEIGHT) -> torch.Tensor:
    weight = 1.0 + (positive_weight - 1.0) * mask
    bce = F.binary_cross_entropy_with_logits(logits, mask, weight=weight)
    probability = torch.sigmoid(logits)
    dice = 1 - (2 * (probability * mask).sum() + 1) / (probability.sum() + mask.sum() + 1)
    return bce + dice_weight * dice


def symmetrise_kernels(net: DamageNet) -> None:
    """Each learned spatial kernel (the decoder's and the dilated CNN's) made its own transpose:
    since the filter responses are the same turned as the photo, the layers over them then find
    a line running along the rows as they find it along the columns (the frozen ImageNet stages
    are not made so). Turned crops alone did not do it: d8 trained on for 5,000 steps so still
    found a 2 px +15 L scratch on a texture 0.61 of it along the columns and none along the rows."""
    with torch.no_grad():
        for layer in (*net.decoder, *net.lines):
            if isinstance(layer, torch.nn.Conv2d) and layer.kernel_size[0] > 1:
                layer.weight.copy_((layer.weight + layer.weight.transpose(-1, -2)) / 2)


class DamageTrainer:
    def __init__(self, net: DamageNet, crops: PhotoCrops, settings: TrainSettings, checkpoint: Path | None = None,
                 symmetric: bool = False):
        """`symmetric`: the kernels kept their own transposes (symmetrise_kernels) from the
        start and after every step."""
        self.net, self.crops, self.settings, self.checkpoint = net, crops, settings, checkpoint
        self.symmetric = symmetric
        if symmetric:
            symmetrise_kernels(net)
        for parameter in net.encoder.parameters():
            parameter.requires_grad_(False)
        net.train()
        net.encoder.eval()  # ImageNet's statistics
        self.trainable = [p for p in net.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=settings.learning_rate, weight_decay=1e-4)
        self.step, self.metrics = resume_damage_checkpoint(checkpoint, net, "net", net, self.optimizer)

    def one_step(self) -> dict:
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(self.step, self.settings)
        first = self.step * self.settings.batch_size
        samples = [self.crops.sample(first + offset) for offset in range(self.settings.batch_size)]
        lightness, local, pooled, mask = batch_tensors(samples, self.net.config.version)
        loss = mask_loss(damage_logits(self.net, lightness, local, pooled), mask)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.symmetric:
            symmetrise_kernels(self.net)
        return {"mask": loss.item()}

    def save_checkpoint(self) -> None:
        save_damage_checkpoint(self, "net", self.net)

    def run(self):
        yield from run_steps(self, self.settings.stage1_steps)
        self.net.eval()


def move_operating_point(net: DamageNet, chance: float) -> None:
    """Make the per-pixel network's `chance` its own 0.5 (strength 0.5), by its head's last bias."""
    with torch.no_grad():
        net.head[2].bias -= float(np.log(chance / (1 - chance)))


def with_new_part(base_path: Path, **part) -> tuple[DamageNet, dict]:
    """A trained damage network given a new optional part (`stains=width` or `marks=hidden`,
    DamageConfig's fields), blank, its other weights kept; and the file's provenance."""
    import dataclasses

    from autochrome.engine.weights import load_damage_net

    base = load_damage_net(base_path)
    net = DamageNet(dataclasses.replace(base.config, **part))
    missing, unexpected = net.load_state_dict(base.state_dict(), strict=False)
    if unexpected or any(not key.startswith(tuple(f"{name}." for name in part)) for key in missing):
        raise ValueError(f"{base_path} does not fit: missing {missing}, unexpected {unexpected}")
    return net, provenance_of(base_path)


def provenance_of(path: Path) -> dict:
    """The provenance a damage network's file was saved with ({} without one)."""
    import json

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("provenance", "{}"))


def base_of(path: Path) -> DamageNet:
    """The per-pixel network a fitted damage network was built on: its stain branch, mark and
    speck filters dropped and the operating point the filter's fit moved (move_operating_point) moved
    back, so the shipped file gives back the network it was fitted to (d11's: d8, bit for bit
    but for the float rounding of that bias)."""
    import dataclasses

    from autochrome.engine.weights import load_damage_net

    fitted = load_damage_net(path)
    net = DamageNet(dataclasses.replace(fitted.config, stains=0, marks=0, specks=0, mark_members=0))
    net.load_state_dict({key: value for key, value in fitted.state_dict().items()
                         if not key.startswith(("stains.", "marks.", "specks."))}, strict=True)
    moved = provenance_of(path).get("mark_filter", {}).get("operating_chance_of_base", 0.5)
    move_operating_point(net, 1.0 - moved)  # the logit of 1 - c is minus that of c
    return net


def widened(net: DamageNet, lines: int | None = None, hidden: int | None = None, seed: int = 0) -> DamageNet:
    """The damage network with more channels in its dilated line CNN and/or its head's hidden
    layer, giving the same chances (so any filters it has stay fitted): each new channel reads
    its inputs by small random weights (so that it learns something of its own) and is read by
    weights of zero, which training then moves. A trained network can so be given room without
    starting again."""
    import dataclasses

    config = dataclasses.replace(net.config, lines=max(lines or 0, net.config.lines),
                                 hidden=max(hidden or 0, net.config.hidden))
    wide = DamageNet(config)
    missing, _ = wide.load_state_dict({key: value for key, value in net.state_dict().items()
                                       if not key.startswith(("lines.", "head."))}, strict=False)
    if any(not key.startswith(("lines.", "head.")) for key in missing):
        raise ValueError(f"widening would leave these blank: {missing}")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in ("lines", "head"):
            for old, new in zip(getattr(net, name), getattr(wide, name)):
                if not isinstance(old, torch.nn.Conv2d):
                    continue
                outs, ins = old.weight.shape[:2]
                new.weight.normal_(0.0, 0.01, generator=generator)  # the new channels' own reading
                new.weight[:, ins:] = 0.0  # what reads a new channel starts at zero
                new.weight[:outs, :ins] = old.weight
                new.bias.zero_()
                new.bias[:outs] = old.bias
    return wide


def resume_damage_checkpoint(checkpoint: Path | None, net: DamageNet, key: str, trained: torch.nn.Module,
                             optimizer: torch.optim.Optimizer) -> tuple[int, dict]:
    """(step, metrics) of a damage trainer's checkpoint, its weights of `trained` (saved under
    `key`) and optimizer state loaded; (0, {}) without one."""
    if checkpoint is None or not Path(checkpoint).exists():
        return 0, {}
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    if state.get("config") != net.config.to_json():
        raise StaleCheckpointError(f"{checkpoint} belongs to another damage network")
    trained.load_state_dict(state[key])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["step"]), dict(state.get("metrics", {}))


def save_damage_checkpoint(trainer, key: str, trained: torch.nn.Module) -> None:
    """A damage trainer's checkpoint: the weights of `trained` under `key`, as
    `resume_damage_checkpoint` reads it."""
    if trainer.checkpoint is not None:
        write_checkpoint(trainer.checkpoint, {key: trained.state_dict(), "optimizer": trainer.optimizer.state_dict(),
                                              "step": trainer.step, "metrics": trainer.metrics,
                                              "config": trainer.net.config.to_json()})


def mask_scores(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Pixel precision, recall and F1 of a predicted mask against the true one."""
    true_positive = float(np.logical_and(predicted, truth).sum())
    precision = true_positive / max(float(predicted.sum()), 1.0)
    recall = true_positive / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": precision, "recall": recall, "f1": f1}


def pooled_scores(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per row of (true positives, predicted, truth) pixel counts."""
    precision = counts[:, 0] / np.maximum(counts[:, 1], 1)
    recall = counts[:, 0] / np.maximum(counts[:, 2], 1)
    return precision, recall, 2 * precision * recall / np.maximum(precision + recall, 1e-9)


def best_allowed(f1: np.ndarray, clean_psnr: np.ndarray, min_clean_psnr: float,
                 min_clean_share: float) -> tuple[int, np.ndarray]:
    """(the row with the best F1 among those leaving `min_clean_share` of the clean photos within
    `min_clean_psnr` dB, else the last: the most cautious; each row's share within)."""
    within = (clean_psnr >= min_clean_psnr).mean(axis=1)
    allowed = within >= min_clean_share
    return (int(np.argmax(np.where(allowed, f1, -1))) if allowed.any() else len(f1) - 1), within


def lightness_psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    """PSNR of an L (0-100) against the clean one."""
    error = float(np.mean((restored - clean) ** 2))
    return 10 * np.log10(100.0**2 / max(error, 1e-10))


def grey_of(path: Path) -> np.ndarray:
    return np.clip(load_image(path).lightness, 0, 100).astype(np.float32)


def calibrate_operating_point(net: DamageNet, photos: list[Path], seed: int = 1, min_clean_psnr: float = 40.0,
                              min_clean_share: float = 0.75) -> dict:
    """Choose the damage chance at which strength 0.5 fills, on training photos (never the
    evaluation sets): the one with the best mask F1 on simulated damage among those that leave
    `min_clean_share` of the clean photos within `min_clean_psnr` dB of themselves (issue 25's
    bound, photo by photo: pooled over the photos, the few worst ones decided alone). Three
    quarters, not all: on these small photos a thin bright structure taken for a scratch is a
    large share of the photo, and 90 % was reached at no point (84 % where recall fell to 0.13).
    Then move the head's last bias so that the network's own 0.5 is that point. Returns the
    table measured."""
    from autochrome.engine.restore import damage_probability, fill, found_damage

    from .damage import DamageRecipe

    recipe = DamageRecipe(fading=0.0, halftone=0.0, clean=0.0)
    thresholds = np.array([0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99])
    counts = np.zeros((len(thresholds), 3))  # true positives, predicted, truth
    clean_psnr = np.zeros((len(thresholds), len(photos)))
    for index, path in enumerate(photos):
        clean = grey_of(path)
        damaged, truth = simulate_damage(clean, [seed, index], recipe)
        found, untouched = damage_probability(damaged, net), damage_probability(clean, net)
        for row, threshold in enumerate(thresholds):
            predicted = found_damage(found, threshold)
            counts[row] += (np.logical_and(predicted, truth).sum(), predicted.sum(), truth.sum())
            clean_psnr[row, index] = lightness_psnr(fill(clean, found_damage(untouched, threshold)), clean)
    precision, recall, f1 = pooled_scores(counts)
    best, within = best_allowed(f1, clean_psnr, min_clean_psnr, min_clean_share)
    chosen = float(thresholds[best])
    with torch.no_grad():
        move_operating_point(net, chosen)
    return {"threshold": chosen, "min_clean_psnr": min_clean_psnr, "table": [
        {"threshold": float(t), "precision": float(p), "recall": float(r), "f1": float(f),
         "clean_median_psnr": float(np.median(c)), "clean_within": float(w)}
        for t, p, r, f, c, w in zip(thresholds, precision, recall, f1, clean_psnr, within)]}
