"""Where a hint's colour goes (issue 17): the object it is on, not whatever shares its lightness.

Synthetic scenes for the shipped model and its affinity head: a flat, sky-like background and
objects that differ from it in texture or outline but not in mean lightness, the case the old
lightness-only spreading leaked through."""

import numpy as np
import pytest

from autochrome.engine.colorizer import Colorizer
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.hints import Hint
from autochrome.engine.image_io import LoadedImage
from tests.conftest import make_model_file

RED, BLUE = (55.0, 35.0), (-5.0, -45.0)


def scene(width=384, height=256, seed=0):
    """A smooth sky (L 62-72 from top to bottom) with a small textured kite and, lower right,
    a larger textured object darker than the sky."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    lightness = 62 + 10 * y / height
    kite = (np.abs(x - 80) + np.abs(y - 70)) < 18
    lightness[kite] = 67 + rng.normal(0, 12, kite.sum())
    box = (x > 250) & (x < 340) & (y > 150) & (y < 230)
    lightness[box] = 45 + rng.normal(0, 8, box.sum())
    return LoadedImage(None, np.clip(lightness, 0, 100).astype(np.float32), 8, "PNG"), kite, box


@pytest.fixture(scope="module")
def shipped():
    return Colorizer(None, "cpu")


def change(before, after):
    return np.hypot(*(after.lab[..., 1:] - before.lab[..., 1:]).transpose(2, 0, 1))


def test_a_hint_on_a_small_object_leaves_far_sky_of_its_lightness_alone(shipped):
    image, kite, _ = scene()
    settings = ColorizeSettings()
    before = shipped.colorize(image, settings)
    after = shipped.colorize(image, settings, hints=[Hint(80, 70, *RED)])
    moved = change(before, after)
    assert moved[kite].mean() > 15  # the kite took the colour
    far_sky = np.zeros_like(kite)
    far_sky[:, 200:] = True  # sky more than 100 px away, of the kite's mean lightness
    far_sky[150:230, 250:340] = False
    assert moved[far_sky].mean() < 1.0


def test_two_hints_on_two_objects_keep_their_own_colours(shipped):
    image, kite, box = scene()
    result = shipped.colorize(image, ColorizeSettings(), hints=[Hint(80, 70, *RED), Hint(295, 190, *BLUE)])
    kite_ab = result.lab[kite][:, 1:].mean(axis=0)
    box_ab = result.lab[box][:, 1:].mean(axis=0)
    assert np.hypot(*(kite_ab - RED)) < np.hypot(*(kite_ab - BLUE)) - 20
    assert np.hypot(*(box_ab - BLUE)) < np.hypot(*(box_ab - RED)) - 20


@pytest.mark.parametrize("reach, share", [(None, 0.5), (0.8, 0.75)])
def test_a_hint_on_a_large_flat_region_fills_it(shipped, reach, share):
    """The default reach fills the sky for a third of the photo around the click; Reach: Far,
    the whole of it (but for the far corner)."""
    image, kite, box = scene()
    settings = ColorizeSettings() if reach is None else ColorizeSettings(reach=reach)
    before = shipped.colorize(image, settings)
    after = shipped.colorize(image, settings, hints=[Hint(300, 40, *BLUE)])
    y, x = np.mgrid[0:256, 0:384]
    sky = ~(kite | box) & (np.hypot(x - 300, y - 40) < (130 if reach is None else 300))
    asked = np.float32(BLUE)
    start = np.hypot(*(before.lab[sky][:, 1:] - asked).T).mean()
    end = np.hypot(*(after.lab[sky][:, 1:] - asked).T).mean()
    assert end < (1 - share) * start


def test_models_without_a_hint_input_take_hints_through_the_spreading(tmp_path):
    from tests.conftest import TINY_PIX2PIX

    colorizer = Colorizer(make_model_file(tmp_path / "old.safetensors", TINY_PIX2PIX), "cpu")
    image, kite, _ = scene(128, 96)
    settings = ColorizeSettings(render_size=128)
    before = colorizer.colorize(image, settings)
    after = colorizer.colorize(image, settings, hints=[Hint(20, 20, *RED)])
    assert change(before, after)[15:25, 15:25].mean() > 10


def test_an_affinity_head_may_read_the_deepest_features_and_old_files_still_load(tmp_path):
    import json

    import torch

    from autochrome.engine.networks.affinity import AffinityConfig, AffinityHead
    from autochrome.engine.weights import load_affinity_head, save_affinity_head

    # A file written before heads chose their taps has no "taps": it reads strides 4-16.
    old = json.loads(AffinityConfig(tap_channels=(24, 48, 120)).to_json())
    del old["taps"]
    assert AffinityConfig.from_json(json.dumps(old)).taps == (1, 2, 3)

    torch.manual_seed(0)
    deep = AffinityHead(AffinityConfig(tap_channels=(4, 6, 8, 10), width=8, dimensions=3, taps=(1, 2, 3, 4)))
    features = [torch.randn(1, c, 64 // s, 64 // s) for c, s in ((2, 2), (4, 4), (6, 8), (8, 16), (10, 32))]
    lightness = torch.rand(1, 1, 64, 64)
    save_affinity_head(tmp_path / "deep.safetensors", deep)
    loaded = load_affinity_head(tmp_path / "deep.safetensors")
    assert loaded.config.taps == (1, 2, 3, 4)
    # The file keeps what the head computes (stored as float16).
    assert torch.allclose(loaded(features, lightness), deep(features, lightness), atol=2e-2)
    with pytest.raises(ValueError):
        AffinityConfig(tap_channels=(4, 6), taps=(3, 1))
    with pytest.raises(ValueError):
        AffinityConfig(tap_channels=(4, 6, 8), taps=(1, 2))
