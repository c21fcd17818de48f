"""The full-resolution pipeline: predict ab small, join it with the original L.

The generator sees L at the render size; its ab is upsampled to the photo's
own size (guided by the full-resolution L, so colour edges follow the photo's
edges) and combined with the untouched original L.
"""

from __future__ import annotations

import weakref
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import color
from .device import DeviceChoice
from .edit import ColorizeSettings
from .errors import Cancelled, ImageReadError
from .hints import Hint, check_inside, hint_map, patch_slices, render_position
from .image_io import LoadedImage
from .propagation import propagate

ProgressCallback = Callable[[float, str], None]
CancelCheck = Callable[[], bool]


@dataclass
class ColorizedImage:
    rgb: np.ndarray  # float32 (H, W, 3) sRGB in [0, 1], full resolution
    alpha: np.ndarray | None
    render_size: int
    device: str
    notes: list[str] = field(default_factory=list)
    # The colour at render size, hints applied, before saturation: with the photo's L it
    # rebuilds this result without the model (a history entry keeps only this and a thumbnail).
    ab_small: np.ndarray | None = None
    # What `lab` is rebuilt from, when asked (it is not kept: at 100 megapixels it is 1.2 GB).
    lightness: np.ndarray | None = field(default=None, repr=False)
    settings: ColorizeSettings | None = field(default=None, repr=False)

    @property
    def lab(self) -> np.ndarray:
        """float32 (H, W, 3): the photo's own L and the colour at full size, before gamut clipping."""
        l_full = self.lightness
        height, width = l_full.shape
        l_small = _resized(l_full, self.ab_small.shape[1], self.ab_small.shape[0])
        upsample = FullSizeColour(self.ab_small, l_small, (height, width), self.settings)
        lab = np.empty((height, width, 3), np.float32)
        lab[..., 0] = l_full
        lab[..., 1:] = upsample.rows(l_full, 0, height)
        return lab


