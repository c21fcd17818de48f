import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from autochrome.engine import color, image_io
from autochrome.engine.errors import ImageReadError, ImageWriteError
from tests.conftest import gradient_grey


def _grey8(w=40, h=30):
    return (gradient_grey(w, h) * 255).astype(np.uint8)


def _rgb8(w=40, h=30, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_grey_8bit_lightness(tmp_path):
    grey = _grey8()
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    loaded = image_io.load_image(tmp_path / "g.png")
    assert loaded.size == (40, 30) and loaded.bit_depth == 8 and not loaded.was_colour
    np.testing.assert_allclose(loaded.lightness, color.grey_to_lightness(grey / 255.0), atol=1e-4)


def test_grey_16bit_keeps_precision(tmp_path):
    values = np.linspace(0, 65535, 40 * 30).reshape(30, 40).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    loaded = image_io.load_image(tmp_path / "g16.png")
    assert loaded.bit_depth == 16
    # Neighbouring 16-bit levels differ by far less than one 8-bit step would.
    expected = color.grey_to_lightness(values / 65535.0)
    np.testing.assert_allclose(loaded.lightness, expected, atol=1e-3)
    assert len(np.unique(loaded.lightness)) > 256


def test_rgb_16bit_png_is_read_at_full_depth(tmp_path):
    import cv2

    rgb16 = (np.random.default_rng(0).random((20, 24, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[..., ::-1])
    loaded = image_io.load_image(tmp_path / "c16.png")
    assert loaded.bit_depth == 16 and loaded.was_colour
    np.testing.assert_allclose(loaded.lightness, color.lightness_of_srgb(rgb16 / 65535.0), atol=1e-3)


def test_colour_input_uses_its_lightness(tmp_path):
    rgb = _rgb8()
    Image.fromarray(rgb).save(tmp_path / "c.png")
    loaded = image_io.load_image(tmp_path / "c.png")
    assert loaded.was_colour
    np.testing.assert_allclose(loaded.lightness, color.rgb_to_lab(rgb / 255.0)[..., 0], atol=1e-3)


def test_rgba_keeps_alpha(tmp_path):
    rgba = np.dstack([_rgb8(), np.tile(np.arange(40, dtype=np.uint8) * 6, (30, 1))])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    loaded = image_io.load_image(tmp_path / "a.png")
    np.testing.assert_allclose(loaded.alpha, rgba[..., 3] / 255.0, atol=1e-6)


def test_palette_and_bilevel_and_la(tmp_path):
    Image.fromarray(_rgb8()).convert("P").save(tmp_path / "p.png")
    Image.fromarray(_grey8()).convert("1").save(tmp_path / "b.png")
    Image.fromarray(_grey8()).convert("LA").save(tmp_path / "la.png")
    for name in ("p.png", "b.png", "la.png"):
        loaded = image_io.load_image(tmp_path / name)
        assert loaded.size == (40, 30)
        assert 0 <= loaded.lightness.min() and loaded.lightness.max() <= 100.01
    assert image_io.load_image(tmp_path / "la.png").alpha is not None


def test_cmyk_jpeg(tmp_path):
    Image.fromarray(_rgb8()).convert("CMYK").save(tmp_path / "k.jpg")
    loaded = image_io.load_image(tmp_path / "k.jpg")
    assert loaded.size == (40, 30) and loaded.format == "JPEG"


def test_embedded_srgb_profile_leaves_lightness_unchanged(tmp_path):
    grey = np.full((8, 8), 128, np.uint8)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    Image.fromarray(np.dstack([grey] * 3)).save(tmp_path / "icc.png", icc_profile=profile)
    loaded = image_io.load_image(tmp_path / "icc.png")
    assert not loaded.notes
    assert abs(float(loaded.lightness.mean()) - float(color.grey_to_lightness(np.float32(128 / 255)))) < 0.6


def test_broken_icc_profile_is_noted_not_fatal(tmp_path):
    Image.fromarray(_rgb8()).save(tmp_path / "bad-icc.png", icc_profile=b"not a profile at all" * 10)
    loaded = image_io.load_image(tmp_path / "bad-icc.png")
    assert any("profile" in note for note in loaded.notes)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    grey = _grey8(40, 30)
    grey[:5, :10] = 255  # a marker so flips and rotations differ
    image = Image.fromarray(grey, "L")
    exif = image.getexif()
    exif[image_io.ORIENTATION_TAG] = orientation
    image.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=100)
    loaded = image_io.load_image(tmp_path / "o.jpg")
    with Image.open(tmp_path / "o.jpg") as reference:
        upright = np.asarray(ImageOps.exif_transpose(reference), np.float32) / 255.0
    np.testing.assert_allclose(loaded.lightness, color.grey_to_lightness(upright), atol=1e-3)
    saved_exif = Image.Exif()
    saved_exif.load(loaded.exif)
    assert saved_exif.get(image_io.ORIENTATION_TAG, 1) == 1


def test_animated_gif_takes_first_frame_and_says_so(tmp_path):
    frames = [Image.fromarray(np.full((10, 12), v, np.uint8), "L") for v in (20, 200)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    loaded = image_io.load_image(tmp_path / "anim.gif")
    assert loaded.size == (12, 10)
    assert any("first" in note for note in loaded.notes)
    assert loaded.lightness.mean() < 30


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "empty"), (b"hello, I am text\n" * 20, "not an image")],
)
def test_bad_files_have_clear_errors(tmp_path, content, expected):
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=expected):
        image_io.load_image(path)


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(_rgb8(200, 150)).save(buffer, "JPEG")
    (tmp_path / "t.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        image_io.load_image(tmp_path / "t.jpg")


def test_missing_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="not found"):
        image_io.load_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        image_io.load_image(tmp_path)


