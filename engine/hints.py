"""Colour hints: a point of the photo and the colour the user wants there.

Coordinates are pixels of the upright photo (EXIF orientation applied), so a hint stays
where it was put whatever the render size. Only a hint's chroma (Lab a, b) counts: the
photo keeps its own lightness, so a hint given as an sRGB colour is reduced to its ab.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from . import color

# Side of the square a hint covers at the render size: inside the 1-9 px patches the
# hint-taking models were trained with, small enough to sit on a thin object.
HINT_PATCH = 3
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


# Hints per photo. Spreading solves once per hint over the photo's cells: 1,000 hints take
# about 0.2 GB and a second or two; 100,000 (a 6 MB sidecar) would take 10-20 GB.
MAX_HINTS = 1000


class HintError(ValueError):
    """A hint that cannot be used; the text names what is wrong."""


@dataclass(frozen=True)
class Hint:
    x: float
    y: float
    a: float
    b: float

    def __post_init__(self):
        for name in ("x", "y", "a", "b"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise HintError(f"hint {name} must be a finite number, not {value!r}")
        if abs(self.a) > 128 or abs(self.b) > 128:
            raise HintError(f"hint colour a={self.a:.4g}, b={self.b:.4g} is outside Lab's range (-128 to 128)")

    @classmethod
    def from_rgb(cls, x: float, y: float, rgb) -> "Hint":
        """rgb: sRGB in [0, 1] (3 numbers)."""
        values = np.asarray(rgb, np.float32).reshape(3)
        if not np.all(np.isfinite(values)) or values.min() < 0 or values.max() > 1:
            raise HintError(f"hint colour {tuple(rgb)} is not an sRGB colour in [0, 1]")
        lab = color.rgb_to_lab(values[None, None])[0, 0]
        return cls(float(x), float(y), float(lab[1]), float(lab[2]))

    @classmethod
    def from_hex(cls, x: float, y: float, text: str) -> "Hint":
        match = _HEX.match(str(text).strip())
        if not match:
            raise HintError(f"hint colour {text!r} is not an sRGB hex colour like #7a5230")
        digits = match.group(1)
        return cls.from_rgb(x, y, [int(digits[i : i + 2], 16) / 255.0 for i in (0, 2, 4)])

    def hex_at(self, lightness: float) -> str:
        """The hint's colour as sRGB hex, at the given lightness (the photo's, where it lies)."""
        rgb = color.lab_to_rgb(np.float32([[[lightness, self.a, self.b]]]))[0, 0]
        return "#" + "".join(f"{round(float(v) * 255):02x}" for v in rgb)

    def inside(self, width: int, height: int) -> bool:
        return 0 <= self.x < width and 0 <= self.y < height


def check_inside(hints: list[Hint], width: int, height: int) -> None:
    """Hints an engine can spread over this photo: at most MAX_HINTS, each inside it."""
    if len(hints) > MAX_HINTS:
        raise HintError(f"{len(hints)} hints: Autochrome takes at most {MAX_HINTS} per photo")
    for hint in hints:
        if not hint.inside(width, height):
            raise HintError(f"hint at ({hint.x:g}, {hint.y:g}) lies outside the {width}x{height} photo")


def render_position(hint: Hint, full_size: tuple[int, int], small_size: tuple[int, int]) -> tuple[int, int]:
    """The render-size pixel (column, row) the hint falls in."""
    (width, height), (small_w, small_h) = full_size, small_size
    column = min(int(hint.x * small_w / width), small_w - 1)
    row = min(int(hint.y * small_h / height), small_h - 1)
    return column, row


def patch_slices(column: int, row: int, small_size: tuple[int, int]) -> tuple[slice, slice]:
    half = HINT_PATCH // 2
    small_w, small_h = small_size
    return (slice(max(row - half, 0), min(row + half + 1, small_h)),
            slice(max(column - half, 0), min(column + half + 1, small_w)))


def hint_map(hints: list[Hint], full_size: tuple[int, int], small_size: tuple[int, int]) -> np.ndarray:
    """The network's hint input at the render size: (3, h, w) float32, ab / AB_SCALE and a mask.
    Where hints overlap, the later one wins (the user's latest click)."""
    small_w, small_h = small_size
    out = np.zeros((3, small_h, small_w), np.float32)
    for hint in hints:
        rows, columns = patch_slices(*render_position(hint, full_size, small_size), small_size)
        out[0, rows, columns] = color.normalize_ab(hint.a)
        out[1, rows, columns] = color.normalize_ab(hint.b)
        out[2, rows, columns] = 1.0
    return out
