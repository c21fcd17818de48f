"""Finding and decoding training photos: colour photos only, every skip counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from autochrome.engine import decoding
from autochrome.engine.job_plan import expand_inputs
from autochrome.engine.image_io import load_colour, to_8bit
# Mean chroma (Lab ab distance, approximated in YCbCr) below which a photo counts as monochrome.
MIN_CHROMA = 3.0


@dataclass
class PhotoScan:
    usable: list[Path] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    monochrome: list[Path] = field(default_factory=list)
    too_small: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.usable)} usable photos; skipped {len(self.monochrome)} greyscale or near-monochrome, "
            f"{len(self.too_small)} too small, {len(self.unreadable)} unreadable"
        )


def find_photos(folder: str | Path, recursive: bool = True) -> list[Path]:
    """The photos of a folder as `autochrome colorize` and the app find them (hidden files and
    folders left out), sorted by path."""
    return sorted(path for path, _ in expand_inputs([Path(folder)], recursive))


def is_monochrome(rgb: np.ndarray) -> bool:
    ycbcr = np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float32)
    chroma = np.hypot(ycbcr[..., 1] - 128.0, ycbcr[..., 2] - 128.0)
    return float(chroma.mean()) < MIN_CHROMA


def load_square(path: Path, size: int) -> np.ndarray:
    """Decode as the app does (EXIF orientation and colour profile applied), scale the short
    side to `size` and centre-crop a square."""
    rgb = load_colour(path)
    image = Image.fromarray(to_8bit(rgb))
    return np.asarray(ImageOps.fit(image, (size, size), Image.Resampling.BICUBIC))


def load_photo_set(folder: str | Path, size: int, min_side: int = 64, progress=None) -> tuple[np.ndarray, PhotoScan]:
    """All usable photos of `folder` as one uint8 array (N, size, size, 3), in the order of
    `scan.usable`, and what was skipped. `progress(done, total)` is called before each file."""
    scan = PhotoScan()
    squares = []
    files = find_photos(folder)
    for index, path in enumerate(files):
        if progress is not None:
            progress(index, len(files))
        try:
            with decoding.quiet(), decoding.open_image(path) as probe:
                small = min(probe.size) < min_side
        except Exception as exc:  # any decoder failure means: skip it and say so
            scan.unreadable.append((path, str(exc) or type(exc).__name__))
            continue
        if small:
            scan.too_small.append(path)
            continue
        try:
            square = load_square(path, size)
        except Exception as exc:
            scan.unreadable.append((path, str(exc) or type(exc).__name__))
            continue
        if is_monochrome(square):
            scan.monochrome.append(path)
            continue
        scan.usable.append(path)
        squares.append(square)
    array = np.stack(squares) if squares else np.zeros((0, size, size, 3), np.uint8)
    return array, scan
