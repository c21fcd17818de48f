"""Train the hint spreading's affinity head on human segmentations: two places are alike
when an annotator put them in the same segment (what "one click, one object" asks for).

    python bench/train_affinity_segments.py BSDS500/data --out resources/guide/hint-affinity.safetensors

Reads `images/train/*.jpg` and `groundTruth/train/*.mat` of a BSDS500 clone (never its test
set, which is how the hint spreading is measured). Each photo is seen as the app sees it:
its lightness at render size 256, through the default model's frozen encoder (computed once,
and for the mirrored photo). Each step takes a batch of photos, one annotator's segmentation
each, and pairs of places: neighbours one and two cells apart, and random pairs; the loss is
the binary cross-entropy of exp(-distance^2) against "same segment". Which segmentation says
"same" (`--annotation`): one annotator's at random; the coarsest with at least 3 segments (the
level of objects the one-click measure asks a hint to fill); or the share of the annotators
who put the two places together.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import scipy.io
import torch
import torch.nn.functional as F
from PIL import Image

from autochrome.engine import color
from autochrome.engine.networks.affinity import FEATURE_TAPS, AffinityConfig, AffinityHead
from autochrome.engine.pipeline import _pad, render_shape
from autochrome.engine.weights import load_generator, resolve_model, save_affinity_head

RENDER = 256
RANDOM_PAIRS = 4096


def load_set(data: Path, encoder) -> list[tuple]:
    """(features, normalised L, segmentations (annotators, h4, w4)) per photo and its mirror."""
    items = []
    for photo in sorted((data / "images" / "train").glob("*.jpg")):
        rgb = np.asarray(Image.open(photo).convert("RGB"), np.float32) / 255.0
        lightness = color.rgb_to_lab(rgb)[..., 0]
        width, height = render_shape(lightness.shape[1], lightness.shape[0], RENDER)
        small = cv2.resize(lightness, (width, height), interpolation=cv2.INTER_AREA)
        truth = scipy.io.loadmat(data / "groundTruth" / "train" / f"{photo.stem}.mat")["groundTruth"]
        segmentations = [truth[0, i]["Segmentation"][0, 0].astype(np.float32) for i in range(truth.shape[1])]
        for mirrored in (False, True):
            one_l = small[:, ::-1].copy() if mirrored else small
            tensor = _pad(torch.from_numpy(color.normalize_l(one_l))[None, None], 32, "reflect")
            with torch.inference_mode():
                features = [f.clone() for f in encoder(tensor)]
            h4, w4 = features[1].shape[-2:]  # the embedding's stride-4 grid
            cells = []
            for segmentation in segmentations:
                seg = segmentation[:, ::-1] if mirrored else segmentation
                labels = cv2.resize(seg, (width // 4, height // 4), interpolation=cv2.INTER_NEAREST)
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path, help="BSDS500's data/ folder (images/ and groundTruth/)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--taps", type=int, nargs="+", default=list(FEATURE_TAPS),
                        help="the encoder's feature maps the head reads (1-4: strides 4-32)")
    parser.add_argument("--width", type=int, default=64, help="the head's channels")
    parser.add_argument("--annotation", choices=("random", "coarsest", "agreement"), default="random",
                        help="whose segmentation says two places are one object (see above)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model, info = load_generator(resolve_model(None))
    encoder = model.encoder.eval()
    began = time.time()
    items = load_set(args.data, encoder)
    print(f"{len(items)} views of {len(items) // 2} photos encoded in {time.time() - began:.0f} s", flush=True)
    taps = tuple(args.taps)
    channels = tuple(encoder.channels[tap] for tap in taps)
    head = AffinityHead(AffinityConfig(info.config.encoder, channels, width=args.width, taps=taps)).train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    smoothed = None
    for step in range(args.steps):
        for group in optimizer.param_groups:  # cosine to a tenth
            group["lr"] = args.lr * (0.1 + 0.45 * (1 + np.cos(np.pi * step / args.steps)))
        losses = []
        for index in rng.choice(len(items), args.batch, replace=False):
            features, lightness, segmentations = items[index]
            embedding = head(features, lightness)[0]
            if args.annotation == "random":
                labels = segmentations[rng.integers(len(segmentations))][None]
            elif args.annotation == "coarsest":
                labels = segmentations[coarsest_index(segmentations)][None]
            else:
                labels = segmentations
            losses.append(pair_loss(embedding, labels, generator))
        loss = torch.stack(losses).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        smoothed = loss.item() if smoothed is None else 0.98 * smoothed + 0.02 * loss.item()
        if (step + 1) % 100 == 0:
            print(f"step {step + 1}: loss {smoothed:.4f}", flush=True)
    save_affinity_head(args.out, head.eval(), {
        "training_data": f"BSDS500 train (200 photos) with its human segmentations ({args.annotation})",
        "steps": args.steps,
        "encoder": f"{info.name}'s (frozen)", "date": time.strftime("%Y-%m-%d"),
        "train_minutes": round((time.time() - began) / 60, 1)})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
