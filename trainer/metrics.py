"""Colorization quality metrics on sRGB images in [0, 1] (H, W, 3), numpy only."""

from __future__ import annotations

import cv2
import numpy as np

from autochrome.engine import color


def psnr(output: np.ndarray, truth: np.ndarray) -> float:
    mse = float(np.mean((output.astype(np.float64) - truth.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(1.0 / mse)


def ssim(output: np.ndarray, truth: np.ndarray) -> float:
    """Mean SSIM over RGB channels (Wang et al. 2004: Gaussian window sigma 1.5, K1 .01, K2 .03)."""
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for channel in range(3):
        x = output[..., channel].astype(np.float64)
        y = truth[..., channel].astype(np.float64)
        blur = lambda image: cv2.GaussianBlur(image, (11, 11), 1.5)  # noqa: E731
        mu_x, mu_y = blur(x), blur(y)
        var_x = blur(x * x) - mu_x**2
        var_y = blur(y * y) - mu_y**2
        cov = blur(x * y) - mu_x * mu_y
        ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
        scores.append(float(ssim_map[5:-5, 5:-5].mean() if min(x.shape) > 10 else ssim_map.mean()))
    return float(np.mean(scores))


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk (2003) colourfulness on 0-255 RGB."""
    rgb = rgb.astype(np.float64) * 255.0
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """Per-pixel CIEDE2000 colour difference (Sharma, Wu, Dalal 2005)."""
    l1, a1, b1 = (lab1[..., i].astype(np.float64) for i in range(3))
    l2, a2, b2 = (lab2[..., i].astype(np.float64) for i in range(3))
    c1, c2 = np.hypot(a1, b1), np.hypot(a2, b2)
    c_bar = (c1 + c2) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = l2 - l1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dhh = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh) / 2)
    l_bar = (l1 + l2) / 2
    c_bar_p = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0,
        h_sum,
        np.where(np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)),
    )
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(c_bar_p**7 / (c_bar_p**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar_p
    s_h = 1 + 0.015 * c_bar_p * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((dl / s_l) ** 2 + (dc / s_c) ** 2 + (dhh / s_h) ** 2 + r_t * (dc / s_c) * (dhh / s_h))


def lightness_error(output: np.ndarray, truth_lightness: np.ndarray) -> float:
    """Mean |L_out - L_in|: how much of the original's lightness the result lost."""
    return float(np.abs(color.lightness_of_srgb(output) - truth_lightness).mean())


def all_metrics(output: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    truth_lab = color.rgb_to_lab(truth)
    return {
        "psnr": psnr(output, truth),
        "ssim": ssim(output, truth),
        "ciede2000": float(ciede2000(color.rgb_to_lab(output), truth_lab).mean()),
        "colourfulness": colourfulness(output),
        "colourfulness_truth": colourfulness(truth),
        "l_error": lightness_error(output, truth_lab[..., 0]),
    }


def mean_figures(rows: list[dict]) -> dict[str, float]:
    """The mean of each figure over photos (each row one photo's all_metrics), with the
    colourfulness gap (truth minus output) of the means."""
    keys = [key for key in rows[0] if isinstance(rows[0][key], (int, float))]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in keys}
    if "colourfulness" in mean and "colourfulness_truth" in mean:
        mean["colourfulness_gap"] = mean["colourfulness_truth"] - mean["colourfulness"]
    return mean
