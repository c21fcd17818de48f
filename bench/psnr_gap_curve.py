"""PSNR against colourfulness gap for each model, its colour scaled from muted to vivid.

Two models calibrated to one share of the *training* photos' colourfulness can still differ
in how colourful they are on the eval photos, and a greyer result scores a higher PSNR; this
compares them at equal colourfulness on the eval photos instead. Each photo is colorized once
per model; its colour is then scaled by each factor (as the saturation setting does).

    python bench/psnr_gap_curve.py MODEL [MODEL...] [--factors 0.6 0.8 1 1.2] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from autochrome.engine import color
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.image_io import load_image
from autochrome.trainer.evaluate import truth_rgb
from autochrome.trainer.metrics import colourfulness, psnr
from autochrome.trainer.photos import find_photos

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


def curve(model: str, photos: list[Path], factors: list[float], render_size: int = 256) -> list[dict]:
    colorizer = Colorizer(model, "cpu")
    settings = ColorizeSettings(render_size=render_size)
    rows = {factor: {"psnr": [], "colourfulness": [], "truth": []} for factor in factors}
    for path in photos:
        truth = truth_rgb(path)
        lab = colorizer.colorize(load_image(path), settings).lab
        for factor in factors:
            scaled = lab.copy()
            scaled[..., 1:] *= factor
            rgb = color.lab_to_rgb(scaled)
            rows[factor]["psnr"].append(psnr(rgb, truth))
            rows[factor]["colourfulness"].append(colourfulness(rgb))
            rows[factor]["truth"].append(colourfulness(truth))
    return [{"factor": f, "psnr": float(np.mean(r["psnr"])),
             "gap": float(np.mean(r["truth"]) - np.mean(r["colourfulness"]))} for f, r in rows.items()]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--factors", nargs="+", type=float, default=[0.6, 0.8, 1.0, 1.2, 1.4])
    parser.add_argument("--sets", nargs="+", default=["kodak24", "bsds500-test"])
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--render-sizes", nargs="+", type=int, default=[256],
                        help="the size the model sees each photo at (several: one curve each)")
    args = parser.parse_args()
    report = {}
    for name in args.sets:
        photos = find_photos(args.eval / name, recursive=False)
        for model in args.models:
            for size in args.render_sizes:
                points = curve(model, photos, args.factors, size)
                label = model if len(args.render_sizes) == 1 else f"{model}@{size}"
                report.setdefault(name, {})[label] = points
                print(f"{name} {Path(model).stem} at {size}: " + "; ".join(
                    f"x{p['factor']:g} {p['psnr']:.2f} dB gap {p['gap']:.1f}" for p in points), flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
