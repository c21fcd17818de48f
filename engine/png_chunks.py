"""Colour profile and EXIF for 16-bit PNGs, which Pillow cannot write and OpenCV writes bare.

OpenCV encodes the pixels; the sRGB profile and the photo's EXIF then go in as the iCCP and
eXIf chunks Pillow writes for 8-bit output, so a 16-bit result keeps what an 8-bit one keeps.
"""

from __future__ import annotations

import struct
import zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXIF_PREFIX = b"Exif\x00\x00"  # Pillow's EXIF bytes start with the JPEG APP1 marker; eXIf holds none
_ICC_NAME = b"sRGB"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunk_types(png: bytes) -> list[bytes]:
    kinds, position = [], len(PNG_SIGNATURE)
    while position + 8 <= len(png):
        length = struct.unpack(">I", png[position:position + 4])[0]
        kinds.append(png[position + 4:position + 8])
        position += 12 + length
    return kinds


def with_metadata(png: bytes, icc_profile: bytes | None = None, exif: bytes | None = None) -> bytes:
    """The PNG with iCCP and eXIf chunks right after IHDR (both must precede the pixel data)."""
    if not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        raise ValueError("not a PNG that starts with its header chunk")
    header_end = len(PNG_SIGNATURE) + 12 + struct.unpack(">I", png[8:12])[0]
    extra = b""
    if icc_profile:
        # name, NUL, compression method 0 (zlib), then the compressed profile
        extra += _chunk(b"iCCP", _ICC_NAME + b"\x00\x00" + zlib.compress(icc_profile))
    if exif:
        extra += _chunk(b"eXIf", exif.removeprefix(EXIF_PREFIX))
    return png[:header_end] + extra + png[header_end:]