def test_decompression_bomb_refused(tmp_path, monkeypatch):
    Image.fromarray(_grey8(100, 100), "L").save(tmp_path / "big.png")
    monkeypatch.setattr(image_io, "MAX_PIXELS", 5000)
    with pytest.raises(ImageReadError, match="megapixels"):
        image_io.load_image(tmp_path / "big.png")


def test_save_round_trip_with_alpha_exif_and_profile(tmp_path):
    rgb = _rgb8() / 255.0
    alpha = np.linspace(0, 1, 40 * 30).reshape(30, 40)
    exif = Image.Exif()
    exif[0x010F] = "Test camera"
    exif[image_io.ORIENTATION_TAG] = 1
    image_io.save_image(tmp_path / "o.png", rgb, "PNG", alpha=alpha, exif=exif.tobytes())
    with Image.open(tmp_path / "o.png") as saved:
        assert saved.mode == "RGBA"
        assert saved.info.get("icc_profile")
        assert saved.getexif().get(0x010F) == "Test camera"
        np.testing.assert_allclose(np.asarray(saved)[..., :3] / 255.0, rgb, atol=1 / 255)
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temporary files left behind


def test_save_16bit_png_and_tiff(tmp_path):
    import cv2

    rgb = np.random.default_rng(0).random((10, 12, 3)).astype(np.float32)
    for name, fmt in (("o.png", "PNG"), ("o.tif", "TIFF")):
        image_io.save_image(tmp_path / name, rgb, fmt, bit_depth=16)
        back = cv2.imread(str(tmp_path / name), cv2.IMREAD_UNCHANGED)
        assert back.dtype == np.uint16
        np.testing.assert_allclose(back[..., ::-1] / 65535.0, rgb, atol=1e-4)


def test_16bit_png_keeps_the_profile_and_exif_of_8bit_output(tmp_path):
    import cv2

    from autochrome.engine import png_chunks

    exif = Image.Exif()
    exif[0x010F] = "Test camera"
    rgb = np.random.default_rng(1).random((10, 12, 3)).astype(np.float32)
    notes = image_io.save_image(tmp_path / "o.png", rgb, "PNG", alpha=np.full((10, 12), 0.5),
                                bit_depth=16, exif=exif.tobytes())
    assert notes == []
    data = (tmp_path / "o.png").read_bytes()
    kinds = png_chunks.chunk_types(data)
    assert kinds[:3] == [b"IHDR", b"iCCP", b"eXIf"] and kinds.index(b"IDAT") > 2 and b"sRGB" not in kinds
    with Image.open(tmp_path / "o.png") as saved:
        saved.load()  # a bad CRC or misplaced chunk fails here
        assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(saved.info["icc_profile"])))
        assert saved.getexif().get(0x010F) == "Test camera"
    back = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16 and back.shape == (10, 12, 4)
    np.testing.assert_allclose(back[..., 2::-1] / 65535.0, rgb, atol=1e-4)


def test_16bit_tiff_says_it_carries_no_metadata(tmp_path):
    notes = image_io.save_image(tmp_path / "o.tif", np.zeros((4, 4, 3)), "TIFF", bit_depth=16, exif=b"Exif\0\0")
    assert notes == ["16-bit TIFF output carries no EXIF or ICC profile"]
    notes = image_io.save_image(tmp_path / "p.tif", np.zeros((4, 4, 3)), "TIFF", bit_depth=16)
    assert notes == ["16-bit TIFF output carries no ICC profile"]  # no EXIF to lose: none mentioned


def test_jpeg_drops_alpha_with_a_note(tmp_path):
    notes = image_io.save_image(tmp_path / "o.jpg", np.zeros((4, 4, 3)), "JPEG", alpha=np.ones((4, 4)))
    assert any("alpha" in note for note in notes)


def test_save_into_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        image_io.save_image(tmp_path / "no" / "o.png", np.zeros((4, 4, 3)), "PNG")


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "o.png"
    target.write_bytes(b"precious")

    def explode(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_io, "_write_8bit", explode)
    with pytest.raises(ImageWriteError, match="No space"):
        image_io.save_image(target, np.zeros((4, 4, 3)), "PNG")
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]


def test_output_format_choice():
    assert image_io.output_format("JPEG") == "JPEG"
    assert image_io.output_format("GIF") == "PNG"
    assert image_io.output_format("PNG", "jpeg") == "JPEG"
    assert image_io.output_format("PNG", "tiff") == "TIFF"
    with pytest.raises(ValueError):
        image_io.output_format("PNG", "exr")


def test_a_profile_left_unapplied_at_16_bits_is_noted(tmp_path):
    import cv2

    rgb16 = (np.random.default_rng(0).random((10, 12, 3)) * 65535).astype(np.uint16)
    png = cv2.imencode(".png", rgb16)[1].tobytes()
    from autochrome.engine import png_chunks

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for name, profile, noted in (("srgb.png", srgb, False), ("other.png", b"not sRGB" * 40, True)):
        (tmp_path / name).write_bytes(png_chunks.with_metadata(png, profile))
        loaded = image_io.load_image(tmp_path / name)
        assert loaded.bit_depth == 16 and any("profile" in note for note in loaded.notes) == noted
