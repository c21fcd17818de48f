"""How a classifier's decoding trades colour against accuracy, measured on training photos.

    python bench/decode_sweep.py MODEL TRAIN_DIR [--every 85] [--temperatures ...] [--gains ...]

For each (temperature, gain) pair: mean PSNR, CIEDE2000 and colourfulness of the app's
pipeline on every N-th training photo (never an eval photo), against the photos' own
colourfulness. Used to choose how the shipped model decodes without looking at eval sets.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.pipeline import EncoderMemo, ModelPredictor, colorize  # noqa: E402
from autochrome.engine.device import cpu_choice  # noqa: E402
from autochrome.engine.image_io import load_image  # noqa: E402
from autochrome.engine.weights import load_generator  # noqa: E402
from autochrome.trainer.evaluate import truth_rgb  # noqa: E402
from autochrome.trainer.metrics import all_metrics, mean_figures  # noqa: E402
from autochrome.trainer.photos import find_photos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("train_dir", type=Path)
    parser.add_argument("--every", type=int, default=85)
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.05, 0.2, 0.38, 0.6, 1.0])
    parser.add_argument("--gains", type=float, nargs="+", default=[0.8, 1.0, 1.2, 1.4, 1.6])
    args = parser.parse_args()
    model, info = load_generator(args.model)
    photos = find_photos(args.train_dir)[:: args.every]
    pairs = [(load_image(p), truth_rgb(p)) for p in photos]
    truth = float(np.mean([all_metrics(t, t)["colourfulness"] for _, t in pairs]))
    print(f"{info.name}: {len(pairs)} training photos, truth colourfulness {truth:.1f}")
    print("| temperature | gain | PSNR | CIEDE2000 | colourfulness | share of truth |")
    print("|---|---|---|---|---|---|")
    memo = EncoderMemo()
    for temperature in args.temperatures:
        for gain in args.gains:
            model.config = replace(info.config, ab_gain=gain)
            rows = []
            for image, rgb in pairs:
                result = colorize(image, ModelPredictor(model, cpu_choice(), memo), ColorizeSettings(temperature=temperature))
                rows.append(all_metrics(result.rgb, rgb))
            mean = mean_figures(rows)
            print(f"| {temperature} | {gain} | {mean['psnr']:.2f} | {mean['ciede2000']:.2f} | "
                  f"{mean['colourfulness']:.1f} | {mean['colourfulness'] / truth:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
