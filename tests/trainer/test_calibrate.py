import numpy as np
import torch
from PIL import Image

from engine import color
from engine.device import cpu_choice
from trainer.calibrate import calibrate_gain


class ScaledTruth(torch.nn.Module):
    """Knows each photo's true ab (found by its mean L) and outputs it times `strength`."""

    def __init__(self, photos: np.ndarray, strength: float):
        super().__init__()
        lab = color.rgb_to_lab(photos.astype(np.float32) / 255.0)
        self.mean_l = torch.from_numpy(color.normalize_l(lab[..., 0])).flatten(1).mean(1)
        self.ab = torch.from_numpy(color.normalize_ab(lab[..., 1:])).permute(0, 3, 1, 2)
        self.strength = strength

    def forward(self, lightness):
        rows = [int(torch.argmin((self.mean_l - one.mean()).abs())) for one in lightness]
        return self.ab[rows] * self.strength


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
    exact = calibrate_gain(ScaledTruth(photos, 1.0), 32, paths, cpu_choice())
    assert abs(exact.gain - 1.0) < 0.02 and exact.photos == 6
    weak = calibrate_gain(ScaledTruth(photos, 0.5), 32, paths, cpu_choice())
    assert 1.8 < weak.gain < 2.1
    assert abs(weak.output_colourfulness - weak.truth_colourfulness) < 0.5
    strong = calibrate_gain(ScaledTruth(photos, 1.6), 32, paths, cpu_choice())
    assert 0.55 < strong.gain < 0.7
