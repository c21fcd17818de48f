"""The malformed-file corpus of the hostile review (issue 12), rebuilt from small generated files
and run through `autochrome colorize` as one batch: no tracebacks, no original changed, every
output's bytes match its name and its size matches its photo, and every refused file named with
a one-line reason."""

import hashlib
import io
import struct
import zlib

import numpy as np
from PIL import Image

from autochrome.desktop.cli import main

SUFFIX_OF_FORMAT = {"JPEG": {".jpg", ".jpeg"}, "PNG": {".png"}, "TIFF": {".tif", ".tiff"}, "WEBP": {".webp"},
                    "BMP": {".bmp"}}


def _png_header_only(width, height):
    """A PNG that claims a size (a decompression bomb) with no pixels behind it."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def _jpeg_bytes(image, **options):
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def build_corpus(folder):
    """name -> (bytes, expected: "ok" or "refused")."""
    rng = np.random.default_rng(0)
    grey = Image.fromarray((rng.random((30, 40)) * 255).astype(np.uint8), "L")
    corpus = {}

    def saved(name, image, fmt, expected="ok", **options):
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        corpus[name] = (buffer.getvalue(), expected)

    saved("grey.png", grey, "PNG")
    saved("grey16.png", Image.fromarray((rng.random((30, 40)) * 65535).astype(np.uint16)), "PNG")
    saved("rgba.png", grey.convert("RGBA"), "PNG")
    saved("la.png", grey.convert("LA"), "PNG")
    saved("palette.gif", grey.convert("P"), "GIF")
    frames = [grey.convert("P"), grey.point(lambda v: 255 - v).convert("P")]
    saved("animated.gif", frames[0], "GIF", save_all=True, append_images=frames[1:])
    saved("cmyk.jpg", grey.convert("CMYK"), "JPEG")
    saved("bilevel.bmp", grey.convert("1"), "BMP")
    saved("grey.tif", grey, "TIFF")
    saved("multipage.tif", grey, "TIFF", save_all=True, append_images=[grey])
    saved("lab.tif", grey.convert("RGB").convert("LAB"), "TIFF")
    saved("float-nan.tif", Image.fromarray(np.where(rng.random((30, 40)) < 0.1, np.nan, 0.5).astype(np.float32)), "TIFF")
    saved("photo.webp", grey, "WEBP")
    exif = Image.Exif()
    exif[0x0112] = 6
    saved("rotated.jpg", grey, "JPEG", exif=exif.tobytes())
    # Orientation (0x0112) typed ASCII: one IFD entry, 8 bytes at offset 26.
    text_orientation = (b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 2, 8, 26)
                        + struct.pack("<I", 0) + b"upright\x00")
    saved("orientation-text.jpg", grey, "JPEG", exif=b"Exif\x00\x00" + text_orientation)
    saved("png-named.jpg", grey, "PNG")
    saved("gif-named.tif", grey.convert("P"), "GIF")
    saved("one-pixel.png", Image.new("L", (1, 1), 128), "PNG")
    whole = _jpeg_bytes(grey)
    corpus["truncated.jpg"] = (whole[: len(whole) // 2], "refused")
    png = io.BytesIO()
    grey.save(png, "PNG")
    corpus["truncated.png"] = (png.getvalue()[:60], "refused")
    corpus["empty.png"] = (b"", "refused")
    corpus["letter.jpg"] = (b"Dear Sir, this is not a photograph.", "refused")
    corpus["bomb.png"] = (_png_header_only(30_000, 30_000), "refused")
    # Issue 26.3: data for a few rows of what the header claims decodes as a photo of grey filler.
    tall = _jpeg_bytes(Image.fromarray((rng.random((400, 40)) * 255).astype(np.uint8), "L"), quality=80)
    corpus["mostly-missing.jpg"] = (tall[: len(tall) // 20] + b"\xff\xd9", "refused")
    corpus["bottom-missing.jpg"] = (tall[: len(tall) * 3 // 4] + b"\xff\xd9", "ok")
    for name, (data, _) in corpus.items():
        (folder / name).write_bytes(data)
    return corpus


def test_the_malformed_corpus(tmp_path, tiny_model, capsys):
    photos, out = tmp_path / "corpus", tmp_path / "out"
    photos.mkdir()
    corpus = build_corpus(photos)
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()}
    code = main(["colorize", str(photos), "-o", str(out), "--model", str(tiny_model), "--render-size", "64"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    damaged = [line for line in captured.err.splitlines() if line.startswith("note:") and "damaged:" in line]
    assert [line.split(":")[1].strip() for line in damaged] == ["bottom-missing.jpg"]
    assert "1 damaged: see the notes above" in captured.out
    assert "mostly-missing.jpg: damaged: its data ends after" in captured.err
    assert code != 0  # some photos were refused, and the exit status says so
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos.iterdir()}
    assert after == before, "an original was changed"

    written = {p.stem: p for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    for name, (data, expected) in corpus.items():
        stem = name.rsplit(".", 1)[0]
        reason_lines = [line for line in captured.err.splitlines() if name in line and "%|" not in line]  # not the bar
        if expected == "refused":
            assert stem not in written, name
            assert len(reason_lines) == 1 and len(reason_lines[0]) > len(name) + 5, (name, reason_lines)
            continue
        assert stem in written, (name, captured.err)
        result = written[stem]
        with Image.open(result) as opened:
            assert result.suffix in SUFFIX_OF_FORMAT[opened.format], (name, opened.format, result.suffix)
            opened.load()
            result_size = opened.size
        with Image.open(photos / name) as original:
            width, height = original.size
        orientation_swaps = name == "rotated.jpg"
        assert result_size == ((height, width) if orientation_swaps else (width, height)), name
