import numpy as np
import torch
from PIL import Image

from autochrome.engine import color
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.pipeline import ModelPredictor, colorize
from autochrome.engine.device import cpu_choice
from autochrome.engine.networks import GeneratorConfig
from autochrome.trainer.calibrate import calibrate_strength
from autochrome.trainer.metrics import colourfulness

REGRESSION = GeneratorConfig(architecture="pix2pix", pix2pix_downs=5, pix2pix_filters=4)  # stride 32
CLASSIFIER = GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(8, 8, 8), ab_classes=4, output_stride=4)


class ScaledTruth(torch.nn.Module):
    """Knows each photo's true ab (found by its mean L) and outputs it times `strength`."""

    has_encoder = False

    def __init__(self, photos: np.ndarray, strength: float):
        super().__init__()
        self.config = REGRESSION
        lab = color.rgb_to_lab(photos.astype(np.float32) / 255.0)
        self.mean_l = torch.from_numpy(color.normalize_l(lab[..., 0])).flatten(1).mean(1)
        self.ab = torch.from_numpy(color.normalize_ab(lab[..., 1:])).permute(0, 3, 1, 2)
        self.strength = strength

    def encode(self, lightness):
        return []

    def decode(self, features, lightness, hints=None):
        rows = [int(torch.argmin((self.mean_l - one.mean()).abs())) for one in lightness]
        return self.ab[rows] * self.strength

    def to_ab(self, decoded, temperature=None, gain=True, lightness=None):
        return decoded


def colour_photos(tmp_path, count=6, side=32):
    rng = np.random.default_rng(0)
    base = rng.random((count, 1, 1, 3)) * 0.6 + 0.2
    texture = rng.random((count, side, side, 1)) * 0.3
    photos = ((base + texture).clip(0, 1) * 255).astype(np.uint8)
    paths = []
    for index, photo in enumerate(photos):
        paths.append(tmp_path / f"p{index}.png")
        Image.fromarray(photo).save(paths[-1])
    (tmp_path / "broken.png").write_bytes(b"not a photo")
    return photos, paths + [tmp_path / "broken.png"]


def test_gain_undoes_a_too_strong_or_too_weak_model(tmp_path):
    photos, paths = colour_photos(tmp_path)
    exact = calibrate_strength(ScaledTruth(photos, 1.0), REGRESSION, paths, cpu_choice())
    assert exact.knob == "ab_gain" and abs(exact.value - 1.0) < 0.02 and exact.photos == 6
    weak = calibrate_strength(ScaledTruth(photos, 0.5), REGRESSION, paths, cpu_choice())
    assert 1.8 < weak.value < 2.1 and weak.config.ab_gain == weak.value
    assert abs(weak.output_colourfulness - weak.truth_colourfulness) < 0.5
    strong = calibrate_strength(ScaledTruth(photos, 1.6), REGRESSION, paths, cpu_choice())
    assert 0.55 < strong.value < 0.7
    half = calibrate_strength(ScaledTruth(photos, 1.0), REGRESSION, paths, cpu_choice(), share=0.5)
    assert 0.45 < half.value < 0.55


class FixedBeliefs(torch.nn.Module):
    """A classifier that always believes 'red' most (logit 2) among four ab bins."""

    has_encoder = True

    def __init__(self):
        super().__init__()
        self.config = CLASSIFIER
        self.register_buffer("ab_centres", torch.tensor([[60.0, 20.0], [-60.0, 0.0], [0.0, 60.0], [0.0, -60.0]]))

    def encode(self, lightness):
        return [lightness]

    def decode(self, features, lightness, hints=None):
        n, _, h, w = lightness.shape
        logits = torch.zeros(n, 4, h // 4, w // 4)
        logits[:, 0] = 2.0
        return logits

    def to_ab(self, decoded, temperature=None, lightness=None):
        from autochrome.engine.networks.ab_classes import annealed_mean

        ab = annealed_mean(decoded, self.ab_centres, temperature or self.config.temperature)
        return torch.nn.functional.interpolate(ab, scale_factor=4)


def test_temperature_is_calibrated_for_a_classifier(tmp_path):
    _, paths = colour_photos(tmp_path)
    model = FixedBeliefs()
    truth = np.mean([colourfulness(np.asarray(Image.open(p), np.float32) / 255) for p in paths[:-1]])
    from autochrome.engine.image_io import load_image

    at_half = np.mean([colourfulness(colorize(load_image(p), ModelPredictor(model, cpu_choice()),
                                              ColorizeSettings(temperature=0.5)).rgb) for p in paths[:-1]])
    result = calibrate_strength(model, CLASSIFIER, paths, cpu_choice(), share=at_half / truth, knob="temperature")
    assert result.knob == "temperature" and abs(result.value - 0.5) < 0.03
    assert result.config.temperature == result.value


def test_a_classifier_can_keep_its_temperature_and_calibrate_its_gain(tmp_path):
    _, paths = colour_photos(tmp_path)
    result = calibrate_strength(FixedBeliefs(), CLASSIFIER, paths, cpu_choice(), share=0.9)
    assert result.knob == "ab_gain" and result.config.temperature == CLASSIFIER.temperature
    assert abs(result.output_colourfulness - 0.9 * result.truth_colourfulness) < 0.5
