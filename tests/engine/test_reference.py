"""Colour from a reference photo: matching, confidence, sidecars, hints over it."""

import json

import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine import color, sidecar
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings, PhotoEdit
from autochrome.engine.errors import ImageReadError
from autochrome.engine.hints import Hint
from autochrome.engine.image_io import LoadedImage
from autochrome.engine.reference import ReferencePhoto

RED = np.float32([0.85, 0.1, 0.1])


def flat_and_textured(width=128, height=96):
    """Left: flat at red's lightness. Right: a busy texture of the same mean lightness."""
    rng = np.random.default_rng(0)
    lightness = np.full((height, width), float(color.rgb_to_lab(RED[None, None])[0, 0, 0]), np.float32)
    lightness[:, width // 2 :] += rng.normal(0, 25, (height, width - width // 2)).astype(np.float32)
    return LoadedImage(None, np.clip(lightness, 0, 100), 8, "PNG")


def reference_of(rgb: np.ndarray) -> ReferencePhoto:
    return ReferencePhoto(None, np.ascontiguousarray(rgb, np.float32))


@pytest.fixture(scope="module")
def shipped():
    return Colorizer(None, "cpu")


def chroma(lab: np.ndarray) -> np.ndarray:
    return lab[..., 1]


def test_a_flat_red_reference_turns_the_matching_region_red(shipped):
    image = flat_and_textured()
    plain = shipped.colorize(image, ColorizeSettings(render_size=128))
    red = shipped.colorize(image, ColorizeSettings(render_size=128), reference=reference_of(np.tile(RED, (60, 80, 1))))
    flat_a = chroma(red.lab)[:, 8:56].mean()
    assert flat_a > 35 and flat_a > chroma(plain.lab)[:, 8:56].mean() + 30  # the flat half matches: red
    # the texture looks like nothing in the reference: it keeps more of the model's colour
    assert chroma(red.lab)[:, 72:120].mean() < flat_a - 10


def test_a_reference_of_another_size_and_orientation_is_read_upright(tmp_path, shipped):
    # A 300x100 photo stored on its side with EXIF orientation 6: upright it is red above, blue below.
    upright = np.zeros((300, 100, 3), np.uint8)
    upright[:150] = (220, 30, 30)
    upright[150:] = (30, 60, 220)
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # as a camera on its side stores it
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=95)
    reference = ReferencePhoto.load(path)
    assert reference.rgb.shape == (300, 100, 3)
    assert reference.rgb[20, 50, 0] > 0.7 and reference.rgb[280, 50, 2] > 0.7
    result = shipped.colorize(flat_and_textured(), ColorizeSettings(render_size=96), reference=reference)
    assert result.rgb.shape == (96, 128, 3)


def test_hints_win_over_the_reference_where_they_lie(shipped):
    image = flat_and_textured()
    reference = reference_of(np.tile(RED, (60, 80, 1)))
    hint = Hint(20, 48, a=-45.0, b=40.0)  # green, on the flat half that the reference makes red
    result = shipped.colorize(image, ColorizeSettings(render_size=128), hints=[hint], reference=reference)
    a, b = result.lab[48, 20, 1:]
    assert abs(a - hint.a) < 12 and abs(b - hint.b) < 12


def test_missing_and_unreadable_references_are_named(tmp_path):
    with pytest.raises(ImageReadError, match="file not found"):
        ReferencePhoto.load(tmp_path / "nowhere.jpg")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        ReferencePhoto.load(broken)


def test_the_reference_round_trips_through_the_sidecar_relative_to_it(tmp_path):
    photo = tmp_path / "scan.png"
    Image.fromarray(np.full((40, 60), 128, np.uint8)).save(photo)
    (tmp_path / "refs").mkdir()
    reference = tmp_path / "refs" / "colour.jpg"
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(reference)
    written = sidecar.write(photo, PhotoEdit(reference=str(reference.resolve())))
    assert json.loads(written.read_text())["reference"] == "refs/colour.jpg"  # moves with the folder
    edit = sidecar.read(written, (60, 40))
    assert sidecar.reference_path(edit, written).resolve() == reference.resolve()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other.jpg"
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(elsewhere)
    written = sidecar.write(photo, PhotoEdit(reference=str(elsewhere)))
    assert json.loads(written.read_text())["reference"] == str(elsewhere.resolve())  # outside: absolute
    with pytest.raises(sidecar.SidecarError, match="reference"):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"version": 1, "hints": [], "reference": 7}))
        sidecar.read(bad)


