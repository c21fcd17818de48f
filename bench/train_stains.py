"""Give a trained damage network a whole-photo stain branch and train it (the rest unchanged).

    python bench/train_stains.py BASE.safetensors DATA_DIR --out OUT.safetensors [--steps 14000]

BASE: a damage network from bench/train_damage.py (d9's: the shipped d8). DATA_DIR: colour or
grey photos (d9's: shared/data/train without its ImageNet validation photos; never the
evaluation sets). Checkpoints every 250 steps beside OUT, resumed when there. Then the
branch's operating point is chosen on 60 of those photos by the per-pixel network's rule
(trainer.stain_training.calibrate_stains). The defaults are d9's recipe (the model card's
"stain branch": trained, measured and not shipped; it ran with --steps 8000 up to step 5,750
and was then resumed with --steps 14000).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from autochrome.engine.weights import save_damage_net
from autochrome.trainer.damage_training import with_new_part
from autochrome.trainer.stain_training import STAIN_RECIPE, StainTrainer, WholePhotos, calibrate_stains
from autochrome.trainer.training import TrainSettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default: OUT with .stains.ckpt")
    parser.add_argument("--steps", type=int, default=14000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=16, help="the stain branch's first width")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    net, provenance = with_new_part(args.base, stains=args.width)
    settings = TrainSettings(stage1_steps=args.steps, batch_size=args.batch, learning_rate=args.lr, warmup_steps=50,
                             checkpoint_every=250)
    photos = WholePhotos(args.data, args.seed)
    trainer = StainTrainer(net, photos, settings, args.checkpoint or args.out.with_suffix(".stains.ckpt"))
    began = time.time()
    for record in trainer.run():
        if record.step % 50 == 0:
            print(f"step {record.step}: loss {record.losses['stains']:.4f} ({record.images_per_second:.1f} photos/s)",
                  flush=True)
    calibration = calibrate_stains(net, photos.files[:: max(1, len(photos.files) // 60)])
    print(f"stain operating point: chance {calibration['threshold']} at strength 0.5", flush=True)
    for row in calibration["table"]:
        print(f"  {row['threshold']:.3f}: P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f} "
              f"(stains found {row['stain_recall']:.2f}), clean photos: median {row['clean_median_psnr']:.1f} dB, "
              f"{row['clean_within']:.0%} within {calibration['min_clean_psnr']:g} dB", flush=True)
    provenance["stain_branch"] = {
        "operating_point": calibration["threshold"], "steps": args.steps, "batch": args.batch, "width": args.width,
        "training_data": f"{args.data.name} ({len(photos.files)} photos), whole, simulated damage "
                         f"(stains at {STAIN_RECIPE.stains:g} of the photos)",
        "date": time.strftime("%Y-%m-%d"), "train_minutes": round((time.time() - began) / 60, 1)}
    save_damage_net(args.out, net, provenance)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
