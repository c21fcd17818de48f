"""Decoder-only training throughput: where a step's time goes (views/s), streamed or cached.

    python bench/decoder_throughput.py PHOTO_FOLDER [--arch hints-lite2-classes hints-lite0-classes]

For each architecture: decoding views from PHOTO_FOLDER (photo_stream), the frozen encoder's
forward pass on them, and the decoder's forward + backward + optimiser step; "streamed" is
the whole step as `autochrome train --stream` runs it, "cached" what a feature cache leaves
(the decoder step alone; reading cached features is not counted).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from autochrome.trainer.frozen_encoder import FrozenEncoderTrainer, DecoderLearner, StreamedViews
from autochrome.trainer.objective import Objective
from autochrome.trainer.photo_stream import PhotoStream, StreamSource
from autochrome.trainer.session import PRESET_CONFIGS, build_initialised_generator
from autochrome.trainer.training import TrainSettings


def timed(function, repeats: int) -> float:
    function()
    began = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - began) / repeats


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("photos", type=Path)
    parser.add_argument("--arch", nargs="+", default=["hints-lite2-classes", "hints-lite0-classes"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device("cpu")
    print(f"CPU, {torch.get_num_threads()} threads, batch {args.batch_size}, {args.crop} px views; views/s")
    print("| architecture | decode views | encoder forward | decoder step | streamed step | cached step |")
    print("|---|---|---|---|---|---|")
    for arch in args.arch:
        config = PRESET_CONFIGS[arch]
        generator = build_initialised_generator(config, "scratch")
        stream = PhotoStream([StreamSource(args.photos)], args.crop)
        views = StreamedViews(stream, generator.encoder.eval())
        settings = TrainSettings(stage1_steps=10**6, batch_size=args.batch_size, checkpoint_every=10**9)
        objective = Objective(config, device, None, generator.ab_centres, rebalance=False)
        learner = DecoderLearner(generator, config, objective, settings, device)
        trainer = FrozenEncoderTrainer([learner], views, settings, device)
        features, rgb = views.batch(0, args.batch_size, device)
        decode = timed(lambda: stream.batch(args.batch_size), args.repeats)
        lightness = torch.zeros(args.batch_size, 1, args.crop, args.crop)
        with torch.inference_mode():
            encode = timed(lambda: generator.encoder(lightness), args.repeats)
        views.batch = lambda step, size, device_: (features, rgb)  # the decoder step alone
        decoder = timed(trainer.one_step, args.repeats)
        n = args.batch_size
        print(f"| {arch} | {n / decode:.0f} | {n / encode:.0f} | {n / decoder:.0f} | "
              f"{n / (decode + encode + decoder):.0f} | {n / decoder:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
