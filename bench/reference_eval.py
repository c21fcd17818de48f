"""Colour from a reference photo, measured: each eval photo's reference is the true photo
mirrored left-right and cropped to 70 % of its width and height at a seeded offset (the same
scene, mostly, not aligned). PSNR, CIEDE2000 and colourfulness gap with the reference and
without it (the automatic result), and how long the matching takes at render size 256.

    python bench/reference_eval.py [MODEL] [--sets kodak24 bsds500-test] [--eval DIR] [--json F]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from bench_output import row, save_report

from autochrome.engine import reference as matching
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.image_io import load_image
from autochrome.engine.pipeline import render_shape
from autochrome.engine.reference import ReferencePhoto
from autochrome.trainer.evaluate import truth_rgb
from autochrome.trainer.metrics import all_metrics, mean_figures
from autochrome.trainer.photos import find_photos

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
SHARE = 0.7


def shifted_reference(truth: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    height, width = truth.shape[:2]
    crop_h, crop_w = int(height * SHARE), int(width * SHARE)
    top, left = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
    return np.ascontiguousarray(truth[:, ::-1][top:top + crop_h, left:left + crop_w])


def matching_ms(colorizer: Colorizer, image, reference: ReferencePhoto, render_size: int) -> float:
    """The reference's part of a render: preparing it (its features) and matching, in ms."""
    import cv2

    width, height = image.size
    small = render_shape(width, height, render_size)
    l_small = cv2.resize(image.lightness, small, interpolation=cv2.INTER_AREA)
    predictor = colorizer.predictor
    predictor.guide_features(l_small, image)  # the photo's features are the model's: already there
    began = time.perf_counter()
    reference_lab = matching.reference_lab_at(reference.rgb, render_size)
    prepared = matching.prepare(reference_lab, predictor.guide_features(reference_lab[..., 0], None))
    matching.match(predictor.guide_features(l_small, image), l_small, prepared)
    return (time.perf_counter() - began) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?")
    parser.add_argument("--sets", nargs="+", default=["kodak24", "bsds500-test"])
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--render-size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    colorizer = Colorizer(args.model, "cpu")
    settings = ColorizeSettings(render_size=args.render_size)
    report = {}
    print("| set | photos | automatic PSNR / CIEDE2000 / gap | with reference | matching ms (median) |")
    print("|---|---|---|---|---|")
    for name in args.sets:
        rows = {"automatic": [], "reference": []}
        times = []
        for index, path in enumerate(find_photos(args.eval / name, recursive=False)):
            truth, image = truth_rgb(path), load_image(path)
            reference = ReferencePhoto(None, shifted_reference(truth, index))
            rows["automatic"].append(all_metrics(colorizer.colorize(image, settings).rgb, truth))
            rows["reference"].append(all_metrics(colorizer.colorize(image, settings, reference=reference).rgb, truth))
            times.append(matching_ms(colorizer, image, reference, args.render_size))
        means = {kind: mean_figures(figures) for kind, figures in rows.items()}
        report[name] = {**means, "matching_ms_median": float(np.median(times)), "photos": len(times)}
        cells = [f"{m['psnr']:.2f} / {m['ciede2000']:.2f} / {m['colourfulness_gap']:.1f}"
                 for m in (means["automatic"], means["reference"])]
        print(row(name, len(times), *cells, f"{np.median(times):.0f}"), flush=True)
    return save_report(args.json, report)


if __name__ == "__main__":
    sys.exit(main())
