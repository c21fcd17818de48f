"""Train the restore step's damage network on simulated damage of a folder of photos.

    python bench/train_damage.py DATA_DIR --out resources/guide/damage.safetensors [--steps 6000]

DATA_DIR: colour or grey photos (the shipped network: shared/data/train without its ImageNet
validation photos; never the evaluation sets). Checkpoints every 250 steps beside OUT
(--checkpoint), resumed when there. After training, the operating point (the damage chance
strength 0.5 fills at) is chosen on 60 of those photos: the best mask F1 that leaves three
quarters of them, clean, within 40 dB of themselves. The defaults are the shipped network's
recipe; it and its figures are in resources/guide/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.engine.weights import save_damage_net
from autochrome.trainer.damage import DamageRecipe
from autochrome.trainer.damage_training import (DamageTrainer, PhotoCrops, base_of, calibrate_operating_point,
                                                 load_partial_imagenet, widened)
from autochrome.trainer.session import imagenet_lite_state
from autochrome.trainer.training import TrainSettings


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, help="default: OUT with .ckpt")
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--lines", type=int, default=24, help="channels of the dilated CNN over the pooled filters")
    parser.add_argument("--context", type=int, default=12, help="context channels the per-pixel head reads")
    parser.add_argument("--faint", type=float, default=0.2, help="chance that a crop's damage is faint (DamageRecipe)")
    parser.add_argument("--soft", type=float, default=0.0, help="chance that a crop's damage is blurred (DamageRecipe)")
    parser.add_argument("--aligned", type=float, default=0.0,
                        help="chance that a crop's damage has film-transport scratches too (DamageRecipe.aligned)")
    parser.add_argument("--frames", type=float, default=0.0,
                        help="chance that a crop's photo holds straight edge-to-edge lines that are not damage "
                             "(DamageRecipe.frames)")
    parser.add_argument("--turned", action="store_true",
                        help="turn and mirror each damaged crop (trainer.damage_training.PhotoCrops)")
    parser.add_argument("--symmetric", action="store_true",
                        help="learned kernels kept their own transposes (trainer.damage_training.symmetrise_kernels)")
    parser.add_argument("--hard", type=Path,
                        help="a text file of photo paths (one per line) drawn at their own size for --hard-share "
                             "of the crops: photos a network marked much of when clean (trainer.damage_training.PhotoCrops)")
    parser.add_argument("--hard-share", type=float, default=0.3)
    parser.add_argument("--init", type=Path,
                        help="start from this trained damage network's per-pixel base (trainer.damage_training.base_of; "
                             "its sizes: --hidden, --lines, --context unused)")
    parser.add_argument("--widen-lines", type=int,
                        help="with --init: this many channels in the line CNN, the new ones starting unheard "
                             "(trainer.damage_training.widened)")
    parser.add_argument("--widen-hidden", type=int,
                        help="with --init: this many in the head's hidden layer, as --widen-lines")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    if args.init:
        net = base_of(args.init)  # a stain branch or mark filter is fitted after, to the new base
        if args.widen_lines or args.widen_hidden:
            net = widened(net, args.widen_lines, args.widen_hidden, args.seed)
        net = net.train()
    else:
        net = DamageNet(DamageConfig(hidden=args.hidden, lines=args.lines, context_channels=args.context))
        load_partial_imagenet(net.encoder, imagenet_lite_state("efficientnet_lite0"))
    settings = TrainSettings(stage1_steps=args.steps, batch_size=args.batch, learning_rate=args.lr, warmup_steps=50,
                             checkpoint_every=250)
    hard = [Path(line) for line in args.hard.read_text().split("\n") if line.strip()] if args.hard else None
    recipe = DamageRecipe(faint=args.faint, soft=args.soft, aligned=args.aligned, frames=args.frames)
    crops = PhotoCrops(args.data, args.seed, recipe, args.turned, hard, args.hard_share if hard else 0.0)
    trainer = DamageTrainer(net, crops, settings, args.checkpoint or args.out.with_suffix(".ckpt"),
                            symmetric=args.symmetric)
    began = time.time()
    for record in trainer.run():
        if record.step % 50 == 0:
            print(f"step {record.step}: loss {record.losses['mask']:.4f} ({record.images_per_second:.1f} crops/s)",
                  flush=True)
    calibration = calibrate_operating_point(net, trainer.crops.files[:: max(1, len(trainer.crops.files) // 60)])
    print(f"operating point: damage chance {calibration['threshold']} at strength 0.5", flush=True)
    for row in calibration["table"]:
        print(f"  {row['threshold']:.2f}: P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}, "
              f"clean photos: median {row['clean_median_psnr']:.1f} dB, {row['clean_within']:.0%} within "
              f"{calibration['min_clean_psnr']:g} dB", flush=True)
    save_damage_net(args.out, net, {
        "operating_point": calibration["threshold"],
        "training_data": f"{args.data.name} ({len(trainer.crops.files)} photos), simulated damage (trainer/damage.py)",
        "steps": args.steps, "batch": args.batch, "learning_rate": args.lr, "faint": args.faint, "soft": args.soft,
        "aligned": args.aligned, "frames": args.frames, "turned": args.turned, "symmetric": args.symmetric,
        "hard_photos": len(hard) if hard else 0, "hard_share": args.hard_share if hard else 0.0,
        "started_from": args.init.name if args.init else "ImageNet Lite0 stages, the rest new",
        "widened": ({"lines": args.widen_lines, "hidden": args.widen_hidden}
                    if args.widen_lines or args.widen_hidden else None),
        "crop": 192, "date": time.strftime("%Y-%m-%d"),
        "train_minutes": round((time.time() - began) / 60, 1),
        "encoder": "EfficientNet-Lite0 stem and blocks 0-2, ImageNet, frozen"})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
