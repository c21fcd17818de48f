"""How live a hint edit is: from a new hint list to new ab at the render size, and to the
full-resolution result of a 12 MP photo.

    python bench/hint_latency.py [--model NAME|PATH ...] [--megapixels 12] [--repeats 7]

For each model: the first colorize of the photo (encoder and decoder), then hint edits on the
same photo (a hint-taking model reruns only its decoder; every model spreads the remaining
correction edge-aware). "model pass" is predict_ab at render size 256 for the new hint list;
"hints to ab" adds the edge-aware spreading; "full result" is the whole colorize at 12 MP.
Medians of --repeats edits, each moving one of five hints.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.pipeline import predict_ab, render_shape  # noqa: E402
from autochrome.engine.colorizer import Colorizer  # noqa: E402
from autochrome.engine.hints import Hint, hint_map  # noqa: E402
from autochrome.engine.image_io import LoadedImage  # noqa: E402


def photo(megapixels: float) -> LoadedImage:
    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    height = int(width * 2 / 3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lightness = 50 + 30 * np.sin(x / 397.0) * np.cos(y / 271.0) + 8 * np.sin(x / 23.0)
    return LoadedImage(None, lightness.astype(np.float32), 8, "PNG")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", nargs="+", default=[None])
    parser.add_argument("--megapixels", type=float, default=12)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    image = photo(args.megapixels)
    width, height = image.size
    settings = ColorizeSettings(render_size=256)
    small = render_shape(width, height, 256)
    rng = np.random.default_rng(0)
    print(f"{width}x{height} photo, render size 256 ({small[0]}x{small[1]}), CPU threads: "
          f"{__import__('torch').get_num_threads()}")
    print("| model | hint input | first colorize s | model pass ms | hints to ab ms | full result s |")
    print("|---|---|---|---|---|---|")
    for model in args.model:
        colorizer = Colorizer(model, "cpu")
        hints = [Hint(float(rng.uniform(0, width)), float(rng.uniform(0, height)), 20.0, -10.0) for _ in range(5)]
        began = time.perf_counter()
        colorizer.colorize(image, settings, hints=hints)
        first = time.perf_counter() - began
        l_small = cv2.resize(image.lightness, small, interpolation=cv2.INTER_AREA)
        reduced = LoadedImage(None, l_small, 8, "PNG")  # the pipeline at render size: ab, no upsampling
        passes, to_ab, full = [], [], []
        for repeat in range(args.repeats):
            hints[repeat % 5] = Hint(float(rng.uniform(0, width)), float(rng.uniform(0, height)), -15.0, 25.0)
            began = time.perf_counter()
            predict_ab(colorizer.model, l_small, colorizer.stride, colorizer.choice, hint_map(hints, (width, height), small),
                       memo=colorizer.memo, memo_owner=image)
            passes.append(time.perf_counter() - began)
            began = time.perf_counter()
            scaled = [Hint(h.x * small[0] / width, h.y * small[1] / height, h.a, h.b) for h in hints]
            colorizer.colorize(reduced, settings, hints=scaled)
            to_ab.append(time.perf_counter() - began)
            began = time.perf_counter()
            colorizer.colorize(image, settings, hints=hints)
            full.append(time.perf_counter() - began)
        hinted = getattr(colorizer.model.config, "hint_input", False)
        print(f"| {colorizer.info.name} | {'yes' if hinted else 'no (spreading only)'} | {first:.2f} | "
              f"{statistics.median(passes) * 1000:.0f} | {statistics.median(to_ab) * 1000:.0f} | "
              f"{statistics.median(full):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
