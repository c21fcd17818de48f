"""How models colour worn prints: the eval photos' lightness degraded as old photos are (fading,
blur, grain, JPEG; trainer/degrade.py, seeded per photo), colorized, and the predicted colour
joined with the clean lightness for scoring, so only the colour is judged.

    python bench/eval_scans.py MODEL [MODEL...] [--eval DIR] [--render-size 256]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autochrome.engine import color  # noqa: E402
from autochrome.engine.pipeline import ColorizeSettings  # noqa: E402
from autochrome.engine.colorizer import Colorizer  # noqa: E402
from autochrome.engine.image_io import load_image  # noqa: E402
from autochrome.trainer.degrade import degrade_lightness  # noqa: E402
from autochrome.trainer.evaluate import truth_rgb  # noqa: E402
from autochrome.trainer.metrics import all_metrics, mean_figures  # noqa: E402
from autochrome.trainer.photos import find_photos  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


def scores(model: str, photos: list[Path], render_size: int) -> dict[str, float]:
    colorizer = Colorizer(model, "cpu")
    rows = []
    for index, path in enumerate(photos):
        clean = load_image(path)
        worn = replace(clean, lightness=degrade_lightness(clean.lightness, np.random.default_rng([7, index])))
        ab = colorizer.colorize(worn, ColorizeSettings(render_size=render_size)).lab[..., 1:]
        rgb = color.lab_to_rgb(np.dstack([clean.lightness, ab]))
        rows.append(all_metrics(rgb, truth_rgb(path)))
    return mean_figures(rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--render-size", type=int, default=256)
    args = parser.parse_args()
    print("| model | set | PSNR dB | CIEDE2000 | colourfulness gap |")
    print("|---|---|---|---|---|")
    for name in ("kodak24", "bsds500-test"):
        photos = find_photos(args.eval / name, recursive=False)
        for model in args.models:
            mean = scores(model, photos, args.render_size)
            print(f"| {Path(model).stem} | {name} | {mean['psnr']:.2f} | {mean['ciede2000']:.2f} | "
                  f"{mean['colourfulness_gap']:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
