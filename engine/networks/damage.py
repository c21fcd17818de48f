"""The damage mask network: which pixels of an old print are scratches, dust, cracks or stains.

Three parts, so that a 12-megapixel scan is searched in about a second on a CPU:
- full resolution: fixed filter responses of each pixel (the lightness, morphological top-hat
  and black-hat at 3, 7 and 15 px, the residual of a 5 px median, the contrast to a 15 px mean:
  a one-pixel scratch is a strong response of the small filters);
- context, at a quarter of the size: the first stages of the ImageNet EfficientNet-Lite0
  (frozen, as trained on ImageNet) on the photo at an eighth of its size, with a small learned
  decoder (what the photo shows: an object's edge or texture is not damage), and a learned
  dilated CNN over the filter
  responses max-pooled to that size, which sees 120 px around a pixel (a scratch runs on as a
  line, a crack as a path, a stain has an extent; a lone thin edge of an object does not);
- a learned per-pixel head (1x1 convolutions) on the filter responses and the upsampled
  context, giving the chance of damage.

`local_planes` is the one definition of the filters, for training and for use alike.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .. import color
from .efficientnet import EfficientNetLiteEncoder
from .marks import filter_of
from .specks import SPECK_FEATURES
from .stains import StainNet

LOCAL_CHANNELS = 9
CONTEXT_SCALE = 4  # the context sees the photo at a quarter of its size
# The pooled filter responses; the top-hat and black-hat of the quarter-size L with a 9-cell
# square (36 px at full size): what the full-size filters are too small for (a stain, a blot);
# and how much the thin bright and dark responses line up along one direction over 11 cells
# (44 px): a scratch or a fold is a long line, a highlight on an object's rim a short arc.
POOLED_CHANNELS = LOCAL_CHANNELS + 4
WIDE = 9
# Version 3 adds the top-hat and black-hat with a 17-cell square (68 px at full size), meant for
# stains, blotches wider than the 36 px ones see whole. They did not make stains found: the
# network shipped with them (d8) finds 1 % of the bench's stains, as version 2 did.
WIDER = 17
STAIN_CHANNELS = 2
VERSIONS = (2, 3)
LINE = 11
ORIENTATIONS = 8
CONTEXT_BLOCKS = 3  # Lite0's stem and blocks 0-2: features at strides 2 (16 ch) and 4 (24 ch)
HEAD_CHUNK_PIXELS = 8192  # the head's hidden layer for these many pixels: under a megabyte
_U16 = 655.35  # L in [0, 100] as 16-bit levels, so OpenCV's morphology runs on integers


@dataclass(frozen=True)
class DamageConfig:
    context_channels: int = 8
    hidden: int = 12
    version: int = 3
    lines: int = 8  # channels of the dilated CNN over the pooled filter responses
    stains: int = 0  # width of the whole-photo stain branch (engine.networks.stains), a multiple of 4; 0: none
    marks: int = 0  # hidden width of the mark filter (engine.networks.marks); 0: none
    specks: int = 0  # hidden width of the speck filter (engine.networks.specks); 0: none
    mark_members: int = 0  # MLPs the mark filter averages (marks.FilterEnsemble); 0: one, as before ensembles

    @property
    def pooled_channels(self) -> int:
        return POOLED_CHANNELS + (STAIN_CHANNELS if self.version >= 3 else 0)

    def to_json(self) -> str:
        fields = asdict(self)
        # Left out when absent, as networks from before them have it: their checkpoints still resume.
        for optional in ("stains", "marks", "specks", "mark_members"):
            if not fields[optional]:
                del fields[optional]
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DamageConfig":
        raw = json.loads(text)
        known = {"context_channels", "hidden", "version", "lines", "stains", "marks", "specks", "mark_members"}
        if set(raw) - known:
            raise ValueError(f"damage model config has unknown fields {sorted(set(raw) - known)}")
        config = cls(**raw)
        sizes = (1 <= config.context_channels <= 64 and 1 <= config.hidden <= 256 and 1 <= config.lines <= 64
                 and 0 <= config.stains <= 64 and config.stains % 4 == 0  # the branch's groups of 4
                 and 0 <= config.marks <= 256 and 0 <= config.specks <= 256 and 0 <= config.mark_members <= 32)
        if not sizes or config.version not in VERSIONS:
            raise ValueError("damage model config out of range")
        return config


_SQUARES = {size: cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)) for size in (3, 7, 15)}


def local_planes(lightness: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(LOCAL_CHANNELS, H, W) float32: the filter responses of L (H, W) in [0, 100], plane by
    plane, scaled to about [-1, 1] for damage. `out`: an array of that shape to write them to
    (a band of a large photo after another: fresh memory costs more to touch than the filters
    cost to run, so every step writes into it, none into a temporary of its own)."""
    lightness = np.ascontiguousarray(lightness, np.float32)
    planes = np.empty((LOCAL_CHANNELS,) + lightness.shape, np.float32) if out is None else out
    # The 16-bit levels pass through the last plane's room before it is filled.
    scaled = np.multiply(lightness, np.float32(_U16), out=planes[LOCAL_CHANNELS - 1])
    levels = np.clip(scaled, 0, 65535, out=scaled).astype(np.uint16)
    np.subtract(np.multiply(lightness, np.float32(1 / 50.0), out=planes[0]), np.float32(1.0), out=planes[0])
    response = np.empty_like(levels)
    channel = 1
    for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        for size in (3, 7, 15):
            # Squares: OpenCV separates them into a row and a column pass (an ellipse costs 5x).
            response = cv2.morphologyEx(levels, operation, _SQUARES[size], dst=response)
            np.multiply(response, np.float32(1.0 / (_U16 * 20.0)), out=planes[channel])
            channel += 1
    median = np.multiply(cv2.medianBlur(levels, 5, dst=response), np.float32(1.0 / _U16), out=planes[7])
    np.multiply(np.subtract(lightness, median, out=median), np.float32(1 / 20.0), out=median)
    mean = cv2.boxFilter(lightness, -1, (15, 15), dst=planes[8], borderType=cv2.BORDER_REFLECT)
    np.multiply(np.subtract(lightness, mean, out=mean), np.float32(1 / 20.0), out=mean)
    return planes


