"""The README's one-click figure: a hint on a small object, and what the rest of the photo did,
with the spreading of this release and with spreading by lightness alone at the old reach (the
previous release's way of choosing where a hint goes).

    python docs/make_one_click_figure.py BSDS_TEST_FOLDER SEGMENTS_FOLDER STEM [OUT.png]

The click and its colour are bench/one_click.py's for that photo (its most interior point of a
human segment, a saturated colour). Panels: without the hint, with it, and the change (white:
none, dark: 20 ab or more), for each spreading.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "bench"))

from one_click import coarsest_segmentation, plan_click  # noqa: E402

from autochrome.engine import color  # noqa: E402
from autochrome.engine.colorizer import Colorizer  # noqa: E402
from autochrome.engine.edit import ColorizeSettings  # noqa: E402
from autochrome.engine.hints import Hint  # noqa: E402
from autochrome.engine.image_io import LoadedImage, to_8bit  # noqa: E402


def captioned(rgb: np.ndarray, caption: str) -> Image.Image:
    image = Image.fromarray(to_8bit(rgb))
    canvas = Image.new("RGB", (image.width, image.height + 20), "white")
    canvas.paste(image, (0, 20))
    ImageDraw.Draw(canvas).text((4, 4), caption, fill="black")
    return canvas


def main() -> int:
    photos, segments, stem = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    out = Path(sys.argv[4]) if len(sys.argv) > 4 else HERE / "one-click.png"
    photo = photos / f"{stem}.jpg"
    rgb = np.asarray(Image.open(photo).convert("RGB"), np.float32) / 255.0
    lightness = color.rgb_to_lab(rgb)[..., 0]
    mask, (x, y), asked = plan_click(photo, coarsest_segmentation(segments / f"{stem}.mat"), lightness)
    image = LoadedImage(None, lightness, 8, "PNG")
    colorizer = Colorizer(None, "cpu")
    hint = Hint(x, y, float(asked[0]), float(asked[1]))
    rows = []
    for label, reach, head in (("this release", None, colorizer.predictor.affinity), ("lightness only, as before", 0.25, None)):
        colorizer.predictor.affinity = head
        settings = ColorizeSettings() if reach is None else ColorizeSettings(reach=reach)
        before = colorizer.colorize(image, settings)
        after = colorizer.colorize(image, settings, hints=[hint])
        change = np.hypot(*(after.lab[..., 1:] - before.lab[..., 1:]).transpose(2, 0, 1))
        shade = 1.0 - np.clip(change / 20.0, 0, 1)
        marked = after.rgb.copy()
        marked[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4] = (1.0, 1.0, 1.0)
        rows.append([captioned(before.rgb, "no hint"), captioned(marked, f"one hint ({label})"),
                     captioned(np.dstack([shade] * 3), f"how much changed ({label})")])
    width, height = rows[0][0].width, rows[0][0].height
    sheet = Image.new("RGB", (3 * width + 16, 2 * height + 8), "white")
    for row, panels in enumerate(rows):
        for column, panel in enumerate(panels):
            sheet.paste(panel, (column * (width + 8), row * (height + 8)))
    sheet.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
