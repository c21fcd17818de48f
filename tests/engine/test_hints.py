import numpy as np
import pytest
import torch
from PIL import Image

from autochrome.engine import color
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.pipeline import EncoderMemo, predict_ab
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.device import cpu_choice
from autochrome.engine.hints import HINT_PATCH, Hint, HintError, hint_map, render_position
from autochrome.engine.image_io import LoadedImage, load_image
from autochrome.engine.networks import GeneratorConfig, build_generator
from autochrome.engine.propagation import propagate
from tests.conftest import TINY_HINTED, make_model_file


def _two_regions(width=96, height=64):
    """Left half dark, right half light: one strong edge down the middle."""
    lightness = np.full((height, width), 30.0, np.float32)
    lightness[:, width // 2 :] = 75.0
    return LoadedImage(None, lightness, 8, "PNG")


def test_hint_from_hex_keeps_only_chroma_and_rejects_bad_colours():
    hint = Hint.from_hex(3, 4, "#7a5230")
    lab = color.rgb_to_lab(np.float32([[[0x7A / 255, 0x52 / 255, 0x30 / 255]]]))[0, 0]
    assert (hint.a, hint.b) == pytest.approx((lab[1], lab[2]), abs=1e-3)
    for bad in ("#12345", "red", "#gg0000", ""):
        with pytest.raises(HintError):
            Hint.from_hex(0, 0, bad)
    with pytest.raises(HintError):
        Hint(float("nan"), 0, 1, 1)
    with pytest.raises(HintError):
        Hint.from_rgb(0, 0, (1.2, 0, 0))


def test_hint_map_encodes_ab_and_mask_at_the_render_position():
    hint = Hint(x=300, y=100, a=55.0, b=-22.0)
    encoded = hint_map([hint], full_size=(600, 400), small_size=(150, 100))
    column, row = render_position(hint, (600, 400), (150, 100))
    assert (column, row) == (75, 25)
    assert encoded.shape == (3, 100, 150)
    half = HINT_PATCH // 2
    patch = encoded[:, row - half : row + half + 1, column - half : column + half + 1]
    np.testing.assert_allclose(patch[0], 55.0 / color.AB_SCALE)
    np.testing.assert_allclose(patch[1], -22.0 / color.AB_SCALE)
    np.testing.assert_array_equal(patch[2], 1.0)
    assert encoded[2].sum() == HINT_PATCH**2  # nothing outside the patch


def test_render_size_change_keeps_the_hint_on_the_same_place_of_the_photo():
    hint = Hint(x=451, y=37, a=10, b=10)
    for small in ((256, 171), (512, 341), (96, 64)):
        column, row = render_position(hint, (768, 512), small)
        assert abs(column / small[0] - 451 / 768) <= 1 / small[0]
        assert abs(row / small[1] - 37 / 512) <= 1 / small[1]


def test_hint_changes_colour_where_it_lies_and_less_far_away(tiny_model):
    colorizer = Colorizer(tiny_model, "cpu")  # pix2pix: no hint input, hints by propagation
    image = _two_regions()
    plain = colorizer.colorize(image, ColorizeSettings(render_size=96))
    hinted = colorizer.colorize(image, ColorizeSettings(render_size=96), hints=[Hint(10, 32, a=60.0, b=40.0)])
    change = np.hypot(*(hinted.lab[..., 1:] - plain.lab[..., 1:]).transpose(2, 0, 1))
    # The model's own texture stays; the hint's patch takes the hint's colour on average.
    assert hinted.lab[31:34, 9:12, 1:].mean(axis=(0, 1)) == pytest.approx([60.0, 40.0], abs=2.0)
    near, same_region_far, across_edge = change[32, 12], change[60, 40], change[32, 80]
    assert near > 20 and near > same_region_far > across_edge
    assert across_edge < 5  # the edge stops the colour
    np.testing.assert_array_equal(hinted.lab[..., 0], image.lightness)  # the photo keeps its lightness


def test_hints_follow_the_upright_photo_of_an_exif_rotated_file(tmp_path, tiny_model):
    # Stored sideways (orientation 6: rotate 90 degrees clockwise to view): the light square
    # is at the top right of the upright photo.
    upright = np.full((60, 80), 40, np.uint8)
    upright[5:25, 55:75] = 200
    stored = Image.fromarray(np.rot90(upright, k=1))  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(tmp_path / "turned.jpg", exif=exif.tobytes(), quality=95)
    image = load_image(tmp_path / "turned.jpg")
    assert image.size == (80, 60)
    colorizer = Colorizer(tiny_model, "cpu")
    plain = colorizer.colorize(image, ColorizeSettings(render_size=64))
    result = colorizer.colorize(image, ColorizeSettings(render_size=64), hints=[Hint(65, 15, a=-50.0, b=50.0)])
    inside = result.lab[8:22, 58:72, 1:].mean(axis=(0, 1))
    outside = np.abs(result.lab[40:55, 5:30, 1:] - plain.lab[40:55, 5:30, 1:]).mean()
    assert inside[0] < -30 and inside[1] > 30 and outside < 5  # the hint's colour is (-50, 50)


def test_hints_outside_the_photo_are_refused(tiny_model):
    with pytest.raises(HintError, match="outside"):
        Colorizer(tiny_model, "cpu").colorize(_two_regions(), hints=[Hint(200, 5, 1, 1)])


def test_a_hint_taking_model_sees_the_hint_map():
    torch.manual_seed(0)
    model = build_generator(TINY_HINTED).eval()
    model.ab_centres.copy_(torch.tensor([[-40.0, 0], [40.0, 0], [0, -40.0], [0, 40.0]]))
    lightness = _two_regions().lightness
    hints = hint_map([Hint(20, 20, 60.0, 0.0)], (96, 64), (96, 64))
    without = predict_ab(model, lightness, 32, cpu_choice())
    with_hint = predict_ab(model, lightness, 32, cpu_choice(), hints)
    assert np.abs(with_hint - without).max() > 1e-3


def test_hint_edits_reuse_the_encoder_features_of_the_same_photo(monkeypatch, tmp_path):
    path = make_model_file(tmp_path / "hinted.safetensors", TINY_HINTED)
    colorizer = Colorizer(path, "cpu")
    calls = []
    original = colorizer.model.encode
    monkeypatch.setattr(colorizer.model, "encode", lambda x: calls.append(1) or original(x))
    image = _two_regions()
    colorizer.colorize(image, ColorizeSettings(render_size=96))
    colorizer.colorize(image, ColorizeSettings(render_size=96), hints=[Hint(5, 5, 20, 20)])
    colorizer.colorize(image, ColorizeSettings(render_size=96), hints=[Hint(50, 5, 20, 20)])
    assert len(calls) == 1
    colorizer.colorize(_two_regions(), ColorizeSettings(render_size=96))  # another photo object
    colorizer.colorize(image, ColorizeSettings(render_size=64))  # another render size
    assert len(calls) == 3


def test_memo_never_serves_another_model():
    memo = EncoderMemo()
    a, b = build_generator(TINY_HINTED).eval(), build_generator(TINY_HINTED).eval()
    x = torch.zeros(1, 1, 32, 32)
    owner = object()
    with torch.no_grad():
        first = memo.features(a, x, owner, "k")
        assert memo.features(a, x, owner, "k") is first
        assert memo.features(b, x, owner, "k") is not first


def test_propagation_without_hints_is_nothing_and_with_one_fills_its_side_only():
    lightness = _two_regions().lightness
    painted, strength = propagate(lightness, [])
    assert not strength.any()
    painted, strength = propagate(lightness, [(slice(30, 33), slice(60, 63), np.float32([10.0, -5.0]))])
    assert painted[31, 61] == pytest.approx([10.0, -5.0], abs=0.5) and strength[31, 61] == pytest.approx(1.0)
    assert strength[:, :40].max() < 0.05  # the other side of the edge


def test_the_encoder_memo_does_not_keep_a_photo_alive(tiny_hint_model):
    """Issue 19, 2.7: the memo held the photo itself, outside the history's memory budget."""
    import gc
    import weakref

    colorizer = Colorizer(tiny_hint_model, "cpu")
    image = _two_regions()
    colorizer.colorize(image, ColorizeSettings(render_size=64), hints=[Hint(5, 5, 20, 20)])
    gone = weakref.ref(image)
    del image
    gc.collect()
    assert gone() is None


def test_a_hint_gives_its_own_object_its_colour_not_a_shift_of_the_models():
    """The model's colour varies across the right half (a muted gradient); one hint there makes
    the whole half the hint's colour, where shifting by the difference at the click would have
    kept the gradient; the left half, across the edge, keeps the model's colour."""
    from autochrome.engine.device import cpu_choice
    from autochrome.engine.pipeline import ModelPredictor

    lightness = _two_regions().lightness
    model_ab = np.zeros(lightness.shape + (2,), np.float32)
    model_ab[..., 0] = np.linspace(-15, 15, lightness.shape[1])[None, :]
    predictor = ModelPredictor(build_generator(TINY_HINTED).eval(), cpu_choice())
    asked = np.float32([30.0, 20.0])
    ab = predictor.spread(lightness, model_ab, [(slice(30, 33), slice(70, 73), asked)],
                          ColorizeSettings(reach=0.5))
    right = ab[:, 56:]
    # A shift would have kept the model's 14-unit gradient across this part; the hint's colour
    # leaves almost none of it.
    assert np.abs(right - asked).max() < 2.0
    assert np.ptp(right[..., 0]) < 1.5
    # Across the edge, lightness alone (no affinity head here) lets a tenth at most through.
    changed = np.hypot(*(ab - model_ab).transpose(2, 0, 1))
    assert changed[:, :40].mean() < 0.1 * changed[:, 56:].mean()
