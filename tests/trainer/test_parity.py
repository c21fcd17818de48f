"""Training sees what the app sees (issue 24): the cached features of a view are the live
encoder's on that view as the app reads it, and the colour the trained decoder gives those
features is the colour the app's pipeline produces for the view."""

import numpy as np
import torch
from PIL import Image

from autochrome.engine import color
from autochrome.engine.device import cpu_choice
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.image_io import load_image
from autochrome.engine.networks import build_generator
from autochrome.engine.networks.ab_classes import in_gamut_ab_bins
from autochrome.engine.pipeline import ModelPredictor, colorize
from autochrome.trainer.feature_cache import CacheSpec, build_cache, digest
from autochrome.trainer.photos import load_photo_set
from autochrome.trainer.session import PRESET_CONFIGS

VIEW = 64


def _classifier():
    torch.manual_seed(0)
    config = PRESET_CONFIGS["hints-lite0-classes"]
    model = build_generator(config)
    model.ab_centres.copy_(torch.tensor(in_gamut_ab_bins()))
    for module in model.modules():  # running statistics that are not the identity, as a trained model has
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval(), config


def _photos(folder, count=3):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        y, x = np.mgrid[0:90, 0:120] / 90.0
        rgb = np.stack([x, y, 1 - x], -1) * rng.uniform(0.4, 1.0, 3) + rng.normal(0, 0.05, (90, 120, 3))
        Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(folder / f"p{index}.png")
    return folder


def test_cached_features_and_the_trained_colour_are_the_apps_for_the_same_view(tmp_path):
    model, config = _classifier()
    photos, _ = load_photo_set(_photos(tmp_path / "photos"), round(VIEW * 1.25), min_side=VIEW)
    spec = CacheSpec(config.encoder, VIEW, False, 0, len(photos), digest(photos))
    cache = build_cache(tmp_path / "cache", photos, model.encoder, spec, torch.device("cpu"))
    indices = np.arange(len(cache))
    cached, views = cache.batch(indices, torch.device("cpu"))
    predictor = ModelPredictor(model, cpu_choice())
    for row in indices:
        view = views[row].numpy()
        # What the app would read from this view saved as a file: a colour photo's lightness.
        path = tmp_path / f"view{row}.png"
        Image.fromarray(view).save(path)
        image = load_image(path)
        app_l = torch.from_numpy(color.normalize_l(image.lightness))[None, None]
        with torch.inference_mode():
            live = model.encode(app_l)
            for tap in range(1, 5):
                scale = float(live[tap].abs().max())
                assert float((live[tap][0] - cached[tap][row]).abs().max()) <= 2e-3 * scale + 1e-3, tap
            # The trainer decodes the cached features with the L it computed from the view.
            train_l = torch.from_numpy(color.normalize_l(color.rgb_to_lab(view / np.float32(255))[..., 0]))[None, None]
            trained = model.decode([None] + [feature[row : row + 1] for feature in cached[1:]], train_l, None)
            trained_ab = color.denormalize_ab(model.to_ab(trained))[0].permute(1, 2, 0).numpy()
        result = colorize(image, predictor, ColorizeSettings(render_size=VIEW))
        assert result.ab_small.shape == (VIEW, VIEW, 2)
        assert np.abs(result.ab_small - trained_ab).max() < 0.05  # ab units: the same colour
        # ... and that is the colour of the saved result, up to the sRGB gamut.
        lab = color.rgb_to_lab(result.rgb)
        inside = color.lab_to_rgb(np.dstack([image.lightness, trained_ab])).clip(0.001, 0.999)
        same = (inside == color.lab_to_rgb(np.dstack([image.lightness, trained_ab]))).all(-1)
        assert np.abs(lab[..., 1:][same] - trained_ab[same]).max() < 1.0

