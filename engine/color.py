"""sRGB <-> CIE Lab (D65) for numpy arrays and torch tensors.

This is the only module that knows the network's Lab scaling: the generator
sees L/50 - 1 (so L in [0, 100] maps to [-1, 1]) and predicts ab/AB_SCALE.
Everything else converts through the helpers here.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used, so numpy-only callers start fast
    import torch

L_SCALE = 50.0
L_OFFSET = 1.0
AB_SCALE = 110.0

# sRGB primaries with the D65 white point (IEC 61966-2-1).
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    dtype=np.float64,
)
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883], dtype=np.float64)

_EPSILON = 216.0 / 24389.0  # CIE standard (6/29)^3
_KAPPA = 24389.0 / 27.0


# --------------------------------------------------------------------- numpy


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB floats in [0, 1], shape (..., 3) -> Lab, L in [0, 100]."""
    xyz = srgb_to_linear(rgb) @ _RGB_TO_XYZ.T.astype(np.float32)
    xyz = xyz / _D65_WHITE.astype(np.float32)
    f = np.where(xyz > _EPSILON, np.cbrt(xyz), (_KAPPA * xyz + 16.0) / 116.0)
    lightness = 116.0 * f[..., 1] - 16.0
    a = 500.0 * (f[..., 0] - f[..., 1])
    b = 200.0 * (f[..., 1] - f[..., 2])
    return np.stack([lightness, a, b], axis=-1).astype(np.float32)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """Lab (..., 3) -> sRGB floats clipped to [0, 1].

    OpenCV's float conversion uses the same D65 white and sRGB curve (within 4e-4 of the
    exact formula) and is about 50 times faster, which matters at 24 megapixels.
    """
    lab = np.ascontiguousarray(lab, dtype=np.float32)
    shape = lab.shape
    if lab.ndim != 3:
        lab = lab.reshape(-1, 1, 3)
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    return rgb.reshape(shape)


def lightness_of_srgb(rgb: np.ndarray) -> np.ndarray:
    """L channel only: cheaper than a full conversion for big photos.

    uint8 and uint16 input goes through a lookup table of linear values.
    """
    if rgb.ndim == 3 and rgb.shape[0] * rgb.shape[1] > _BAND_PIXELS:
        # Band by band: the float copies of a 100-megapixel photo would take gigabytes at once.
        rows = max(1, _BAND_PIXELS // rgb.shape[1])
        return np.concatenate([lightness_of_srgb(rgb[start:start + rows]) for start in range(0, rgb.shape[0], rows)])
    if rgb.dtype in (np.uint8, np.uint16):
        top = np.iinfo(rgb.dtype).max
        linear = _linear_table(top)[rgb]
    else:
        linear = srgb_to_linear(rgb)
    weights = _RGB_TO_XYZ[1].astype(np.float32)
    y = linear[..., 0] * weights[0]
    y += linear[..., 1] * weights[1]
    y += linear[..., 2] * weights[2]
    return luminance_to_lightness(y)


_BAND_PIXELS = 4_000_000


@functools.lru_cache(maxsize=2)
def _linear_table(top: int) -> np.ndarray:
    return srgb_to_linear(np.arange(top + 1, dtype=np.float32) / top)


def luminance_to_lightness(y: np.ndarray) -> np.ndarray:
    """Relative luminance Y (white = 1) -> L in [0, 100]."""
    y = np.asarray(y, dtype=np.float32)
    f = np.where(y > _EPSILON, np.cbrt(y), (_KAPPA * y + 16.0) / 116.0)
    return (116.0 * f - 16.0).astype(np.float32)


def lightness_to_grey_rgb(lightness: np.ndarray) -> np.ndarray:
    """L (H, W) -> the sRGB grey image of that lightness, (H, W, 3) floats: a photo without colour."""
    zeros = np.zeros_like(lightness)
    return lab_to_rgb(np.dstack([lightness, zeros, zeros]))


def grey_to_lightness(grey: np.ndarray) -> np.ndarray:
    """sRGB-encoded grey (a grey pixel has R = G = B) -> L. Floats are in [0, 1];
    uint8 and uint16 levels go through a lookup table."""
    if grey.dtype in (np.uint8, np.uint16):
        top = np.iinfo(grey.dtype).max
        table = luminance_to_lightness(srgb_to_linear(np.arange(top + 1, dtype=np.float32) / top))
        return table[grey]
    return luminance_to_lightness(srgb_to_linear(grey))


# --------------------------------------------------------------------- torch


def torch_rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) sRGB in [0, 1] -> (N, 3, H, W) Lab; differentiable."""
    import torch

    rgb = rgb.float()
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(min=0) + 0.055) / 1.055) ** 2.4)
    matrix = torch.as_tensor(_RGB_TO_XYZ / _D65_WHITE[:, None], dtype=rgb.dtype, device=rgb.device)
    xyz = torch.einsum("ij,njhw->nihw", matrix, linear)
    f = torch.where(xyz > _EPSILON, xyz.clamp(min=_EPSILON) ** (1.0 / 3.0), (_KAPPA * xyz + 16.0) / 116.0)
    lightness = 116.0 * f[:, 1] - 16.0
    a = 500.0 * (f[:, 0] - f[:, 1])
    b = 200.0 * (f[:, 1] - f[:, 2])
    return torch.stack([lightness, a, b], dim=1)


def torch_lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) Lab -> sRGB in [0, 1]."""
    import torch

    lab = lab.float()
    fy = (lab[:, 0] + 16.0) / 116.0
    fx = fy + lab[:, 1] / 500.0
    fz = fy - lab[:, 2] / 200.0
    f = torch.stack([fx, fy, fz], dim=1)
    xyz = torch.where(f**3 > _EPSILON, f**3, (116.0 * f - 16.0) / _KAPPA)
    matrix = torch.as_tensor(_XYZ_TO_RGB * _D65_WHITE[None, :], dtype=lab.dtype, device=lab.device)
    linear = torch.einsum("ij,njhw->nihw", matrix, xyz).clamp(min=0.0)
    srgb = torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear.clamp(min=1e-8) ** (1.0 / 2.4) - 0.055)
    return srgb.clamp(0.0, 1.0)


def torch_lightness_to_srgb(lightness: torch.Tensor) -> torch.Tensor:
    """L in [0, 100] -> the sRGB level in [0, 1] of the grey with that lightness."""
    import torch

    f = (lightness + 16.0) / 116.0
    y = torch.where(f**3 > _EPSILON, f**3, lightness / _KAPPA).clamp(min=0.0)
    return torch.where(y <= 0.0031308, y * 12.92, 1.055 * y.clamp(min=1e-8) ** (1.0 / 2.4) - 0.055).clamp(0.0, 1.0)


# ----------------------------------------------------- network normalisation


def normalize_l(lightness):
    return lightness / L_SCALE - L_OFFSET


def denormalize_l(l_norm):
    return (l_norm + L_OFFSET) * L_SCALE


def normalize_ab(ab):
    return ab / AB_SCALE


def denormalize_ab(ab_norm):
    return ab_norm * AB_SCALE