def test_colorize_applies_sidecar_references_and_names_missing_ones(tmp_path, capsys):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((48, 64), 120, np.uint8)).save(folder / name)
    Image.fromarray(np.tile((RED * 255).astype(np.uint8), (48, 64, 1))).save(folder / "red.jpg", quality=95)
    (folder / "a.png.autochrome.json").write_text(json.dumps({"version": 1, "reference": "red.jpg"}))
    (folder / "b.png.autochrome.json").write_text(json.dumps({"version": 1, "reference": "gone.jpg"}))
    assert main(["colorize", str(folder / "a.png"), str(folder / "b.png"), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert "gone.jpg" in captured.err and captured.err.count("warning") == 1
    assert "1 with colours from a reference photo" in captured.out
    with Image.open(out / "a.png") as a, Image.open(out / "b.png") as b:
        red_a = color.rgb_to_lab(np.asarray(a.convert("RGB"), np.float32) / 255)[..., 1].mean()
        plain_a = color.rgb_to_lab(np.asarray(b.convert("RGB"), np.float32) / 255)[..., 1].mean()
    assert red_a > plain_a + 20
    # --reference gives every photo of the run the same reference, over their sidecars'.
    assert main(["colorize", str(folder / "b.png"), "-o", str(tmp_path / "out2"), "--reference",
                 str(folder / "red.jpg")]) == 0
    assert "1 with colours from a reference photo" in capsys.readouterr().out
    assert main(["colorize", str(folder / "b.png"), "-o", str(tmp_path / "out3"), "--reference",
                 str(folder / "missing.jpg")]) == 0  # named, and the photo is colorized without it
    assert "missing.jpg" in capsys.readouterr().err


def test_matching_runs_at_a_bounded_size_whatever_the_render_size(tiny_model, monkeypatch):
    """Issue 27.8: at render size 2048 one similarity matrix was about 9.7 GB."""
    from autochrome.engine import reference as matching

    sizes = []
    real_match = matching.match

    def spy(features, lightness, prepared):
        sizes.append((lightness.shape, len(prepared.ab)))
        return real_match(features, lightness, prepared)

    monkeypatch.setattr(matching, "match", spy)
    colorizer = Colorizer(tiny_model, "cpu")
    rng = np.random.default_rng(1)
    reference = reference_of(rng.random((1200, 1800, 3)))
    image = LoadedImage(None, np.full((1365, 2048), 50.0, np.float32), 8, "PNG")
    result = colorizer.colorize(image, ColorizeSettings(render_size=2048), reference=reference)
    (shape, reference_cells), = sizes
    assert max(shape) == matching.MATCH_SIZE and reference_cells <= (matching.MATCH_SIZE // matching.MATCH_STRIDE) ** 2
    assert result.ab_small.shape[:2] == (1365, 2048)


def test_a_large_reference_is_kept_small_and_the_history_counts_it(tmp_path):
    """Issue 27.9: references were kept whole as float32 (up to 1.44 GB) and not counted."""
    from autochrome.desktop.history import History, HistoryEntry
    from autochrome.engine import reference as matching

    path = tmp_path / "big.png"
    Image.fromarray(np.full((1500, 3000, 3), 200, np.uint8)).save(path)
    kept = ReferencePhoto.load(path)
    assert kept.rgb.shape == (matching.KEPT_SIZE // 2, matching.KEPT_SIZE, 3) and kept.nbytes == kept.rgb.nbytes
    entry = HistoryEntry(reply=type("R", (), {"rgb": None, "result_display": None, "original_display": None,
                                              "image": None})(), title="t", model_name="m", settings={},
                         reference=kept)
    history = History()
    history.add(entry)
    assert history.bytes_kept == kept.nbytes
