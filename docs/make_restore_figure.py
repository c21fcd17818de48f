"""The README's restoration pictures: a damaged real old photo before and after, with the mask
found (docs/restore-before-after.png), and the window with the Restore panel and the damage
overlay (docs/restore-window.png). Run under Xvfb (or any display):

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_restore_figure.py PHOTO \
        [--crop X Y W H] [--stroke X0 Y0 X1 Y1 ...]

PHOTO: a damaged old print (the README's: DeOldify's test_images/1860Girls.jpg, 1860s, public
domain, with --crop 0 0 750 550 --stroke 153 225 207 265 --stroke 322 217 328 235). --crop (in
the photo's pixels) picks the part the before/after shows at full size; each --stroke is one
"Mark Damage" brush line (radius 3 px) the user drew over what the network missed, as the
README's picture shows the automatic mask and the marked one in different reds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def before_after(photo: Path, strokes: tuple, crop: tuple[int, int, int, int] | None, strength: float) -> None:
    from autochrome.engine.color import lightness_to_grey_rgb
    from autochrome.engine.colorizer import Colorizer
    from autochrome.engine.edit import RestoreEdit
    from autochrome.engine.image_io import load_image

    image = load_image(photo)
    colorizer = Colorizer(None, "cpu")
    _, found = colorizer.restored(image, RestoreEdit(True, strength))
    restored, mask = colorizer.restored(image, RestoreEdit(True, strength, strokes=strokes))
    x, y, w, h = crop or (0, 0, image.size[0], image.size[1])
    rows, cols = slice(y, y + h), slice(x, x + w)
    before = lightness_to_grey_rgb(image.lightness)[rows, cols]
    after = lightness_to_grey_rgb(restored.lightness)[rows, cols]
    shown = before.copy()
    marked = mask & ~found
    shown[found[rows, cols]] = shown[found[rows, cols]] * 0.3 + np.float32([0.7, 0.1, 0.1])
    shown[marked[rows, cols]] = shown[marked[rows, cols]] * 0.3 + np.float32([0.7, 0.4, 0.0])
    colour = colorizer.colorize(restored).rgb[rows, cols]
    gap = np.ones((h, 6, 3), np.float32)
    strip = np.hstack([before, gap, shown, gap, after, gap, colour])
    Image.fromarray((np.clip(strip, 0, 1) * 255).astype(np.uint8)).save(HERE / "restore-before-after.png")
    print(f"found {found.mean() * 100:.2f} % of the photo, filled {mask.mean() * 100:.2f} % with the strokes")


def window_shot(photo: Path, strength: float) -> None:
    from PySide6.QtWidgets import QApplication
    from qt_waiting import settle, wait_for, window_with

    _app = QApplication(sys.argv[:1])  # noqa: F841  must outlive the window
    window = window_with(photo)
    window.adjust.restore.strength.setValue(round(strength * 100))
    window.adjust.restore.enabled.setChecked(True)
    wait_for(window.resultShown)
    window.adjust.restore.overlay.setChecked(True)
    window.view.set_divider(0.45)
    settle(500)
    window.grab().save(str(HERE / "restore-window.png"))
    window.close()


def main() -> int:
    os.environ["AUTOCHROME_DATA_DIR"] = tempfile.mkdtemp()
    parser = argparse.ArgumentParser()
    parser.add_argument("photo", type=Path)
    parser.add_argument("--crop", type=int, nargs=4)
    parser.add_argument("--stroke", type=float, nargs=4, action="append", default=[])
    parser.add_argument("--strength", type=float, default=0.5, help="Restore strength (the app's default 0.5)")
    args = parser.parse_args()
    from autochrome.engine.edit import Stroke

    strokes = tuple(Stroke(((x0, y0), (x1, y1)), 3.0, True) for x0, y0, x1, y1 in args.stroke)
    before_after(args.photo, strokes, tuple(args.crop) if args.crop else None, args.strength)
    window_shot(args.photo, args.strength)
    return 0


if __name__ == "__main__":
    sys.exit(main())
