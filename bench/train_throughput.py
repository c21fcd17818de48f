"""Training throughput (images/s, forward + backward, 256x256) per architecture and stage.

    python bench/train_throughput.py [--device cuda] [--batch-size 64] [--steps 20] [--compile]

Synthetic photos resident on the device, the real Trainer and its steps; the first steps
(warm-up, compilation) are not timed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from autochrome.engine.device import choose_device  # noqa: E402
from autochrome.trainer.crop_sampler import CropSampler  # noqa: E402
from autochrome.trainer.objective import Objective  # noqa: E402
from autochrome.trainer.session import PRESET_CONFIGS, build_initialised_generator  # noqa: E402
from autochrome.trainer.training import Trainer, TrainSettings  # noqa: E402


def measure(arch: str, stage: int, device, batch: int, steps: int, warmup: int, compile_: bool) -> float:
    config = PRESET_CONFIGS[arch]
    rng = np.random.default_rng(0)
    photos = (rng.random((max(batch * 2, 64), 272, 272, 3)) * 255).astype(np.uint8)
    sampler = CropSampler(photos, 256, device)
    stage1 = 0 if stage == 2 else warmup + steps
    settings = TrainSettings(stage1_steps=stage1, stage2_steps=(warmup + steps) if stage == 2 else 0, batch_size=batch,
                             discriminator_warmup=0, checkpoint_every=10**9, compile=compile_)
    generator = build_initialised_generator(config, "scratch")
    centres = generator.ab_centres if config.ab_classes else None
    objective = Objective(config, device, None, centres)  # no rebalancing: its statistics are not timed
    trainer = Trainer(generator, config, sampler, settings, 256, device, objective)
    run = trainer.run()
    for _ in range(warmup):
        next(run)
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    for _ in range(steps):
        next(run)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--arch", nargs="+", default=["unet-lite0", "unet-resnet18", "unet-resnet34", "pix2pix"])
    args = parser.parse_args()
    choice = choose_device(args.device)
    print(f"device: {choice.describe()}, batch {args.batch_size}, 256x256 crops, compile={args.compile}")
    print("| architecture | stage 1 images/s | stage 2 (GAN) images/s |")
    print("|---|---|---|")
    for arch in args.arch:
        rates = [measure(arch, stage, choice.device, args.batch_size, args.steps, args.warmup, args.compile) for stage in (1, 2)]
        print(f"| {arch} | {rates[0]:.1f} | {rates[1]:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
