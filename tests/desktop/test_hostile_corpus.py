"""The hostile run of issue 19, section 3: files, names and sidecars that once ended a batch,
hung it, leaked library chatter or were colorized silently though damaged."""

import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine.errors import ImageReadError
from autochrome.engine.image_io import load_image, load_image_bytes
from autochrome.engine.sidecar import SUFFIX


def grey_photo(width=64, height=48, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(30, 220, (6, 8)).astype(np.uint8)
    return Image.fromarray(base).resize((width, height), Image.Resampling.BICUBIC)


def jpeg_bytes(image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def png_with_chunk(image, kind: bytes, payload: bytes) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    png = buffer.getvalue()
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    header_end = 8 + 12 + 13
    return png[:header_end] + chunk + png[header_end:]


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_postscript_named_jpg_is_refused_not_interpreted(tmp_path, tiny_model, capsys):
    (tmp_path / "loop.jpg").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{ } loop\n")
    code, _, err = run(capsys, "colorize", tmp_path / "loop.jpg", "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 1 and "cannot read" in err and "Traceback" not in err


def test_a_long_name_is_colorized_under_a_shortened_result_name(tmp_path, tiny_model, capsys):
    name = "x" * 247 + ".png"  # 251 bytes: its sidecar's name could not exist
    grey_photo().save(tmp_path / name)
    code, out, err = run(capsys, "colorize", tmp_path / name, "-o", tmp_path / "out", "--format", "webp",
                         "--model", tiny_model)
    assert code == 0, err
    (result,) = (tmp_path / "out").iterdir()
    assert result.suffix == ".webp" and len(os.fsencode(result.name)) <= 255


def test_hostile_sidecars_are_warnings_and_the_photo_is_colorized(tmp_path, tiny_model, capsys):
    for index, text in enumerate(['{"version": 1, "hints": [], "saturation": ' + "9" * 5000 + "}",
                                  "[" * 100_000 + "]" * 100_000,
                                  '{"version": 1, "hints": [{"x": 1, "y": 1, "ab": [1e300, 0]}]}']):
        grey_photo(seed=index).save(tmp_path / f"p{index}.png")
        (tmp_path / f"p{index}.png{SUFFIX}").write_text(text)
    code, out, err = run(capsys, "colorize", tmp_path, "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 0 and "colorized 3 of 3" in out, err
    warnings = [line for line in err.splitlines() if line.startswith("warning")]
    assert len(warnings) == 3 and all(len(line) < 300 for line in warnings), warnings


def test_damaged_jpegs_are_named(tmp_path, tiny_model, capsys):
    whole = jpeg_bytes(grey_photo(320, 240), quality=90)
    corrupt = bytearray(whole)
    middle = len(corrupt) // 2
    corrupt[middle:middle + 64] = bytes([0xFF, 0x23]) * 32  # invalid markers in the image data
    (tmp_path / "corrupt.jpg").write_bytes(bytes(corrupt))
    (tmp_path / "short.jpg").write_bytes(whole[: len(whole) * 3 // 4] + b"\xff\xd9")  # data ends, then an end marker
    (tmp_path / "shorter.jpg").write_bytes(whole[: len(whole) // 3] + b"\xff\xd9")  # less than half the rows
    code, out, err = run(capsys, "colorize", tmp_path, "-o", tmp_path / "out", "--model", tiny_model)
    notes = [line for line in err.splitlines() if "damaged" in line]
    assert any("corrupt.jpg" in line for line in notes) and any("short.jpg" in line and "filler" in line
                                                                 for line in notes), err
    assert any(line.startswith("failed:") and "shorter.jpg" in line and "less than half" in line for line in notes)
    assert code == 1 and "damaged: see the notes above" in out


def test_metadata_never_costs_the_photo(tmp_path, capsys):
    photo = grey_photo()
    # An EXIF block Pillow cannot parse ("not a TIFF file"), as on a real archive scan.
    (tmp_path / "bad-exif.jpg").write_bytes(jpeg_bytes(photo, exif=b"Exif\x00\x00garbage, not TIFF at all"))
    loaded = load_image(tmp_path / "bad-exif.jpg")
    assert loaded.size == (64, 48)
    # A compressed text chunk that inflates to 16 MB: a bomb around valid pixels.
    bomb = zlib.compress(b"\x00" * 16_000_000, 9)
    (tmp_path / "text-bomb.png").write_bytes(png_with_chunk(photo, b"zTXt", b"comment\x00\x00" + bomb))
    loaded = load_image(tmp_path / "text-bomb.png")
    assert loaded.size == (64, 48) and any("left out" in note for note in loaded.notes)
    captured = capsys.readouterr()
    assert "Warning" not in captured.err and "WARN" not in captured.err


def test_special_files_get_their_own_reasons(tmp_path):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(ImageReadError, match="not a regular file"):
        load_image(fifo)
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    with pytest.raises(ImageReadError, match="loop"):
        load_image(loop)
    with pytest.raises(ImageReadError, match="pasted image"):
        load_image_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
                         + struct.pack(">IIBBBBB", 40000, 40000, 8, 0, 0, 0, 0) + b"\0\0\0\0")


def test_a_file_named_like_an_option_gets_advice(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    grey_photo().save(tmp_path / "-dash.png")
    code, _, err = run(capsys, "colorize", "-dash.png", "-o", "out")
    assert code == 2 and "./-dash.png" in err


def test_sound_jpegs_get_no_damage_note(tmp_path):
    """The damage check must not cry wolf: baseline, progressive, restart markers, EXIF, the
    sample photo."""
    from autochrome.desktop.empty_state import sample_photo

    photo = grey_photo(320, 240)
    variants = {"baseline.jpg": {}, "progressive.jpg": {"progressive": True}, "restarts.jpg": {"restart_marker_rows": 1},
                "colour.jpg": {}, "exif.jpg": {"exif": Image.Exif().tobytes()}}
    for name, options in variants.items():
        image = photo.convert("RGB") if name == "colour.jpg" else photo
        (tmp_path / name).write_bytes(jpeg_bytes(image, quality=90, **options))
    for path in [*sorted(tmp_path.glob("*.jpg")), sample_photo()]:
        assert not [note for note in load_image(path).notes if "damaged" in note], path
