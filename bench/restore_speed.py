"""How long restoration takes on a large photo: the whole restore, and a brush stroke to the
repainted preview the app shows (issue 25's bounds: 2 s and 150 ms on a 12 MP photo).

    python bench/restore_speed.py [--megapixels 12] [--repeat 5]

The photo is a Kodak photo tiled to the size (or a synthetic texture without the eval sets),
damaged by trainer/damage.py. "restore" is the damage network over the photo and the mask
rule ("finding"), plus the fill at full size, after a warm-up run; "stroke" is what the app's worker does for a stroke's preview
with the photo's damage already found (engine.restore.restored_view): the found mask as brought
to the 1024 px preview before, the strokes drawn at that size, the tiles the stroke touches
filled again, and the shown result's colour brought to the restored preview (a stroke does not
run the colour model again; the full result after it does); medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings, RestoreEdit, Stroke
from autochrome.engine.image_io import LoadedImage, reduced
from autochrome.engine.restore import FillCache, damage_mask, damage_probability, fill, restored_view
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.damage import DamageRecipe, simulate_damage

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval" / "kodak24"
PREVIEW = 1024  # desktop.photo_session.PREVIEW_SIZE
OVERLAY_SIDE = 2048  # desktop.worker.OVERLAY_SIDE


def photo(megapixels: float) -> np.ndarray:
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    if EVAL.is_dir():
        from autochrome.trainer.damage_training import grey_of

        tile = grey_of(sorted(EVAL.glob("*.png"))[0])
    else:
        rng = np.random.default_rng(0)
        tile = np.clip(50 + 20 * rng.standard_normal((512, 768)), 0, 100).astype(np.float32)
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    clean = np.tile(tile, reps)[:height, :width].copy()
    return simulate_damage(clean, 7, DamageRecipe(fading=0, halftone=0, grain=1.0, clean=0))[0]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--net", type=Path, help="a damage network file (default: the shipped one)")
    args = parser.parse_args()
    lightness = photo(args.megapixels)
    net = load_damage_net(args.net) if args.net else load_damage_net()
    edit = RestoreEdit(True)
    damage_probability(lightness[:512, :512], net)  # warm-up
    restores, finds, fills = [], [], []
    for _ in range(args.repeat):
        began = time.perf_counter()
        probability = damage_probability(lightness, net)
        mask = damage_mask(probability, edit)  # the mask rule counts as finding, not filling
        found = time.perf_counter()
        fill(lightness, mask)
        restores.append(time.perf_counter() - began)
        finds.append(found - began)
        fills.append(time.perf_counter() - found)
    colorizer = Colorizer(None, "cpu")
    image = LoadedImage(None, lightness, 8, "PNG")
    preview, _ = reduced(image, PREVIEW)
    settings = ColorizeSettings()
    colour = colorizer.colorize(preview, settings).ab_small  # the shown result's colour
    strokes = []
    height, width = lightness.shape
    previous = FillCache()  # as the app's worker keeps it: the preview as restored before the stroke
    restored_view(preview.lightness, probability, edit, OVERLAY_SIDE, previous)
    for index in range(args.repeat):
        stroke = Stroke(tuple((width * (0.2 + 0.01 * index + 0.05 * t), height * (0.3 + 0.04 * t)) for t in range(8)),
                        8.0, True)
        began = time.perf_counter()
        lightness_shown, _overlay = restored_view(preview.lightness, probability, edit.with_stroke(stroke),
                                                  OVERLAY_SIDE, previous)
        colorizer.colorize(LoadedImage(None, lightness_shown, 8, "PNG"), settings, ab_small=colour)
        strokes.append(time.perf_counter() - began)
    median = statistics.median
    print(f"{width}x{height} ({width * height / 1e6:.1f} MP): restore {median(restores):.2f} s "
          f"(finding the damage {median(finds):.2f} s, filling {median(fills):.2f} s); "
          f"a stroke to the repainted preview {median(strokes) * 1000:.0f} ms; medians of {args.repeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