def render_shape(width: int, height: int, render_size: int) -> tuple[int, int]:
    """(w, h) with the long side at most render_size; never upscaled."""
    scale = min(1.0, render_size / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


class EncoderMemo:
    """The encoder features of the last photos a hint-taking model saw: a hint edit changes
    only the decoder's input, so the encoder need not run again for the same photo. Several
    entries: the app alternates between a photo's quick preview and its full render.

    The photo is held weakly and compared by identity: a new photo never reuses an old one's
    features, and a photo nothing else holds any more is not kept alive by its features."""

    SIZE = 4  # a preview and a full render, each for the model and (for pix2pix) its guide

    def __init__(self):
        self._entries: list[tuple[object, object, object, list]] = []  # weak owner, key, model, features

    def features(self, model: torch.nn.Module, tensor: torch.Tensor, owner, key) -> list[torch.Tensor]:
        self._entries = [entry for entry in self._entries if entry[0]() is not None]
        for index, (seen_owner, seen_key, seen_model, features) in enumerate(self._entries):
            if owner is not None and seen_owner() is owner and seen_key == key and seen_model is model:
                self._entries.insert(0, self._entries.pop(index))
                return features
        features = model.encode(tensor)
        if owner is not None:
            try:
                held = weakref.ref(owner)
            except TypeError:  # an owner that cannot be held weakly is held as it is
                held = (lambda kept: lambda: kept)(owner)
            self._entries.insert(0, (held, key, model, features))
            del self._entries[self.SIZE:]
        return features


def _pad(tensor: torch.Tensor, stride: int, mode: str) -> torch.Tensor:
    height, width = tensor.shape[-2:]
    pad_h, pad_w = (-height) % stride, (-width) % stride
    if not (pad_h or pad_w):
        return tensor
    if mode == "reflect" and not (pad_h < height and pad_w < width):
        mode = "replicate"
    return F.pad(tensor, (0, pad_w, 0, pad_h), mode=mode) if mode != "constant" else F.pad(tensor, (0, pad_w, 0, pad_h))


@torch.inference_mode()
def predict_ab(model: torch.nn.Module, lightness: np.ndarray, stride: int, choice: DeviceChoice,
               hint_input: np.ndarray | None = None, temperature: float | None = None, flip_average: bool = False,
               memo: EncoderMemo | None = None, memo_owner=None) -> np.ndarray:
    """ab (H, W, 2) for a small L (H, W); pads to the encoder stride and crops back.

    hint_input: (3, H, W) hint map for models that take hints (see engine.hints)."""
    height, width = lightness.shape
    tensor = _pad(torch.from_numpy(color.normalize_l(lightness)).to(choice.device)[None, None], stride, "reflect")
    hints = None
    if hint_input is not None and getattr(model.config, "hint_input", False):
        hints = _pad(torch.from_numpy(hint_input).to(choice.device)[None], stride, "constant")
    passes = [(tensor, hints, False)]
    if flip_average:
        passes.append((tensor.flip(-1), hints.flip(-1) if hints is not None else None, True))
    outputs = []
    for one_l, one_hints, flipped in passes:
        autocast = torch.autocast(choice.device.type, dtype=choice.autocast_dtype) if choice.autocast_dtype else nullcontext()
        with autocast:
            key = (tuple(one_l.shape), flipped)
            remembered = memo is not None and model.has_encoder
            features = memo.features(model, one_l, memo_owner, key) if remembered else model.encode(one_l)
            out = model.to_ab(model.decode(features, one_l, one_hints), temperature, lightness=one_l)
        outputs.append(out.flip(-1) if flipped else out)
    out = torch.stack(outputs).float().mean(0) if len(outputs) > 1 else outputs[0]
    ab = color.denormalize_ab(out[0, :, :height, :width].float()).permute(1, 2, 0)
    return ab.cpu().numpy()


def guided_coefficients(ab_small: np.ndarray, l_small: np.ndarray, radius: int = 2, eps: float = 4.0) -> np.ndarray:
    """Fast guided-filter upsampling (He & Sun 2015), its first half: fit ab = A*L + B locally
    at the small size. (h, w, 4): A and B for a, then for b."""
    size = (2 * radius + 1, 2 * radius + 1)
    mean_l = cv2.boxFilter(l_small, -1, size)
    var_l = cv2.boxFilter(l_small * l_small, -1, size) - mean_l * mean_l
    planes = []
    for channel in range(2):
        p = np.ascontiguousarray(ab_small[..., channel])
        mean_p = cv2.boxFilter(p, -1, size)
        cov = cv2.boxFilter(l_small * p, -1, size) - mean_l * mean_p
        a = cov / (var_l + eps)
        b = mean_p - a * mean_l
        planes += [cv2.boxFilter(a, -1, size), cv2.boxFilter(b, -1, size)]
    return np.dstack(planes).astype(np.float32)


def guided_upsample(ab_small: np.ndarray, l_small: np.ndarray, l_full: np.ndarray) -> np.ndarray:
    """The colour at the full size, guided by the full-resolution L (the whole photo at once)."""
    return FullSizeColour(ab_small, l_small, l_full.shape, ColorizeSettings()).rows(l_full, 0, l_full.shape[0])


class FullSizeColour:
    """The colour at render size brought to the photo's size a band of rows at a time, so a
    100-megapixel photo never holds its full-size colour, coefficients or Lab at once.

    The coefficients (guided) or the colour itself (bilinear) are resized across first (h rows
    of the full width: small), then each band is interpolated down from those rows exactly as
    a bilinear resize of the whole would."""

    def __init__(self, ab_small: np.ndarray, l_small: np.ndarray, full_shape: tuple[int, int],
                 settings: ColorizeSettings):
        self.height, self.width = full_shape
        self.guided = settings.upsampler == "guided" and ab_small.shape[:2] != full_shape
        planes = guided_coefficients(ab_small, l_small) if self.guided else np.ascontiguousarray(ab_small)
        self.small_h = planes.shape[0]
        self.across = cv2.resize(planes, (self.width, self.small_h), interpolation=cv2.INTER_LINEAR).reshape(
            self.small_h, self.width, -1)
        self.saturation = np.float32(settings.saturation)

    def rows(self, l_full: np.ndarray, start: int, stop: int) -> np.ndarray:
        """(stop - start, W, 2) ab of those rows, saturation applied."""
        positions = (np.arange(start, stop, dtype=np.float64) + 0.5) * self.small_h / self.height - 0.5
        positions = np.clip(positions, 0, self.small_h - 1)
        top = np.floor(positions).astype(np.int64)
        bottom = np.minimum(top + 1, self.small_h - 1)
        weight = (positions - top).astype(np.float32)[:, None, None]
        planes = self.across[top] * (1 - weight) + self.across[bottom] * weight
        if self.guided:
            lightness = l_full[start:stop, :, None]
            ab = planes[..., 0::2] * lightness + planes[..., 1::2]
        else:
            ab = planes
        return ab * self.saturation if self.saturation != 1.0 else ab


def _hint_patches(hints: list[Hint], small_size, full_size) -> list:
    """For each hint: its patch at the render size and its ab."""
    return [(*patch_slices(*render_position(hint, full_size, small_size), small_size), np.float32([hint.a, hint.b]))
            for hint in hints]


def _resized(l_full: np.ndarray, width: int, height: int) -> np.ndarray:
    if l_full.shape == (height, width):
        return l_full
    return cv2.resize(l_full, (width, height), interpolation=cv2.INTER_AREA)


class ModelPredictor:
    """A generator on a device, with the encoder memo that lets hint edits skip the encoder.

    It also gives the pipeline the photo's look (`guide_features`, the encoder's features)
    for matching a reference photo; models without an encoder of their own get it from
    `guide`, another generator (the Colorizer passes the default model)."""

    def __init__(self, model: torch.nn.Module, choice: DeviceChoice, memo: EncoderMemo | None = None,
                 guide: torch.nn.Module | None = None, affinity: torch.nn.Module | None = None):
        self.model, self.choice = model, choice
        self.memo = memo if memo is not None else EncoderMemo()
        self.guide = guide if guide is not None or not model.has_encoder else model
        self.affinity = affinity  # engine.networks.affinity.AffinityHead on the guide's features
        self._reference_cache: tuple | None = None

    @property
    def stride(self) -> int:
        return self.model.config.stride

    @property
    def device_name(self) -> str:
        return self.choice.device.type

    def predict(self, lightness: np.ndarray, hint_input: np.ndarray | None, settings: ColorizeSettings,
                owner=None) -> np.ndarray:
        return predict_ab(self.model, lightness, self.stride, self.choice, hint_input, settings.temperature,
                          settings.flip_average, self.memo, owner)

    @torch.inference_mode()
    def guide_features(self, lightness: np.ndarray, owner=None) -> list[torch.Tensor]:
        """The guide encoder's features of L at the render size (memoised with the model's)."""
        if self.guide is None:
            raise ValueError("this model has no encoder to compare photos with")
        tensor = _pad(torch.from_numpy(color.normalize_l(lightness)).to(self.choice.device)[None, None], 32, "reflect")
        self.guide.to(self.choice.device)
        if owner is None:
            return self.guide.encode(tensor)
        return self.memo.features(self.guide, tensor, owner, (tuple(tensor.shape), False))

    def apply_reference(self, ab_small: np.ndarray, lightness: np.ndarray, reference, settings: ColorizeSettings,
                        owner=None) -> np.ndarray:
        """The model's colour where the reference offers none, the reference's where it does."""
        from . import reference as matching

        size = min(settings.render_size, matching.MATCH_SIZE)
        key = (id(reference), size, self.choice.device.type)
        if self._reference_cache is None or self._reference_cache[0] != key or self._reference_cache[1] is not reference:
            reference_lab = matching.reference_lab_at(reference.rgb, size)
            features = self.guide_features(reference_lab[..., 0], None)
            self._reference_cache = (key, reference, matching.prepare(reference_lab, features))
        prepared = self._reference_cache[2]
        height, width = lightness.shape
        match_w, match_h = render_shape(width, height, size)
        small_l = _resized(lightness, match_w, match_h)
        ab, confidence = matching.match(self.guide_features(small_l, owner), small_l, prepared)
        if (match_w, match_h) != (width, height):
            ab = cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)
            confidence = cv2.resize(confidence, (width, height), interpolation=cv2.INTER_LINEAR)
        return confidence[..., None] * ab + (1.0 - confidence[..., None]) * ab_small

    def spread(self, lightness: np.ndarray, ab_small: np.ndarray, patches: list, settings: ColorizeSettings,
               owner=None) -> np.ndarray:
        """The model's ab with the hints' colours spread over what the photo shows (where an
        affinity head says which places share a colour) and taking its place there."""
        painted, strength = propagate(lightness, patches, settings.reach, self.embedding(lightness, owner))
        return ab_small * (1.0 - strength[..., None]) + painted

    @torch.inference_mode()
    def embedding(self, lightness: np.ndarray, owner=None) -> np.ndarray | None:
        """The affinity head's (h/4, w/4, D) embedding of the photo, or None without a head."""
        if self.affinity is None or self.guide is None:
            return None
        features = self.guide_features(lightness, owner)
        tensor = torch.from_numpy(color.normalize_l(lightness)).to(self.choice.device)[None, None]
        self.affinity.to(self.choice.device)
        out = self.affinity(features, _pad(tensor, 32, "reflect"))[0]
        height, width = -(-lightness.shape[0] // 4), -(-lightness.shape[1] // 4)
        return out[:, :height, :width].permute(1, 2, 0).float().cpu().numpy()


@dataclass
class Colouring:
    """What colours a photo besides its model: the user's hints and a reference photo."""

    hints: list[Hint] = field(default_factory=list)
    reference: object | None = None  # engine.reference.ReferencePhoto


def colorize(
    image: LoadedImage,
    predictor,
    settings: ColorizeSettings | None = None,
    colouring: Colouring | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelCheck | None = None,
    ab_small: np.ndarray | None = None,
) -> ColorizedImage:
    """Colorize one photo at its full resolution.

    `predictor` gives the model's ab at the render size (ModelPredictor, or the Colorizer,
    which adds the reference photo and falls back to a smaller size or the CPU when a GPU runs
    out of memory). A model with hint inputs sees the hints; each hint's colour is then spread
    over what the photo shows and takes the model's place there (engine.propagation), so every
    model honours every hint. With `ab_small` (an earlier result's), the model, reference and hints are
    skipped: only the upsampling to this photo's L runs."""
    settings = settings or ColorizeSettings()
    colouring = colouring or Colouring()
    report = progress or (lambda fraction, message: None)
    notes: list[str] = []

    def check_cancel():
        if cancel is not None and cancel():
            raise Cancelled()

    l_full = image.lightness
    height, width = l_full.shape
    hints = list(colouring.hints)
    check_inside(hints, width, height)
    report(0.05, "preparing")
    check_cancel()
    if ab_small is not None:
        small_h, small_w = ab_small.shape[:2]
        if abs(small_w / small_h - width / height) > 0.02 or max(small_w, small_h) > max(width, height):
            raise ImageReadError(f"{image.path or 'the photo'}: it changed since this result was made")
        l_small = _resized(l_full, small_w, small_h)
    else:
        small_w, small_h = render_shape(width, height, settings.render_size)
        l_small = _resized(l_full, small_w, small_h)
        report(0.15, "running the model")
        hint_input = hint_map(hints, (width, height), (small_w, small_h)) if hints else None
        ab_small, warning = _checked(predictor.predict(l_small, hint_input, settings, image))
        notes += [warning] if warning else []
        check_cancel()
        if colouring.reference is not None:
            report(0.4, "matching the reference photo")
            ab_small = predictor.apply_reference(ab_small, l_small, colouring.reference, settings, image)
            check_cancel()
        if hints:
            report(0.5, "spreading the hints")
            patches = _hint_patches(hints, (small_w, small_h), (width, height))
            ab_small = predictor.spread(l_small, ab_small, patches, settings, image)
    result = finish(image, l_small, ab_small, settings, report, check_cancel, predictor.device_name)
    result.notes += notes
    return result


def _checked(ab: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The model's colour, and a warning when it is not a colour at all: non-finite numbers,
    or the same colour everywhere (a damaged model, e.g. one with absurd weights)."""
    if not np.isfinite(ab).all():
        return np.nan_to_num(ab, nan=0.0, posinf=0.0, neginf=0.0), (
            "the model's output held invalid numbers (read as grey); its file may be damaged")
    if ab.size and float(ab.reshape(-1, 2).std(axis=0).max()) < 0.05:
        return ab, "the model gave the whole photo one colour; its file may be damaged or it does not suit this photo"
    return ab, None


BAND_PIXELS = 2_000_000  # pixels per band of rows: about 40 MB of temporaries


def finish(image: LoadedImage, l_small: np.ndarray, ab_small: np.ndarray, settings: ColorizeSettings, report,
           check_cancel, device: str) -> ColorizedImage:
    """The colour at render size upsampled to the photo's L, saturated and turned into RGB,
    band by band (see FullSizeColour)."""
    l_full = image.lightness
    height, width = l_full.shape
    report(0.6, "upsampling colour")
    colour = FullSizeColour(ab_small, l_small, (height, width), settings)
    rgb = np.empty((height, width, 3), np.float32)
    rows = max(1, BAND_PIXELS // width)
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        lab = np.empty((stop - start, width, 3), np.float32)
        lab[..., 0] = l_full[start:stop]
        lab[..., 1:] = colour.rows(l_full, start, stop)
        rgb[start:stop] = color.lab_to_rgb(lab)
        report(0.6 + 0.4 * stop / height, "converting to RGB")
        check_cancel()
    report(1.0, "done")
    return ColorizedImage(rgb, image.alpha, settings.render_size, device, [], np.ascontiguousarray(ab_small),
                          l_full, settings)
