"""What the user asks of a photo, and its limits: one owner for the command line, the app,
fine-tuning and the sidecar files (no torch here).

`ColorizeSettings` is how a photo is rendered; `PhotoEdit` is what a sidecar holds (hints,
a reference photo, a model, settings), where every setting is optional; `settings_for`
merges the two with one rule: what the user set explicitly (a command-line option) wins,
then the photo's edit, then the defaults.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace

DEFAULT_RENDER_SIZE = 256
MIN_RENDER_SIZE, MAX_RENDER_SIZE = 64, 4096
MIN_SATURATION, MAX_SATURATION = 0.0, 4.0
# A classifier's annealed-mean temperature (the app's Vibrance): lower is more vivid.
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 1.0
# How far a hint spreads, as a share of the photo's long side (the Hints menu's Reach).
DEFAULT_REACH = 0.2
MIN_REACH, MAX_REACH = 0.05, 1.0
UPSAMPLERS = ("guided", "bilinear")


class EditError(ValueError):
    """A setting outside its limits; the text says which and what is allowed."""


def is_finite_number(value) -> bool:
    """A JSON number that is finite and fits a float. Whole numbers are compared as they
    are: float() of a 400-digit integer raises OverflowError, which no reader expects."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(value, int):
        return -_FLOAT_LIMIT < value < _FLOAT_LIMIT
    return math.isfinite(value)


_FLOAT_LIMIT = 2**1023


def check_range(name: str, value, low, high, whole: bool = False):
    """`value` if it is a finite number (whole, if asked) within [low, high], else EditError."""
    if not is_finite_number(value) or (whole and float(value) != int(value)):
        raise EditError(f"{name} must be a {'whole ' if whole else ''}number, not {_short(value)}")
    if not low <= value <= high:
        raise EditError(f"{name} must be between {low:g} and {high:g}, not {_short(value)}")
    return int(value) if whole else float(value)


def _short(value) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and not -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
        return "a number too large"
    text = repr(value)
    return text if len(text) <= 24 else text[:20] + "..."


@dataclass
class ColorizeSettings:
    render_size: int = DEFAULT_RENDER_SIZE
    saturation: float = 1.0
    upsampler: str = "guided"
    # Vibrance of a classifier model (its annealed-mean temperature): lower is more vivid.
    # None uses the temperature the model was calibrated with; regression models ignore it.
    temperature: float | None = None
    flip_average: bool = False  # average the prediction with that of the mirrored photo
    reach: float = DEFAULT_REACH

    def __post_init__(self):
        self.render_size = check_range("render size", self.render_size, MIN_RENDER_SIZE, MAX_RENDER_SIZE, whole=True)
        self.saturation = check_range("saturation", self.saturation, MIN_SATURATION, MAX_SATURATION)
        if self.upsampler not in UPSAMPLERS:
            raise EditError(f"upsampler must be one of {UPSAMPLERS}")
        if self.temperature is not None:
            self.temperature = check_range("vibrance", self.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE)
        self.reach = check_range("reach", self.reach, MIN_REACH, MAX_REACH)


# The edit's settings and the ColorizeSettings field each one sets.
EDIT_SETTINGS = {"render_size": "render_size", "saturation": "saturation", "vibrance": "temperature",
                 "reach": "reach"}


MIN_STRENGTH, MAX_STRENGTH = 0.0, 1.0
DEFAULT_STRENGTH = 0.5
MAX_STROKES = 1000
MAX_STROKE_POINTS = 10_000


@dataclass(frozen=True)
class Stroke:
    """A brush stroke in the photo's pixels: it adds its pixels to the mask, or erases them."""

    points: tuple[tuple[float, float], ...]
    radius: float
    add: bool = True

    def __post_init__(self):
        if not self.points or len(self.points) > MAX_STROKE_POINTS:
            raise EditError(f"a stroke needs 1 to {MAX_STROKE_POINTS} points")
        for x, y in self.points:
            if not (is_finite_number(x) and is_finite_number(y)):
                raise EditError("stroke points must be finite numbers")
        if not is_finite_number(self.radius) or not 0.5 <= self.radius <= 1000:
            raise EditError("a stroke's radius must be between 0.5 and 1000 pixels")


@dataclass(frozen=True)
class RestoreEdit:
    """What the user asks of restoration: on or off, how readily damage is found, and strokes."""

    enabled: bool = False
    strength: float = DEFAULT_STRENGTH
    strokes: tuple[Stroke, ...] = field(default_factory=tuple)
    tone: bool = False

    def __post_init__(self):
        if not is_finite_number(self.strength) or not MIN_STRENGTH <= self.strength <= MAX_STRENGTH:
            raise EditError(f"restore strength must be between {MIN_STRENGTH:g} and {MAX_STRENGTH:g}")
        if len(self.strokes) > MAX_STROKES:
            raise EditError(f"at most {MAX_STROKES} restore strokes per photo")

    def with_stroke(self, stroke: Stroke) -> "RestoreEdit":
        return replace(self, strokes=self.strokes + (stroke,))

    @property
    def threshold(self) -> float:
        """The damage chance above which a pixel is filled: strength 0.5 is the network's own 0.5."""
        return min(max(1.0 - self.strength, 0.02), 0.98)


@dataclass
class PhotoEdit:
    hints: list = field(default_factory=list)  # engine.hints.Hint
    model: str | None = None
    render_size: int | None = None
    saturation: float | None = None
    vibrance: float | None = None  # a classifier's temperature; None: the model's own
    reach: float | None = None
    reference: str | None = None  # a colour photo to take colours from: absolute, or relative to the sidecar
    restore: RestoreEdit | None = None  # restoration before colour: None leaves it to the caller

    @classmethod
    def of(cls, settings: ColorizeSettings, hints=(), model: str | None = None,
           reference: str | None = None, restore: RestoreEdit | None = None) -> "PhotoEdit":
        """The edit that renders as `settings` do (what the app saves beside a photo)."""
        return cls(list(hints), model, settings.render_size, settings.saturation, settings.temperature,
                   settings.reach, reference, restore)


def settings_for(base: ColorizeSettings, edit: PhotoEdit | None, explicit: frozenset[str] = frozenset()) -> ColorizeSettings:
    """`base` with the edit's settings applied, except those named in `explicit` (set by the
    user for this run, e.g. on the command line), which keep `base`'s value."""
    if edit is None:
        return base
    changes = {}
    for edit_name, settings_name in EDIT_SETTINGS.items():
        value = getattr(edit, edit_name)
        if value is not None and settings_name not in explicit:
            changes[settings_name] = value
    return replace(base, **changes) if changes else base


SETTING_NAMES = tuple(f.name for f in fields(ColorizeSettings))
