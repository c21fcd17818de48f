"""Levin, Lischinski & Weiss (SIGGRAPH 2004), "Colorization using optimization": the classic
baseline for hint propagation, as the paper states it.

Each pixel's colour is the weighted mean of its 3x3 neighbours', the weights
w_rs = exp(-(Y_r - Y_s)^2 / (2 sigma_r^2)) with sigma_r^2 the variance of Y in the window
around r; hinted pixels keep their colour. Solved at the render size (long side 256) and
brought to full size by the same guided upsampling the app uses, so that it is compared
with Autochrome's path on equal terms. Not part of the product: only bench/ uses it.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse
import scipy.sparse.linalg

from autochrome.engine import color
from autochrome.engine.pipeline import guided_upsample, render_shape

WORK_SIZE = 256


def levin_ab(lightness: np.ndarray, hinted: np.ndarray, hint_ab: np.ndarray) -> np.ndarray:
    """(h, w, 2) ab: `hinted` (h, w) bool marks the pixels whose ab (`hint_ab`, (h, w, 2)) is fixed."""
    height, width = lightness.shape
    count = height * width
    y = lightness.astype(np.float64) / 100.0
    index = np.arange(count).reshape(height, width)
    rows, cols, values = [], [], []
    mean = cv2.blur(y, (3, 3), borderType=cv2.BORDER_REFLECT)
    variance = np.maximum(cv2.blur(y * y, (3, 3), borderType=cv2.BORDER_REFLECT) - mean**2, 2e-6)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == dx == 0:
                continue
            r0, r1 = max(0, -dy), height - max(0, dy)
            c0, c1 = max(0, -dx), width - max(0, dx)
            here = index[r0:r1, c0:c1]
            there = index[r0 + dy:r1 + dy, c0 + dx:c1 + dx]
            weight = np.exp(-((y[r0:r1, c0:c1] - y[r0 + dy:r1 + dy, c0 + dx:c1 + dx]) ** 2)
                            / (2 * variance[r0:r1, c0:c1]))
            rows.append(here.ravel())
            cols.append(there.ravel())
            values.append(weight.ravel())
    rows, cols, values = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    sums = np.bincount(rows, weights=values, minlength=count)
    values = values / sums[rows]  # each row's weights sum to 1
    fixed = hinted.ravel()
    keep = ~fixed[rows]
    matrix = scipy.sparse.coo_matrix((-values[keep], (rows[keep], cols[keep])), shape=(count, count)).tocsr()
    matrix = matrix + scipy.sparse.identity(count, format="csr")
    solve = scipy.sparse.linalg.splu(matrix.tocsc())
    out = np.zeros((count, 2))
    for channel in range(2):
        right = np.where(fixed, hint_ab[..., channel].ravel(), 0.0)
        out[:, channel] = solve.solve(right)
    return out.reshape(height, width, 2).astype(np.float32)


def levin_colorize(lightness: np.ndarray, hints: list[tuple[int, int, float, float]], patch: int = 5) -> np.ndarray:
    """Full-size sRGB from full-size L and hints (x, y, a, b) in its pixels, each fixing the
    render-size pixels its `patch` covers."""
    height, width = lightness.shape
    small_w, small_h = render_shape(width, height, WORK_SIZE)
    l_small = cv2.resize(lightness, (small_w, small_h), interpolation=cv2.INTER_AREA) if (
        small_w, small_h) != (width, height) else lightness
    hinted = np.zeros((small_h, small_w), bool)
    hint_ab = np.zeros((small_h, small_w, 2), np.float64)
    half = max(1, round(patch * small_w / width)) // 2
    for x, y, a, b in hints:
        column, row = min(int(x * small_w / width), small_w - 1), min(int(y * small_h / height), small_h - 1)
        window = (slice(max(row - half, 0), row + half + 1), slice(max(column - half, 0), column + half + 1))
        hinted[window] = True
        hint_ab[window] = (a, b)
    if not hinted.any():
        ab_small = np.zeros((small_h, small_w, 2), np.float32)
    else:
        ab_small = levin_ab(l_small, hinted, hint_ab)
    ab = guided_upsample(ab_small, l_small, lightness) if (small_w, small_h) != (width, height) else ab_small
    return color.lab_to_rgb(np.dstack([lightness, ab]))
