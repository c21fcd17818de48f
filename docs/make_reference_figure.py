"""The README's reference-photo figure: two photos of one scene a few seconds apart; the first
made grey and colorized with the second as its reference, beside the automatic result.

    python docs/make_reference_figure.py GREY_SOURCE REFERENCE [OUT.png]

Panels, left to right: the grey photo, the reference, with the reference, automatic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from autochrome.engine import color
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.image_io import LoadedImage, load_colour, to_8bit
from autochrome.engine.reference import ReferencePhoto

HERE = Path(__file__).resolve().parent
HEIGHT = 240


def panel(rgb: np.ndarray, caption: str) -> Image.Image:
    height, width = rgb.shape[:2]
    image = Image.fromarray(to_8bit(cv2.resize(rgb, (round(width * HEIGHT / height), HEIGHT),
                                               interpolation=cv2.INTER_AREA)))
    canvas = Image.new("RGB", (image.width, HEIGHT + 22), "white")
    canvas.paste(image, (0, 22))
    ImageDraw.Draw(canvas).text((4, 5), caption, fill="black")
    return canvas


def main() -> int:
    source, reference_path = Path(sys.argv[1]), Path(sys.argv[2])
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else HERE / "reference-pair.png"
    truth = load_colour(source)
    lightness = color.rgb_to_lab(truth)[..., 0]
    photo = LoadedImage(None, lightness, 8, "PNG")
    colorizer = Colorizer(None, "cpu")
    reference = ReferencePhoto.load(reference_path)
    panels = [panel(color.lightness_to_grey_rgb(lightness), "grey photo"),
              panel(reference.rgb, f"reference ({reference_path.name})"),
              panel(colorizer.colorize(photo, reference=reference).rgb, "with the reference"),
              panel(colorizer.colorize(photo).rgb, "automatic")]
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 8 * (len(panels) - 1), panels[0].height), "white")
    x = 0
    for part in panels:
        sheet.paste(part, (x, 0))
        x += part.width + 8
    sheet.save(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
