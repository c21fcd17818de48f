"""Save-side rules that need no widgets: names and formats (the never-overwrite rule is the
command line's, engine.job_plan.is_input; the Qt actions that use them are save_actions.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAVE_FILTERS = "PNG (*.png);;JPEG (*.jpg *.jpeg);;TIFF (*.tif *.tiff);;WebP (*.webp)"
from autochrome.engine.formats import format_of

# The app saves these. BMP keeps no EXIF, colour profile or 16 bits: only the command line
# writes it, for a BMP input (a result keeps its photo's format).
SAVE_FORMATS = {"PNG", "JPEG", "TIFF", "WEBP"}
_SUFFIX_OF_FILTER = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WebP": ".webp"}
# The divider between the two halves of a before/after image, in pixels.
COMPARISON_GAP = 8


def export_name(title: str, source: Path | None) -> str:
    """`<stem>-colorized.<ext>`, keeping the source's format where it is a photo format."""
    if source is not None:
        suffix = source.suffix.lower() if format_of(source) in SAVE_FORMATS else ".png"
        return f"{source.stem}-colorized{suffix}"
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in title).strip("-") or "image"
    return f"{safe}-colorized.png"


def format_for_path(path: Path, chosen_filter: str = "") -> tuple[Path, str | None]:
    """The path (with a suffix added from the chosen filter if it had none) and its format."""
    if not path.suffix and chosen_filter:
        name = chosen_filter.split(" ", 1)[0]
        path = path.with_suffix(_SUFFIX_OF_FILTER.get(name, ".png"))
    image_format = format_of(path)
    return path, image_format if image_format in SAVE_FORMATS else None


def comparison_rgb(lightness: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Original (as grey) on the left, result on the right, a white gap between."""
    from autochrome.engine import color

    grey = color.lightness_to_grey_rgb(lightness)
    gap = np.ones((rgb.shape[0], COMPARISON_GAP, 3), np.float32)
    return np.hstack([grey, gap, rgb.astype(np.float32)])