def context_lightness(lightness: np.ndarray) -> np.ndarray:
    """The photo's L at the context's size (a quarter, rounded up), normalised: (h, w) float32."""
    height, width = lightness.shape
    size = (-(-width // CONTEXT_SCALE), -(-height // CONTEXT_SCALE))
    small = cv2.resize(np.ascontiguousarray(lightness, np.float32), size, interpolation=cv2.INTER_AREA)
    return color.normalize_l(small).astype(np.float32)


def context_features(small: np.ndarray, pooled: np.ndarray, version: int) -> np.ndarray:
    """(h, w, DamageConfig(version=version).pooled_channels): the pooled filter responses and the
    wide top-hat and black-hat of the quarter-size normalised L `small` (scaled as the full-size
    ones are)."""
    sizes = (WIDE, WIDER) if version >= 3 else (WIDE,)
    # Normalised L spans 2 for 100 L: x 50 / 20 puts these on the full-size filters' scale.
    wide = [cv2.morphologyEx(small, operation, cv2.getStructuringElement(cv2.MORPH_RECT, (size, size)),
                             borderType=cv2.BORDER_REPLICATE) * 2.5
            for size in sizes for operation in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT)]
    lines = [_line_strength(np.ascontiguousarray(pooled[..., channel])) for channel in (2, 5)]  # 7 px hats
    return np.concatenate([pooled, np.stack(wide + lines, axis=-1)], axis=-1).astype(np.float32)


def _line_kernels() -> list[np.ndarray]:
    kernels = []
    centre = LINE // 2
    for index in range(ORIENTATIONS):
        angle = np.pi * index / ORIENTATIONS
        kernel = np.zeros((LINE, LINE), np.float32)
        for step in np.linspace(-centre, centre, 4 * LINE):
            x, y = int(round(centre + step * np.cos(angle))), int(round(centre + step * np.sin(angle)))
            kernel[y, x] = 1.0
        kernels.append(kernel / kernel.sum())
    return kernels


_LINE_KERNELS = _line_kernels()


def _line_strength(response: np.ndarray) -> np.ndarray:
    """The response averaged along the best of ORIENTATIONS lines, less its mean over them:
    high on a long line, low on a blob, a texture or a short arc."""
    along = np.stack([cv2.filter2D(response, -1, kernel, borderType=cv2.BORDER_REPLICATE) for kernel in _LINE_KERNELS])
    return along.max(axis=0) - along.mean(axis=0)


class DamageNet(nn.Module):
    def __init__(self, config: DamageConfig = DamageConfig()):
        super().__init__()
        self.config = config
        encoder = EfficientNetLiteEncoder("efficientnet_lite0", tf_compat=True)
        encoder._blocks = encoder._blocks[:CONTEXT_BLOCKS]
        encoder.taps = tuple(tap for tap in encoder.taps if tap < CONTEXT_BLOCKS)
        encoder.channels = encoder.channels[: len(encoder.taps)]
        self.encoder = encoder
        fine, coarse = encoder.channels  # 16 at stride 2, 24 at stride 4
        self.decoder = nn.Sequential(nn.Conv2d(fine + coarse, 16, 3, padding=1), nn.ReLU(inplace=True),
                                     nn.Conv2d(16, config.context_channels, 1))
        width = config.lines
        self.lines = nn.Sequential(
            nn.Conv2d(config.pooled_channels + config.context_channels, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=2, dilation=2), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=4, dilation=4), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=8, dilation=8), nn.ReLU(inplace=True),
            nn.Conv2d(width, config.context_channels, 1))
        self.head = nn.Sequential(nn.Conv2d(LOCAL_CHANNELS + config.context_channels, config.hidden, 1),
                                  nn.ReLU(inplace=True), nn.Conv2d(config.hidden, 1, 1))
        self.stains = StainNet(config.stains) if config.stains else None
        self.marks = filter_of(config.marks, members=config.mark_members) if config.marks else None
        self.specks = filter_of(config.specks, SPECK_FEATURES) if config.specks else None

    def context(self, small: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) context from the photo's normalised L at a quarter of its size
        (`context_lightness`, (N, 1, h, w)) and its filter responses pooled to that size
        (`context_features` of `pool_features`, (N, pooled_channels, h, w))."""
        # What the photo shows needs no detail: the ImageNet stages see an eighth of its size.
        smaller = F.avg_pool2d(small, 2, ceil_mode=True)
        height, width = smaller.shape[-2:]
        padded = F.pad(smaller, (0, (-width) % 4, 0, (-height) % 4), mode="replicate")
        fine, coarse = self.encoder(padded.contiguous(memory_format=torch.channels_last))
        coarse = F.interpolate(coarse, size=fine.shape[-2:], mode="bilinear", align_corners=False)
        seen = F.interpolate(self.decoder(torch.cat([fine, coarse], dim=1)), size=pooled.shape[-2:],
                             mode="bilinear", align_corners=False)
        # Written straight into the layout the CNN runs in: joined first and then laid out, the
        # copies of a 12 MP photo's maps are two fresh 80 MB arrays instead of one.
        joined = torch.empty((pooled.shape[0], pooled.shape[1] + seen.shape[1]) + tuple(pooled.shape[2:]),
                             dtype=pooled.dtype, memory_format=torch.channels_last)
        joined[:, : pooled.shape[1]].copy_(pooled)
        joined[:, pooled.shape[1] :].copy_(seen)
        return self.lines(joined)

    def logits(self, local: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Per-pixel damage logits (N, 1, h, w) from local features (N, 9, h, w) and the context
        already resampled to those pixels (N, C, h, w)."""
        return self.head(torch.cat([local, context], dim=1))[:, 0:1]

    def pixel_logits(self, local: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The head on a band's pixels: local features as planes (9, rows, W), as `local_planes`
        writes them, and the context laid out (rows, W, C), as `context_rows` resizes it; (rows, W)
        logits. Matrix products on those layouts as they are (no reordering or joining of a band's
        memory), a few rows at a time so that the hidden layer stays in the processor's cache (a
        256-row band of a 4,000 px photo at once: 4x slower)."""
        first, second = self.head[0], self.head[2]
        weight = first.weight[:, :, 0, 0]
        local_weight, context_weight = weight[:, :LOCAL_CHANNELS], weight[:, LOCAL_CHANNELS:]
        out_weight, out_bias = second.weight[:, :, 0, 0], second.bias  # (1, hidden)
        rows, width = local.shape[1:]
        planes = local.reshape(LOCAL_CHANNELS, rows * width)
        out = torch.empty(rows * width, dtype=local.dtype)
        step = max(1, HEAD_CHUNK_PIXELS // max(1, width))
        room = torch.empty((first.bias.shape[0], step * width), dtype=local.dtype)
        bias = first.bias[:, None]
        for top in range(0, rows, step):
            chunk = slice(top * width, min(top + step, rows) * width)
            hidden = torch.addmm(bias, local_weight, planes[:, chunk], out=room[:, : chunk.stop - chunk.start])
            hidden.addmm_(context_weight, context[top : top + step].reshape(-1, context.shape[-1]).t())
            torch.mm(out_weight, hidden.relu_(), out=out[chunk].view(1, -1))
        return out.add_(out_bias).view(rows, width)


def pool_features(planes) -> np.ndarray:
    """(h, w, LOCAL_CHANNELS) filter responses at a quarter of the size (h, w = ceil(H/4),
    ceil(W/4)): the lightness and the contrast averaged, the thin-structure filters' strongest
    response kept (a one-pixel scratch must not fade away), the median residual's largest in size.
    `planes`: `local_planes`, or the same planes (H, W) cut to a band of rows.
    `context_features` adds the wide filters."""
    height, width = planes[0].shape
    scale = CONTEXT_SCALE
    if height % scale or width % scale:
        planes = [cv2.copyMakeBorder(plane, 0, (-height) % scale, 0, (-width) % scale, cv2.BORDER_REPLICATE)
                  for plane in planes]
    h, w = planes[0].shape[0] // scale, planes[0].shape[1] // scale
    block = np.ones((scale, scale), np.uint8)
    anchor = (0, 0)  # the block's top-left pixel sees the block: every scale-th pixel is a cell
    out = np.empty((h, w, LOCAL_CHANNELS), np.float32)
    for channel in (0, 8):
        out[..., channel] = cv2.resize(planes[channel], (w, h), interpolation=cv2.INTER_AREA)
    for channel in range(1, 8):
        plane = planes[channel]
        high = cv2.dilate(plane, block, anchor=anchor, borderType=cv2.BORDER_REPLICATE)[::scale, ::scale]
        if channel < 7:
            out[..., channel] = high
        else:
            low = cv2.erode(plane, block, anchor=anchor, borderType=cv2.BORDER_REPLICATE)[::scale, ::scale]
            out[..., channel] = np.where(high >= -low, high, low)
    return out


def context_rows(context: np.ndarray, full_shape: tuple[int, int], rows: slice, out: np.ndarray | None = None) -> np.ndarray:
    """`context_at` for inference: numpy (h, w, C) context at a band of full-size rows, (rows,
    W, C) float32, with OpenCV's bilinear resize (the same sampling: an exact factor of
    CONTEXT_SCALE, pixel centres aligned, borders replicated). `out`: room to resize into,
    (at least the band's rows and 4 cells more, w * CONTEXT_SCALE, C), reused band after band."""
    height, width = full_shape
    scale = CONTEXT_SCALE
    # Two cells of margin: a band's rows then interpolate between the same cells as the whole
    # map's would (a cut block replicates its edge rows, which are outside the band).
    first = max(0, rows.start // scale - 2)
    last = min(context.shape[0], -(-rows.stop // scale) + 2)
    block = context[first:last]
    size = (context.shape[1] * scale, (last - first) * scale)
    if out is not None and out.shape[0] >= size[1] and out.shape[1] == size[0]:
        resized = cv2.resize(block, size, dst=out[: size[1]], interpolation=cv2.INTER_LINEAR)
    else:
        resized = cv2.resize(block, size, interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:
        resized = resized[..., None]
    top = rows.start - first * scale
    return resized[top : top + (rows.stop - rows.start), :width]


def context_at(context: torch.Tensor, full_shape: tuple[int, int], rows: slice | None = None) -> torch.Tensor:
    """The context resampled to full-size pixels (all rows, or a band of them), bilinearly as if
    the whole map were resized at once (a band never sees a seam)."""
    height, width = full_shape
    rows = rows or slice(0, height)
    small_h, small_w = context.shape[-2:]
    # The context covers the padded quarter-size photo: its pixel i spans full-size pixels
    # [i * s, (i + 1) * s), s = CONTEXT_SCALE.
    stride = CONTEXT_SCALE
    ys = (torch.arange(rows.start, rows.stop, dtype=torch.float32) + 0.5) / stride - 0.5
    xs = (torch.arange(width, dtype=torch.float32) + 0.5) / stride - 0.5
    grid_y = (ys.clamp(0, small_h - 1) + 0.5) / small_h * 2 - 1
    grid_x = (xs.clamp(0, small_w - 1) + 0.5) / small_w * 2 - 1
    grid = torch.stack(torch.meshgrid(grid_y, grid_x, indexing="ij")[::-1], dim=-1)[None]
    return F.grid_sample(context, grid.to(context.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def normalised(lightness: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(color.normalize_l(np.ascontiguousarray(lightness, np.float32)))[None, None]
