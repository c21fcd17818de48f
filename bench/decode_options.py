"""How a classifier's decoding options change quality at one colourfulness, on training photos
(never the eval sets): the annealed-mean temperature, distribution smoothing (against blotches)
and confidence-following colour strength. Each variant's gain is calibrated to `--share` of the
calibration photos' colourfulness first, so the variants differ in where their colour goes,
not how much.

    python bench/decode_options.py MODEL --tune DIR [DIR...] [--temperatures 0.38 0.7] [--smoothing 0 1.5] [--power 0 0.7]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path


from bench_output import row

from autochrome.engine.device import cpu_choice
from autochrome.engine.pipeline import ModelPredictor, colorize
from autochrome.engine.image_io import load_image
from autochrome.engine.weights import load_generator, resolve_model
from autochrome.trainer.calibrate import calibrate_strength
from autochrome.trainer.evaluate import truth_rgb
from autochrome.trainer.metrics import all_metrics, mean_figures
from autochrome.trainer.photos import find_photos

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--tune", nargs="+", type=Path,
                        default=[SHARED / "train" / "bsds-val", SHARED / "train" / "coco-mini"])
    parser.add_argument("--every", type=int, default=3, help="every Nth photo of the tune folders")
    parser.add_argument("--temperatures", nargs="+", type=float, default=[None],
                        help="annealed-mean temperatures (default: the model's own)")
    parser.add_argument("--smoothing", nargs="+", type=float, default=[0.0, 1.0, 1.5])
    parser.add_argument("--power", nargs="+", type=float, default=[0.0, 0.5, 1.0])
    parser.add_argument("--share", type=float, default=0.8)
    args = parser.parse_args()
    model, info = load_generator(resolve_model(args.model))
    calibration = find_photos(SHARED / "train")[::30]
    tune = [p for folder in args.tune for p in find_photos(folder)[:: args.every]]
    pairs = [(load_image(p), truth_rgb(p)) for p in tune]
    print(f"{info.name}: {len(pairs)} tuning photos, calibrated to {args.share} on {len(calibration)}")
    print("| temperature | smoothing | confidence power | gain | PSNR | CIEDE2000 | colourfulness gap |")
    print("|---|---|---|---|---|---|---|")
    for temperature, smoothing, power in itertools.product(args.temperatures, args.smoothing, args.power):
        config = replace(info.config, decode_smoothing=smoothing, confidence_power=power,
                         temperature=info.config.temperature if temperature is None else temperature)
        model.config = config
        config = calibrate_strength(model, config, calibration, cpu_choice(), share=args.share).config
        model.config = config
        predictor = ModelPredictor(model, cpu_choice())
        mean = mean_figures([all_metrics(colorize(image, predictor).rgb, truth) for image, truth in pairs])
        print(row(config.temperature, smoothing, power, config.ab_gain, f"{mean['psnr']:.2f}",
                  f"{mean['ciede2000']:.2f}", f"{mean['colourfulness_gap']:.1f}"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
