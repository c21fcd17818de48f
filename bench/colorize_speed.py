"""Time and peak memory of colorizing large photos with the default model.

    python bench/colorize_speed.py [--device cpu] [--megapixels 12 24] [--render-size 256 512]

Each case runs in a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import numpy as np
from PIL import Image
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.image_io import load_image, save_image
megapixels, render, device, folder = {megapixels}, {render}, {device!r}, {folder!r}
t0 = time.perf_counter(); colorizer = Colorizer(None, device); t_model = time.perf_counter() - t0
colorizer.colorize(load_image(folder + "/warm.png"), ColorizeSettings(render_size=render))  # warm-up
t0 = time.perf_counter(); image = load_image(folder + "/in.png"); t_load = time.perf_counter() - t0
t0 = time.perf_counter(); result = colorizer.colorize(image, ColorizeSettings(render_size=render)); t_color = time.perf_counter() - t0
t0 = time.perf_counter(); save_image(folder + "/out.png", result.rgb, "PNG"); t_save = time.perf_counter() - t0
t0 = time.perf_counter(); save_image(folder + "/out.jpg", result.rgb, "JPEG"); t_jpeg = time.perf_counter() - t0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
width, height = image.size
print(json.dumps(dict(size=f"{{width}}x{{height}}", render=render, device=colorizer.choice.describe(), model_load_s=t_model,
                      decode_s=t_load, colorize_s=t_color, save_png_s=t_save, save_jpeg_s=t_jpeg, peak_rss_mb=peak_mb)))
"""


def write_photo(path: Path, megapixels: float) -> None:
    """A 3:2 grey photo of smooth waves, written a band of rows at a time."""
    import numpy as np
    from PIL import Image

    width = int((megapixels * 1e6 * 3 / 2) ** 0.5)
    height = int(width * 2 / 3)
    grey = np.empty((height, width), np.uint8)
    x = np.arange(width, dtype=np.float32)
    for start in range(0, height, 512):
        y = np.arange(start, min(start + 512, height), dtype=np.float32)[:, None]
        grey[start:start + len(y)] = (127 + 60 * np.sin(x / 97.0) * np.cos(y / 71.0)).astype(np.uint8)
    Image.fromarray(grey, "L").save(path, compress_level=1)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--megapixels", type=float, nargs="+", default=[12, 24])
    parser.add_argument("--render-size", type=int, nargs="+", default=[256, 512])
    args = parser.parse_args()
    print("| photo | render size | device | decode s | colorize s | save PNG s | save JPEG s | total to PNG / JPEG s "
          "| peak memory MB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for megapixels in args.megapixels:
        for render in args.render_size:
            with tempfile.TemporaryDirectory() as folder:
                # The photo is made here, so the measured process's peak memory is its own work.
                write_photo(Path(folder) / "in.png", megapixels)
                write_photo(Path(folder) / "warm.png", 0.5)
                code = CASE.format(root=str(ROOT), megapixels=megapixels, render=render, device=args.device, folder=folder)
                done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
                if done.returncode:
                    print(done.stderr, file=sys.stderr)
                    return 1
                r = json.loads(done.stdout.strip().splitlines()[-1])
                work = r["decode_s"] + r["colorize_s"]
                print(f"| {r['size']} | {r['render']} | {r['device']} | {r['decode_s']:.2f} | {r['colorize_s']:.2f} | "
                      f"{r['save_png_s']:.2f} | {r['save_jpeg_s']:.2f} | {work + r['save_png_s']:.2f} / "
                      f"{work + r['save_jpeg_s']:.2f} | {r['peak_rss_mb']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
