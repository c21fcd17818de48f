"""The full-resolution pipeline: predict ab small, join it with the original L.

The generator sees L at the render size; its ab is upsampled to the photo's
own size (guided by the full-resolution L, so colour edges follow the photo's
edges) and combined with the untouched original L.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import color
from .device import DeviceChoice, cpu_choice, is_out_of_memory
from .errors import Cancelled
from .image_io import LoadedImage

DEFAULT_RENDER_SIZE = 256
MIN_RENDER_SIZE = 64
UPSAMPLERS = ("guided", "bilinear")

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]


@dataclass
class ColorizeSettings:
    render_size: int = DEFAULT_RENDER_SIZE
    saturation: float = 1.0
    upsampler: str = "guided"

    def __post_init__(self):
        if self.render_size < MIN_RENDER_SIZE:
            raise ValueError(f"render size must be at least {MIN_RENDER_SIZE}")
        if not 0.0 <= self.saturation <= 4.0:
            raise ValueError("saturation must be between 0 and 4")
        if self.upsampler not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {UPSAMPLERS}")


@dataclass
class ColorizedImage:
    rgb: np.ndarray  # float32 (H, W, 3) sRGB in [0, 1], full resolution
    lab: np.ndarray  # float32 (H, W, 3), L identical to the input's
    alpha: np.ndarray | None
    render_size: int
    device: str
    notes: list[str] = field(default_factory=list)


def render_shape(width: int, height: int, render_size: int) -> tuple[int, int]:
    """(w, h) with the long side at most render_size; never upscaled."""
    scale = min(1.0, render_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


@torch.inference_mode()
def predict_ab(model: torch.nn.Module, lightness: np.ndarray, stride: int, choice: DeviceChoice) -> np.ndarray:
    """ab (H, W, 2) for a small L (H, W); pads to the encoder stride and crops back."""
    height, width = lightness.shape
    tensor = torch.from_numpy(color.normalize_l(lightness)).to(choice.device)[None, None]
    pad_h, pad_w = (-height) % stride, (-width) % stride
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        tensor = F.pad(tensor, (0, pad_w, 0, pad_h), mode=mode)
    if choice.autocast_dtype is not None:
        with torch.autocast(choice.device.type, dtype=choice.autocast_dtype):
            out = model(tensor)
    else:
        out = model(tensor)
    ab = color.denormalize_ab(out[0, :, :height, :width].float()).permute(1, 2, 0)
    return ab.cpu().numpy()


def guided_upsample(ab_small: np.ndarray, l_small: np.ndarray, l_full: np.ndarray, radius: int = 2, eps: float = 4.0):
    """Fast guided-filter upsampling (He & Sun 2015): fit ab = A*L + B locally at the small
    size, upsample A and B smoothly, apply them with the full-resolution L."""
    size = (2 * radius + 1, 2 * radius + 1)
    out_h, out_w = l_full.shape
    mean_l = cv2.boxFilter(l_small, -1, size)
    var_l = cv2.boxFilter(l_small * l_small, -1, size) - mean_l * mean_l
    result = np.empty((out_h, out_w, 2), np.float32)
    for channel in range(2):
        p = np.ascontiguousarray(ab_small[..., channel])
        mean_p = cv2.boxFilter(p, -1, size)
        cov = cv2.boxFilter(l_small * p, -1, size) - mean_l * mean_p
        a = cov / (var_l + eps)
        b = mean_p - a * mean_l
        a = cv2.resize(cv2.boxFilter(a, -1, size), (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        b = cv2.resize(cv2.boxFilter(b, -1, size), (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        result[..., channel] = a * l_full + b
    return result


def colorize(
    image: LoadedImage,
    model: torch.nn.Module,
    stride: int,
    choice: DeviceChoice,
    settings: ColorizeSettings | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
) -> ColorizedImage:
    """Colorize one photo. On GPU out-of-memory retries at half the render size, then on CPU."""
    settings = settings or ColorizeSettings()
    notes: list[str] = []
    report = progress or (lambda fraction, message: None)

    def check_cancel():
        if cancel is not None and cancel():
            raise Cancelled()

    l_full = image.lightness
    height, width = l_full.shape
    render_size = settings.render_size
    report(0.05, "preparing")
    check_cancel()
    while True:
        small_w, small_h = render_shape(width, height, render_size)
        l_small = cv2.resize(l_full, (small_w, small_h), interpolation=cv2.INTER_AREA) if (small_w, small_h) != (width, height) else l_full
        report(0.15, "running the model")
        try:
            ab_small = predict_ab(model, l_small, stride, choice)
            break
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            if choice.device.type == "cuda":
                torch.cuda.empty_cache()
            if render_size // 2 >= MIN_RENDER_SIZE and choice.device.type != "cpu":
                render_size //= 2
                notes.append(f"out of GPU memory: retried at render size {render_size}")
            elif choice.device.type != "cpu":
                notes.append("out of GPU memory: fell back to the CPU")
                model = model.to("cpu")
                choice = cpu_choice()
            else:
                raise MemoryError("not enough memory to colorize this photo; try a smaller render size") from None

    check_cancel()
    report(0.6, "upsampling colour")
    if (small_w, small_h) == (width, height):
        ab_full = ab_small
    elif settings.upsampler == "guided":
        ab_full = guided_upsample(ab_small, l_small, l_full)
    else:
        ab_full = cv2.resize(ab_small, (width, height), interpolation=cv2.INTER_LINEAR)
    if settings.saturation != 1.0:
        ab_full = ab_full * np.float32(settings.saturation)
    check_cancel()
    report(0.8, "converting to RGB")
    lab = np.empty((height, width, 3), np.float32)
    lab[..., 0] = l_full
    lab[..., 1:] = ab_full
    rgb = color.lab_to_rgb(lab)
    report(1.0, "done")
    return ColorizedImage(rgb, lab, image.alpha, render_size, choice.device.type, notes)
