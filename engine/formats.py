"""Which files Autochrome reads and writes, by suffix. Kept free of heavy imports, so the
window can use it at start-up."""

from __future__ import annotations

from pathlib import Path

# Output formats by the name a user types, and each one's usual suffix.
FORMATS = {"png": "PNG", "jpg": "JPEG", "tif": "TIFF", "webp": "WEBP", "bmp": "BMP"}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "TIFF": ".tif", "WEBP": ".webp", "BMP": ".bmp"}
FORMAT_OF_SUFFIX = {".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF",
                    ".webp": "WEBP", ".bmp": "BMP"}
READABLE_SUFFIXES = set(FORMAT_OF_SUFFIX) | {".gif", ".pgm", ".ppm", ".pnm"}


def format_of(path: str | Path) -> str | None:
    """The output format a file name asks for, or None if it is not one Autochrome writes."""
    return FORMAT_OF_SUFFIX.get(Path(path).suffix.lower())
