import numpy as np
import torch

from engine import color
from trainer.calibrate import calibrate_gain


class ScaledTruth(torch.nn.Module):
    """Knows each photo's true ab (looked up by its L) and outputs it times `strength`."""

    def __init__(self, photos: np.ndarray, strength: float):
        super().__init__()
        lab = color.rgb_to_lab(photos.astype(np.float32) / 255.0)
        self.lightness = torch.from_numpy(color.normalize_l(lab[..., 0]))
        self.ab = torch.from_numpy(color.normalize_ab(lab[..., 1:])).permute(0, 3, 1, 2)
        self.strength = strength

    def forward(self, lightness):
        rows = [int(torch.argmin((self.lightness - one[0]).abs().flatten(1).mean(1))) for one in lightness]
        return self.ab[rows] * self.strength


def colour_photos(count=6, side=32):
    rng = np.random.default_rng(0)
    base = rng.random((count, 1, 1, 3)) * 0.6 + 0.2
    texture = rng.random((count, side, side, 1)) * 0.3
    return ((base + texture).clip(0, 1) * 255).astype(np.uint8)


def test_gain_undoes_a_too_strong_or_too_weak_model():
    photos = colour_photos()
    exact = calibrate_gain(ScaledTruth(photos, 1.0), photos, torch.device("cpu"), stride=32, every=1)
    assert abs(exact.gain - 1.0) < 0.02
    weak = calibrate_gain(ScaledTruth(photos, 0.5), photos, torch.device("cpu"), stride=32, every=1)
    assert 1.8 < weak.gain < 2.1
    assert abs(weak.output_colourfulness - weak.truth_colourfulness) < 0.5
    strong = calibrate_gain(ScaledTruth(photos, 1.6), photos, torch.device("cpu"), stride=32, every=1)
    assert 0.55 < strong.gain < 0.7
