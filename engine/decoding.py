"""Opening image files safely: only the formats Autochrome lists, no library chatter, and
metadata that never costs the user the photo.

- Pillow would identify any format it knows by content; an EPS file named .jpg would go to
  Ghostscript (untrusted PostScript that can loop forever). Only the listed formats are tried.
- A PNG whose text or colour-profile chunk decompresses to more than Pillow allows is read
  again without those chunks: the pixels are what matter.
- A JPEG whose data is corrupt or ends early decodes silently (libjpeg fills the rest with
  grey); `jpeg_damage` finds both, so the user is told.
"""

from __future__ import annotations

import contextlib
import io
import struct
import warnings

import cv2
from PIL import Image

from .png_chunks import PNG_SIGNATURE

# Pillow's names for the formats the README lists.
PIL_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "GIF", "PPM")  # JPEG opens MPO files too
_METADATA_CHUNKS = (b"zTXt", b"iTXt", b"tEXt", b"iCCP")

# OpenCV reads 16-bit TIFF and PNG pixels; libtiff's warnings about unusual tags would go to
# the terminal in the middle of a progress bar.
with contextlib.suppress(AttributeError):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


@contextlib.contextmanager
def quiet():
    """Pillow's warnings (corrupt EXIF, bombs measured later by the caller) are not the user's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def open_image(source) -> Image.Image:
    """Image.open restricted to the listed formats (a path or a file object)."""
    return Image.open(source, formats=PIL_FORMATS)


def is_metadata_bomb(exc: Exception) -> bool:
    text = str(exc).lower()
    return isinstance(exc, ValueError) and "decompressed" in text and "too large" in text


def without_metadata_chunks(png: bytes) -> bytes:
    """The PNG without its text and colour-profile chunks."""
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    parts, position = [PNG_SIGNATURE], len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        end = position + 12 + length
        if png[position + 4:position + 8] not in _METADATA_CHUNKS:
            parts.append(png[position:end])
        position = end
    return b"".join(parts)


# Markers that may follow a segment or a scan in a JPEG file (SOFn, DHT, DAC, RSTn, SOI, EOI,
# SOS, DQT, DNL, DRI, DHP, EXP, APPn, JPGn, COM); anything else in their place is damage.
_JPEG_MARKERS = set(range(0xC0, 0xFF)) - {0xFF}


def jpeg_damage(data: bytes) -> str | None:
    """Why a JPEG's data is damaged (as a phrase), or None if its structure is sound.

    Walks the marker segments; inside each scan, a 0xFF byte must be followed by 0x00 (a
    stuffed byte) or a restart marker, and the scan must end at a valid marker."""
    if not data.startswith(b"\xff\xd8"):
        return "it does not start as a JPEG file does"
    position = 2
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            return f"unexpected bytes at offset {position}"
        marker = data[position + 1]
        if marker == 0xFF:  # fill bytes before a marker
            position += 1
            continue
        if marker == 0xD9:
            return None
        if marker not in _JPEG_MARKERS:
            return f"an invalid marker 0xFF{marker:02X} at offset {position}"
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            position += 2
            continue
        if position + 4 > len(data):
            break
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        position += 2 + length
        if marker == 0xDA:  # a scan: entropy-coded data up to the next marker
            position = _scan_end(data, position)
            if position < 0:
                return "its image data is corrupt"
    return "its data ends before the end of the image"


def _scan_end(data: bytes, position: int) -> int:
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            return len(data)
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
            continue
        if following == 0xFF:
            position += 1
            continue
        return position if following in _JPEG_MARKERS else -1


def filler_rows(grey) -> int:
    """How many rows at the bottom are libjpeg's filler (exactly mid-grey) after data ran out."""
    rows = 0
    for row in grey[::-1]:
        if row.min() != 128 or row.max() != 128:
            break
        rows += 1
    return rows


def read_bytes_checked(path) -> bytes | None:
    """A JPEG's bytes, to look for damage in (None for other files or very large ones)."""
    with open(path, "rb") as handle:
        head = handle.read(2)
        if head != b"\xff\xd8":
            return None
        handle.seek(0)
        return handle.read(200_000_000)


def png_without_bombs(path) -> io.BytesIO:
    """The PNG at `path` in memory, without its text and colour-profile chunks."""
    with open(path, "rb") as handle:
        return io.BytesIO(without_metadata_chunks(handle.read()))
