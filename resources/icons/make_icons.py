"""Draw Autochrome's icon: a photo frame, grey on the left, colour on the right.

    python resources/icons/make_icons.py   (writes autochrome.png, .ico and .icns beside this file)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SIZE = 1024
HERE = Path(__file__).resolve().parent


def draw(size: int = SIZE) -> Image.Image:
    scale = size / 1024
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # A landscape: sky, sun, hills; the same scene in colour and in grey.
    sky = np.stack([0.35 + 0.3 * y, 0.6 + 0.25 * y, 0.95 - 0.1 * y], -1)
    hill = (y > 0.62 + 0.08 * np.sin(x * 7.0))[..., None]
    far_hill = (y > 0.55 + 0.06 * np.cos(x * 5.0 + 1.0))[..., None]
    sun = (((x - 0.7) ** 2 + (y - 0.32) ** 2) < 0.012)[..., None]
    colour = np.where(sun, [1.0, 0.82, 0.3], sky)
    colour = np.where(far_hill, [0.35, 0.6, 0.35], colour)
    colour = np.where(hill, [0.2, 0.48, 0.2], colour)
    grey = (colour @ np.array([0.299, 0.587, 0.114]))[..., None].repeat(3, -1)
    split = (x + 0.25 * (y - 0.5) > 0.5)[..., None]
    picture = np.where(split, colour, grey)
    image = Image.fromarray((picture * 255).astype(np.uint8), "RGB").convert("RGBA")

    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).rounded_rectangle([int(64 * scale)] * 2 + [int(960 * scale)] * 2, radius=int(180 * scale), fill=255)
    icon = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    icon.paste(image, (0, 0), mask)
    outline = ImageDraw.Draw(icon)
    outline.rounded_rectangle([int(64 * scale)] * 2 + [int(960 * scale)] * 2, radius=int(180 * scale),
                              outline=(255, 255, 255, 255), width=max(2, int(28 * scale)))
    # The divider of the split view.
    top, bottom = (0.5 + 0.25 * 0.5 - 0.25 * 0.0, 0.5 - 0.25 * 0.5)
    outline.line([(top * size, 0.1 * size), (bottom * size, 0.9 * size)], fill=(255, 255, 255, 255), width=max(2, int(22 * scale)))
    return icon


def main() -> None:
    icon = draw()
    icon.save(HERE / "autochrome.png")
    icon.save(HERE / "autochrome.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    icon.save(HERE / "autochrome.icns")


if __name__ == "__main__":
    main()
