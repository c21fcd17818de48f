"""Real old photos beside another colorizer's results on the same input: colourfulness and a
contact sheet.

    python bench/old_photos.py RESULT_IMAGES_DIR [--models A B] [--sheet out.png --sheet-names N1 N2 ...]

RESULT_IMAGES_DIR: DeOldify's published `result_images/` (jantic/DeOldify at commit 71c7729,
read from the history: `git archive` of later commits holds Git LFS pointers). Each of its
files is the historical photo (left) and DeOldify's colorization (right) side by side with a
black gap; both halves are cut apart here, the left one is what each model colorizes.
Colourfulness is Hasler & Suesstrunk's on 0-255 RGB (trainer.metrics), the figure the issue
reports (DeOldify 32.5, Autochrome 24.3 on 54 photos).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from autochrome.engine.colorizer import Colorizer
from autochrome.engine.image_io import LoadedImage
from autochrome.trainer.metrics import colourfulness


def split_pair(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(the input's lightness as float L (H, W), the other colorizer's float RGB (H, W, 3)):
    the columns of the black gap between the two halves are found and dropped."""
    from autochrome.engine.color import lightness_of_srgb

    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), np.float32) / 255.0
    width = rgb.shape[1]
    dark = rgb.max(axis=(0, 2)) < 0.08  # columns that are black from top to bottom
    middle = np.arange(width)[(np.arange(width) > width * 0.3) & (np.arange(width) < width * 0.7)]
    gap = middle[dark[middle]]
    if len(gap) == 0:
        raise ValueError(f"{path.name}: no black gap between the two halves")
    left, right = rgb[:, : gap.min()], rgb[:, gap.max() + 1 :]
    size = min(left.shape[1], right.shape[1])
    return lightness_of_srgb((left[:, :size] * 255).round().astype(np.uint8)), right[:, :size]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--models", nargs="+", default=[None])
    parser.add_argument("--sheet", type=Path)
    parser.add_argument("--sheet-names", nargs="*", default=[])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    # Two copies of a photo (.jpg and .PNG of one name) count once.
    files = list({p.stem.lower(): p for p in files}.values())
    colorizers = [Colorizer(model, "cpu") for model in args.models]
    rows, sheet = [], []
    for path in files:
        try:
            lightness, theirs = split_pair(path)
        except ValueError as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            continue
        image = LoadedImage(None, lightness, 8, "PNG")
        ours = [colorizer.colorize(image).rgb for colorizer in colorizers]
        rows.append({"photo": path.stem, "theirs": colourfulness(theirs),
                     **{f"model{i}": colourfulness(rgb) for i, rgb in enumerate(ours)}})
        if path.stem in args.sheet_names:
            sheet.append((path.stem, lightness, ours, theirs))
    summary = {"photos": len(rows), "theirs": float(np.mean([r["theirs"] for r in rows]))}
    for index, colorizer in enumerate(colorizers):
        summary[colorizer.info.name + f" ({index})"] = float(np.mean([r[f"model{index}"] for r in rows]))
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "photos": rows}, indent=1))
    if args.sheet and sheet:
        write_sheet(args.sheet, sheet)
    return 0


def write_sheet(path: Path, rows, height: int = 150) -> None:
    """Rows of grey | each model | the other colorizer, each scaled to `height`."""
    from autochrome.engine.color import lightness_to_grey_rgb

    lines = []
    for _name, lightness, ours, theirs in rows:
        tiles = [lightness_to_grey_rgb(lightness), *ours, theirs]
        scaled = []
        for rgb in tiles:
            image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
            scaled.append(np.asarray(image.resize((round(image.width * height / image.height), height),
                                                  Image.Resampling.LANCZOS)))
        gap = np.full((height, 4, 3), 255, np.uint8)
        lines.append(np.hstack([part for tile in scaled for part in (tile, gap)][:-1]))
    width = max(line.shape[1] for line in lines)
    padded = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    Image.fromarray(np.vstack(padded)).save(path)


if __name__ == "__main__":
    sys.exit(main())
