"""Make a clean grey photo look like an old one: low contrast, blur, grain, JPEG artefacts.

Applied to the lightness the encoder sees (never to the colour it learns), so a model
trained with it colours scans of worn prints as it colours clean greys.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def degrade_lightness(lightness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """L (H, W) in [0, 100] -> a degraded copy; each defect with its own probability and strength."""
    out = lightness.astype(np.float32)
    if rng.random() < 0.5:  # faded print: contrast pulled toward a grey, sometimes lifted blacks
        mid = float(out.mean())
        out = mid + (out - mid) * rng.uniform(0.55, 0.95) + rng.uniform(0, 8)
    if rng.random() < 0.4:  # soft lens or a scan out of focus
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.3))
    if rng.random() < 0.5:  # film grain
        out = out + rng.normal(0.0, rng.uniform(1.0, 5.0), out.shape).astype(np.float32)
    out = np.clip(out, 0.0, 100.0)
    if rng.random() < 0.4:  # a JPEG of the scan
        grey = Image.fromarray((out * 2.55).round().astype(np.uint8))
        buffer = io.BytesIO()
        grey.save(buffer, format="JPEG", quality=int(rng.integers(20, 70)))
        out = np.asarray(Image.open(buffer), np.float32) / 2.55
    return out
