import numpy as np
import pytest

from engine import color
from trainer import metrics

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
