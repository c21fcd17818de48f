import numpy as np
import pytest

from autochrome.engine import color
from autochrome.trainer import metrics

skimage = pytest.importorskip("skimage")
from skimage.color import deltaE_ciede2000  # noqa: E402
from skimage.metrics import peak_signal_noise_ratio, structural_similarity  # noqa: E402


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.random((48, 64, 3)).astype(np.float32)
    output = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32)
    return output, truth


def test_psnr_and_ssim_match_scikit_image():
    output, truth = _pair()
    assert metrics.psnr(output, truth) == pytest.approx(peak_signal_noise_ratio(truth, output, data_range=1.0), abs=1e-3)
    reference = structural_similarity(truth, output, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False)
    assert metrics.ssim(output, truth) == pytest.approx(reference, abs=0.02)


def test_ciede2000_matches_scikit_image():
    output, truth = _pair(1)
    lab1, lab2 = color.rgb_to_lab(output), color.rgb_to_lab(truth)
    np.testing.assert_allclose(metrics.ciede2000(lab1, lab2), deltaE_ciede2000(lab1, lab2), atol=1e-3)


def test_colourfulness_is_zero_for_grey_and_grows_with_colour():
    grey = np.repeat(np.random.default_rng(0).random((20, 20, 1)), 3, axis=2)
    assert metrics.colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    output, truth = _pair()
    assert metrics.colourfulness(truth) > metrics.colourfulness(0.5 * truth + 0.25) > 0


def test_lightness_error_is_zero_for_the_truth():
    _, truth = _pair()
    assert metrics.all_metrics(truth, truth)["l_error"] < 1e-3


def test_training_and_evaluation_read_photos_as_the_app_does(tmp_path, monkeypatch):
    # Finding 9: training and evaluation read pixels as 8-bit sRGB, ignoring colour profiles
    # and 16-bit precision, while the app converted them.
    import cv2
    from PIL import Image

    from autochrome.engine import image_io
    from autochrome.trainer.evaluate import truth_rgb
    from autochrome.trainer.photos import load_square

    rgb16 = (np.random.default_rng(0).random((20, 24, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), rgb16[..., ::-1])
    np.testing.assert_allclose(truth_rgb(tmp_path / "deep.png"), rgb16 / 65535.0, atol=1e-5)

    profiles_applied = []
    real = image_io._to_srgb
    monkeypatch.setattr(image_io, "_to_srgb", lambda image, notes: profiles_applied.append(image.mode) or real(image, notes))
    Image.fromarray((rgb16 >> 8).astype(np.uint8)).save(tmp_path / "icc.jpg", quality=95, icc_profile=b"x" * 200)
    assert load_square(tmp_path / "icc.jpg", 16).shape == (16, 16, 3)
    truth_rgb(tmp_path / "icc.jpg")
    assert profiles_applied == ["RGB", "RGB"]
