"""Regressions from the hostile review (issue 12): each failed before its fix."""

import os
import time

import numpy as np
import pytest
from PIL import Image

from autochrome.engine import image_io
from autochrome.engine.atomic import atomic_path
from autochrome.engine.errors import ImageReadError, ImageWriteError
from autochrome.engine.image_io import load_image, save_image


def test_photos_between_pillows_warning_and_the_120_mp_limit_open(tmp_path):
    # Finding 1: Pillow's 89.5 MP warning was turned into "too large".
    path = tmp_path / "big.png"
    Image.new("1", (10_000, 9_500)).save(path)
    loaded = load_image(path)
    assert loaded.size == (10_000, 9_500)


@pytest.mark.parametrize("size, shown", [((12_500, 10_000), "12500x10000 is 125.0 megapixels"),
                                         ((20_000, 13_000), "260 megapixels")])
def test_too_large_says_the_size_and_the_limit(tmp_path, size, shown):
    path = tmp_path / "huge.png"
    Image.new("1", size).save(path)
    with pytest.raises(ImageReadError) as caught:
        load_image(path)
    assert shown in str(caught.value) and "up to 120 megapixels" in str(caught.value)


@pytest.mark.parametrize("mode", ["L", "CMYK", "LAB"])
def test_tiff_inputs_saved_as_tiff_are_readable_rgb(tmp_path, mode):
    # R1: the input's TIFF layout tags (PhotometricInterpretation...) were copied into the output.
    source = tmp_path / f"in-{mode}.tif"
    Image.new(mode, (64, 48), 128 if mode == "L" else (120, 60, 40, 0)[: len(mode)]).save(source)
    loaded = load_image(source)
    out = tmp_path / "out.tif"
    save_image(out, np.full((48, 64, 3), 0.5, np.float32), "TIFF", exif=loaded.exif)
    with Image.open(out) as result:
        result.load()
        assert result.mode == "RGB" and result.size == (64, 48)
        assert np.asarray(result)[10, 10].tolist() == [128, 128, 128]


def test_multipage_tiff_output_is_readable(tmp_path):
    source = tmp_path / "pages.tif"
    pages = [Image.new("L", (40, 30), v) for v in (50, 200)]
    pages[0].save(source, save_all=True, append_images=pages[1:])
    loaded = load_image(source)
    assert any("frames" in note for note in loaded.notes)
    save_image(tmp_path / "o.tif", np.zeros((30, 40, 3), np.float32), "TIFF", exif=loaded.exif)
    with Image.open(tmp_path / "o.tif") as result:
        result.load()
        assert result.mode == "RGB"


def test_orientation_stored_as_text_is_a_note_not_damage(tmp_path):
    import struct

    path = tmp_path / "text-orientation.jpg"
    # One IFD entry: Orientation (0x0112) typed ASCII (2), 8 bytes at offset 26: "upright".
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 2, 8, 26)
    tiff += struct.pack("<I", 0) + b"upright\x00"
    Image.new("L", (40, 30), 100).save(path, exif=b"Exif\x00\x00" + tiff)
    loaded = load_image(path)
    assert loaded.size == (40, 30) and any("orientation" in note for note in loaded.notes)


def test_permission_denied_is_not_called_damage(tmp_path, monkeypatch):
    path = tmp_path / "locked.png"
    Image.new("L", (8, 8)).save(path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(image_io.Image, "open", refuse)
    with pytest.raises(ImageReadError, match="permission denied"):
        load_image(path)


def test_nan_and_inf_in_a_float_tiff_are_sanitised(tmp_path):
    values = np.full((20, 30), 0.5, np.float32)
    values[2, 2], values[3, 3], values[4, 4] = np.nan, np.inf, -np.inf
    path = tmp_path / "float.tif"
    Image.fromarray(values, "F").save(path)
    loaded = load_image(path)
    assert np.all(np.isfinite(loaded.lightness)) and any("NaN" in note for note in loaded.notes)


def test_16bit_colour_png_with_a_name_that_is_not_utf8(tmp_path):
    # R3: OpenCV crashed (exit 139) opening such a name.
    import cv2

    name = os.fsdecode(b"caf\xe9-16bit.png")
    path = tmp_path / name
    pixels = (np.random.default_rng(0).random((24, 32, 3)) * 65535).astype(np.uint16)
    ok, encoded = cv2.imencode(".png", pixels)
    path.write_bytes(encoded.tobytes())
    loaded = load_image(path)
    assert loaded.bit_depth == 16 and loaded.size == (32, 24)


def test_exif_too_large_for_jpeg_is_left_out_with_a_note(tmp_path):
    # R3: an ordinary striped TIFF scan carries this much; JPEG's APP1 cannot.
    exif = Image.Exif()
    exif[0x010E] = "x" * 70_000
    notes = save_image(tmp_path / "o.jpg", np.zeros((16, 16, 3), np.float32), "JPEG", exif=exif.tobytes())
    assert any("EXIF" in note for note in notes)
    with Image.open(tmp_path / "o.jpg") as result:
        assert result.format == "JPEG"


def test_webp_wider_than_its_limit_is_a_clear_error(tmp_path):
    with pytest.raises(ImageWriteError, match="WebP holds at most 16383"):
        save_image(tmp_path / "wide.webp", np.zeros((4, 16_400, 3), np.float32), "WEBP")
    assert not list(tmp_path.iterdir())


def test_long_file_names_save_and_stale_temp_files_are_removed(tmp_path):
    # R6/R7: a 251-character name failed on the temp name; a killed save left its .part behind.
    long_name = "n" * 247 + ".png"
    save_image(tmp_path / long_name, np.zeros((8, 8, 3), np.float32), "PNG")
    assert (tmp_path / long_name).is_file()
    target = tmp_path / "photo.png"
    with atomic_path(target) as temp:
        temp.write_bytes(b"x")
    stale = tmp_path / ".photo.png.killed.part"
    stale.write_bytes(b"half a photo")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".photo.png.running.part"
    fresh.write_bytes(b"another save, now")
    with atomic_path(target) as temp:
        temp.write_bytes(b"y")
    assert not stale.exists() and fresh.exists() and target.read_bytes() == b"y"


def test_saving_never_changes_the_process_umask(tmp_path, monkeypatch):
    # Finding 12: setting the umask to 0 for a moment gave files other threads created then 0666.
    import os

    from autochrome.engine import atomic

    def forbidden(mask):
        raise AssertionError("os.umask called while saving")

    monkeypatch.setattr(os, "umask", forbidden)
    with atomic_path(tmp_path / "o.bin") as temp:
        temp.write_bytes(b"x")
    assert (tmp_path / "o.bin").stat().st_mode & 0o777 == 0o666 & ~atomic.UMASK


def test_an_atomic_write_reaches_the_disk_before_its_name_and_keeps_a_replaced_files_permissions(tmp_path,
                                                                                               monkeypatch):
    """Issue 27.16: no fsync of the file or its folder (a power cut could leave an empty file
    under the final name), and an existing file's permissions were reset."""
    import os
    import stat

    order = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        order.append(("fsync", stat.S_ISDIR(os.fstat(fd).st_mode)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", lambda a, b: order.append(("replace", None)) or real_replace(a, b))
    target = tmp_path / "result.png"
    target.write_bytes(b"old")
    target.chmod(0o640)
    with atomic_path(target) as temp:
        temp.write_bytes(b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    expected = [("fsync", False), ("replace", None)] + ([("fsync", True)] if os.name != "nt" else [])
    assert order == expected
