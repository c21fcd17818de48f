"""Train the hint spreading's affinity head on human segmentations (trainer/affinity_segments.py).

    python bench/train_affinity_segments.py BSDS500/data --out resources/guide/hint-affinity.safetensors

Reads `images/train/*.jpg` and `groundTruth/train/*.mat` of a BSDS500 clone (never its test
set, which is how the hint spreading is measured). The training runs on the trainer's one loop:
a checkpoint every 250 steps beside OUT (`--checkpoint`), resumed when it is there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io
import torch
from PIL import Image

from autochrome.engine.networks.affinity import FEATURE_TAPS, AffinityConfig, AffinityHead
from autochrome.engine.weights import load_generator, resolve_model, save_affinity_head
from autochrome.trainer.affinity_segments import ANNOTATIONS, SegmentAffinityTrainer, encode_segmented_photo
from autochrome.trainer.training import TrainSettings


def load_set(data: Path, encoder) -> list[tuple]:
    """(features, normalised L, segmentations (annotators, h4, w4)) per photo and its mirror."""
    items = []
    for photo in sorted((data / "images" / "train").glob("*.jpg")):
        rgb = np.asarray(Image.open(photo).convert("RGB"), np.float32) / 255.0
        truth = scipy.io.loadmat(data / "groundTruth" / "train" / f"{photo.stem}.mat")["groundTruth"]
        segmentations = [truth[0, i]["Segmentation"][0, 0].astype(np.float32) for i in range(truth.shape[1])]
        items += encode_segmented_photo(rgb, segmentations, encoder)
    return items


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path, help="BSDS500's data/ folder (images/ and groundTruth/)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default: OUT with .ckpt")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--taps", type=int, nargs="+", default=list(FEATURE_TAPS),
                        help="the encoder's feature maps the head reads (1-4: strides 4-32)")
    parser.add_argument("--width", type=int, default=64, help="the head's channels")
    parser.add_argument("--annotation", choices=ANNOTATIONS, default="random",
                        help="whose segmentation says two places are one object (trainer/affinity_segments.py)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    model, info = load_generator(resolve_model(None))
    encoder = model.encoder.eval()
    began = time.time()
    items = load_set(args.data, encoder)
    print(f"{len(items)} views of {len(items) // 2} photos encoded in {time.time() - began:.0f} s", flush=True)
    taps = tuple(args.taps)
    channels = tuple(encoder.channels[tap] for tap in taps)
    head = AffinityHead(AffinityConfig(info.config.encoder, channels, width=args.width, taps=taps))
    settings = TrainSettings(stage1_steps=args.steps, batch_size=args.batch, learning_rate=args.lr, warmup_steps=0)
    trainer = SegmentAffinityTrainer(head, items, settings, args.annotation, args.seed,
                                     args.checkpoint or args.out.with_suffix(".ckpt"))
    for record in trainer.run():
        if record.step % 100 == 0:
            print(f"step {record.step}: loss {record.losses['affinity']:.4f}", flush=True)
    save_affinity_head(args.out, head.eval(), {
        "training_data": f"BSDS500 train (200 photos) with its human segmentations ({args.annotation})",
        "steps": args.steps,
        "encoder": f"{info.name}'s (frozen)", "date": time.strftime("%Y-%m-%d"),
        "train_minutes": round((time.time() - began) / 60, 1)})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
