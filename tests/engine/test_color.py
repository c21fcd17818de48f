import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autochrome.engine import color

skimage_color = pytest.importorskip("skimage.color")


def test_lab_matches_scikit_image_reference():
    rng = np.random.default_rng(1)
    rgb = rng.random((64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(color.rgb_to_lab(rgb), skimage_color.rgb2lab(rgb), atol=0.02)
    lab = skimage_color.rgb2lab(rgb)
    np.testing.assert_allclose(color.lab_to_rgb(lab), skimage_color.lab2rgb(lab), atol=1e-3)


@pytest.mark.parametrize(
    "rgb, lab",
    [
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.24, 80.09, 67.20)),
        ((0.0, 0.0, 1.0), (32.30, 79.19, -107.86)),
    ],
)
def test_known_values(rgb, lab):
    np.testing.assert_allclose(color.rgb_to_lab(np.array(rgb, np.float32)), lab, atol=0.05)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, (4, 5, 3), elements=st.floats(0, 1, width=32)))
def test_round_trip_rgb_lab_rgb(rgb):
    np.testing.assert_allclose(color.lab_to_rgb(color.rgb_to_lab(rgb)), rgb, atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float32, (3, 7), elements=st.floats(0, 1, width=32)))
def test_grey_lightness_agrees_with_full_conversion(grey):
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    lab = color.rgb_to_lab(rgb)
    np.testing.assert_allclose(color.grey_to_lightness(grey), lab[..., 0], atol=1e-3)
    np.testing.assert_allclose(color.lightness_of_srgb(rgb), lab[..., 0], atol=1e-3)
    # A grey pixel has no chroma.
    assert np.abs(lab[..., 1:]).max() < 0.05


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(2)
    rgb = rng.random((2, 8, 8, 3)).astype(np.float32)
    tensor = torch.from_numpy(rgb).permute(0, 3, 1, 2)
    lab_t = color.torch_rgb_to_lab(tensor).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(lab_t, color.rgb_to_lab(rgb), atol=1e-3)
    back = color.torch_lab_to_rgb(color.torch_rgb_to_lab(tensor))
    np.testing.assert_allclose(back.numpy(), tensor.numpy(), atol=1e-3)


def test_network_scaling_is_invertible():
    values = np.array([0.0, 50.0, 100.0], np.float32)
    np.testing.assert_allclose(color.normalize_l(values), [-1, 0, 1])
    np.testing.assert_allclose(color.denormalize_l(color.normalize_l(values)), values)
    np.testing.assert_allclose(color.denormalize_ab(color.normalize_ab(np.float32(37.0))), 37.0)
