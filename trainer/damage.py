"""Simulated damage of old prints, for training and measuring the damage mask (issue 25).

Applied to a clean photo's lightness L (0-100, full resolution), it returns the damaged L and
the mask of the pixels it changed that a restoration should fill. Seeded: the same photo and
seed give the same damage.

What it draws, each kind with its own chance (`DamageRecipe`):
- scratches: straight and gently curved lines 1-5 px wide, brighter or darker than the print
  (a scratched emulsion shows white, dirt in a scratch dark), anti-aliased, their strength
  varying along them; and where asked (`aligned`), film-transport scratches: lines exactly along
  a side of the photo;
- dust and specks: small round or irregular blots 1-8 px across, mostly bright (on a scan of
  a print) or dark;
- cracks and folds: long jagged random-walk paths, 1-3 px, some branching, and folds: a
  straight bright line across the whole print with a faint shading band beside it;
- stains: soft-edged blotches that darken or lighten a region by 10-28 L (water, foxing), their
  size a part of the whole photo's (`extent` when the L is a crop of it);
- nuisance texture that is not damage and must stay out of the mask: film grain and halftone
  dots over the whole photo, and fading (lower contrast, lifted blacks).

The mask marks pixels whose lightness the damage moved by at least MASK_THRESHOLD L (a faint
anti-aliased fringe or a stain's haze is not counted); grain, halftone and fading never enter it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MASK_THRESHOLD = 4.0  # L units


@dataclass(frozen=True)
class DamageRecipe:
    scratches: float = 0.8  # chance that a photo has any
    dust: float = 0.7
    cracks: float = 0.35
    folds: float = 0.2
    stains: float = 0.35
    grain: float = 0.6
    halftone: float = 0.1
    fading: float = 0.4
    clean: float = 0.15  # chance of no damage at all (only the nuisance texture)
    faint: float = 0.0  # chance that a photo's damage is faint (a fifth to 0.6 of its strength), as on real prints
    # Chance that the damage is blurred (a Gaussian of 0.5-1.2 px) as a print's optics blur it
    # with the photo: drawn sharp, it is sharper than the photo's own lines, and the networks
    # trained so tell damage by its sharpness (the damage model card; d17, trained with half
    # the damage soft, found more soft damage but did not take fewer sharp lines for damage).
    soft: float = 0.0
    # Chance that the photo also has film-transport scratches: lines exactly along one of its
    # sides, unbent, as the film's path through a camera or enlarger drags them and a scan square
    # to the film shows them. The scratches above wander by degrees; a mark filter that never saw
    # a line this straight learned that one is a frame or an edge of the photo's own (d21 left
    # the suite's plain dark scratch, and d19 does once it carries grain).
    aligned: float = 0.0
    # Chance that a training crop's photo itself holds straight lines edge to edge that are not
    # damage: a collage's panel borders, a mount's frame, window bars (`framed`). Given
    # film-transport scratches, d29 filled a collage's white panel borders as scratches.
    frames: float = 0.0


def framed(lightness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """L with one to three flat lines painted across it edge to edge, exactly upright or level,
    2-8 px wide, near white or near black: photo content (never in the mask). They replace the
    photo where they lie, where a scratch adds to it and the photo's texture shows through."""
    out = np.array(lightness, np.float32, copy=True)
    height, width = out.shape
    for _ in range(int(rng.integers(1, 4))):
        thickness = int(rng.integers(2, 9))
        value = rng.uniform(92, 100) if rng.random() < 0.6 else rng.uniform(0, 8)
        if rng.random() < 0.5:
            start = int(rng.integers(0, max(1, height - thickness)))
            out[start : start + thickness, :] = value
        else:
            start = int(rng.integers(0, max(1, width - thickness)))
            out[:, start : start + thickness] = value
    return out


STAIN_FIELD_SIDE = 256  # a larger photo's stains are drawn at this size, then cut to the crop


def _scale(shape) -> float:
    """Damage is drawn in proportion to the photo: counts per megapixel-ish, sizes in pixels."""
    return max(shape) / 1000.0


def _draw_scratches(height, width, rng, canvas, extent):
    for _ in range(int(rng.integers(1, 9))):
        thickness = int(rng.choice([1, 1, 1, 2, 2, 3, 4, 5]))
        # A scratch on the print shows white, one on the negative prints black.
        strength = rng.uniform(15, 60) * rng.choice([1, -1])
        length = rng.uniform(0.15, 1.0) * extent
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        angle = rng.uniform(0, np.pi)
        if rng.random() < 0.6:  # film scratches run along the film: near vertical
            angle = np.pi / 2 + rng.normal(0, 0.08)
        bend = rng.normal(0, 0.15)
        points = []
        for t in np.linspace(-0.5, 0.5, 24):
            direction = angle + bend * t
            points.append((x0 + t * length * np.cos(direction), y0 + t * length * np.sin(direction)))
        line = np.zeros((height, width), np.float32)
        cv2.polylines(line, [np.round(np.array(points) * 4).astype(np.int32)], False, 1.0,
                      thickness=thickness, lineType=cv2.LINE_AA, shift=2)
        along = cv2.resize(rng.uniform(0.5, 1.0, (1, 8)).astype(np.float32), (width, height),
                           interpolation=cv2.INTER_LINEAR) if rng.random() < 0.5 else 1.0
        canvas += strength * line * along


def _draw_film_lines(height, width, rng, canvas, extent):
    vertical = rng.random() < 0.7  # along the film: down the frame as most scans show it
    span, across = (height, width) if vertical else (width, height)
    for _ in range(int(rng.integers(1, 4))):
        thickness = int(rng.choice([1, 1, 2, 2, 3]))
        strength = rng.uniform(15, 60) * rng.choice([1, -1])
        length = rng.uniform(0.3, 1.0) * span
        start, place = rng.uniform(0, span - length), rng.uniform(0, across)
        line = np.zeros((height, width), np.float32)
        ends = [(place, start), (place, start + length)] if vertical else [(start, place), (start + length, place)]
        (x0, y0), (x1, y1) = (np.round(np.array(point) * 4).astype(int) for point in ends)
        cv2.line(line, (int(x0), int(y0)), (int(x1), int(y1)), 1.0, thickness=thickness, lineType=cv2.LINE_AA, shift=2)
        along = cv2.resize(rng.uniform(0.5, 1.0, (1, 8)).astype(np.float32), (width, height),
                           interpolation=cv2.INTER_LINEAR) if rng.random() < 0.5 else 1.0
        canvas += strength * line * along


def _draw_dust(height, width, rng, canvas, extent):
    count = int(rng.integers(5, 120) * max(_scale((height, width)), 0.3))
    bright = rng.random() < 0.75
    for _ in range(count):
        radius = float(rng.choice([0.5, 1, 1, 1.5, 2, 3, 4]))
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        strength = rng.uniform(15, 70) * (1 if bright or rng.random() < 0.2 else -1)
        blot = np.zeros((height, width), np.float32)
        if rng.random() < 0.7:
            cv2.circle(blot, (int(x * 4), int(y * 4)), max(int(radius * 4), 2), 1.0, -1, cv2.LINE_AA, shift=2)
        else:  # an irregular fleck: a few joined dots
            for _ in range(int(rng.integers(2, 6))):
                cv2.circle(blot, (int((x + rng.normal(0, radius)) * 4), int((y + rng.normal(0, radius)) * 4)),
                           max(int(radius * 2), 2), 1.0, -1, cv2.LINE_AA, shift=2)
        canvas += strength * blot


def _draw_cracks(height, width, rng, canvas, extent):
    for _ in range(int(rng.integers(1, 4))):
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        heading = rng.uniform(0, 2 * np.pi)
        step = max(2.0, extent / 200)
        points = [(x, y)]
        for _ in range(int(rng.integers(40, 200))):
            heading += rng.normal(0, 0.5)
            x, y = x + step * np.cos(heading), y + step * np.sin(heading)
            points.append((x, y))
        line = np.zeros((height, width), np.float32)
        cv2.polylines(line, [np.round(np.array(points) * 4).astype(np.int32)], False, 1.0,
                      thickness=int(rng.choice([1, 1, 2, 3])), lineType=cv2.LINE_AA, shift=2)
        canvas += rng.uniform(20, 55) * rng.choice([1, -1]) * line


def _draw_fold(height, width, rng, canvas, extent):
    vertical = rng.random() < 0.5
    position = rng.uniform(0.2, 0.8) * (width if vertical else height)
    tilt = rng.normal(0, 0.02) * (height if vertical else width)
    line = np.zeros((height, width), np.float32)
    if vertical:
        start, end = (position - tilt / 2, 0), (position + tilt / 2, height)
    else:
        start, end = (0, position - tilt / 2), (width, position + tilt / 2)
    cv2.line(line, tuple(int(v * 4) for v in start), tuple(int(v * 4) for v in end), 1.0,
             int(rng.choice([1, 2, 3])), cv2.LINE_AA, shift=2)
    canvas += rng.uniform(25, 60) * line


def _stain_field(height, width, rng) -> np.ndarray:
    small = (max(4, width // 16), max(4, height // 16))
    field = cv2.resize(rng.normal(0, 1, (small[1], small[0])).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), max(height, width) / 60)
    return field / (field.std() + 1e-6)


def _draw_stains(height, width, rng, canvas, extent):
    if extent <= max(height, width):
        field = _stain_field(height, width, rng)
    else:
        # A crop of a larger photo: the stains are that photo's, as large as they are on it (drawn
        # on the crop alone they would shrink to specks the size of the crop's sixtieth), drawn on a
        # square photo at a low size and cut out where the crop lies.
        zoom = STAIN_FIELD_SIDE / extent
        whole = _stain_field(STAIN_FIELD_SIDE, STAIN_FIELD_SIDE, rng)
        left = rng.uniform(0, max(0.0, STAIN_FIELD_SIDE - width * zoom))
        top = rng.uniform(0, max(0.0, STAIN_FIELD_SIDE - height * zoom))
        to_whole = np.float32([[zoom, 0, left], [0, zoom, top]])
        field = cv2.warpAffine(whole, to_whole, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
    threshold = rng.uniform(1.5, 2.5)  # a few blotches, not a wash over the print
    blotch = np.clip((field - threshold) * 4.0, 0, 1)  # a water stain's edge is a rim, not a haze
    canvas += rng.uniform(10, 28) * rng.choice([-1, -1, 1]) * blotch


def _grain(lightness, rng):
    sigma = rng.uniform(0.8, 3.5)
    noise = rng.normal(0, sigma, lightness.shape).astype(np.float32)
    if rng.random() < 0.5:  # clumped grain
        noise = cv2.GaussianBlur(noise, (0, 0), 0.7) * 1.6
    return lightness + noise


def _halftone(lightness, rng):
    period = rng.uniform(3, 6)
    y, x = np.mgrid[0 : lightness.shape[0], 0 : lightness.shape[1]].astype(np.float32)
    dots = np.cos(2 * np.pi * x / period) * np.cos(2 * np.pi * y / period)
    return lightness + rng.uniform(2, 5) * dots


def _fade(lightness, rng):
    contrast = rng.uniform(0.55, 0.9)
    lift = rng.uniform(3, 20)
    return lift + contrast * lightness + (1 - contrast) * 30.0


KINDS = ("scratches", "dust", "cracks", "folds", "stains")


def _draw_kind(name, draw, height, width, rng, canvas, extent, kinds) -> None:
    before = None if kinds is None else canvas.copy()
    draw(height, width, rng, canvas, extent)
    if kinds is not None:
        kinds[name] = np.abs(canvas - before) >= MASK_THRESHOLD


def simulate_damage(lightness: np.ndarray, seed, recipe: DamageRecipe = DamageRecipe(), extent: float | None = None,
                    kinds: dict | None = None):
    """(damaged L, mask) for a clean L (H, W) in [0, 100]; `seed` an int or a list of ints.
    `extent`: the longer side of the photo this L is a crop of (None: the L is the whole photo);
    scratches, cracks and stains are drawn as large as they would be on that photo. `kinds`: a
    dict that gets, for each kind drawn (KINDS), where it moved the lightness by MASK_THRESHOLD
    (the damage itself is the same with or without it)."""
    rng = np.random.default_rng(seed)
    clean = np.asarray(lightness, np.float32)
    height, width = clean.shape
    extent = max(height, width) if extent is None else max(float(extent), height, width)
    canvas = np.zeros_like(clean)  # how much each pixel's lightness moves
    if rng.random() >= recipe.clean:
        drawn = False
        for name, chance, draw in zip(KINDS, (recipe.scratches, recipe.dust, recipe.cracks, recipe.folds, recipe.stains),
                                      (_draw_scratches, _draw_dust, _draw_cracks, _draw_fold, _draw_stains)):
            if rng.random() < chance:
                _draw_kind(name, draw, height, width, rng, canvas, extent, kinds)
                drawn = True
        if not drawn:
            _draw_kind("dust", _draw_dust, height, width, rng, canvas, extent, kinds)
        if recipe.aligned > 0 and rng.random() < recipe.aligned:  # no draw at 0: seeded damage stays as it was
            scratched = None if kinds is None else kinds.get("scratches")
            _draw_kind("scratches", _draw_film_lines, height, width, rng, canvas, extent, kinds)
            if scratched is not None:
                kinds["scratches"] |= scratched
        if recipe.faint > 0 and rng.random() < recipe.faint:  # no draw at 0: seeded damage stays as it was
            canvas *= rng.uniform(0.2, 0.6)
            if kinds is not None:
                for name in kinds:
                    kinds[name] &= np.abs(canvas) >= MASK_THRESHOLD
        if recipe.soft > 0 and rng.random() < recipe.soft:  # no draw at 0, as for faint
            canvas = cv2.GaussianBlur(canvas, (0, 0), rng.uniform(0.5, 1.2), borderType=cv2.BORDER_REFLECT)
            if kinds is not None:
                for name in kinds:
                    spread = cv2.dilate(kinds[name].view(np.uint8), np.ones((7, 7), np.uint8)).view(bool)
                    kinds[name] = spread & (np.abs(canvas) >= MASK_THRESHOLD)  # 3 px: how far the blur carries
    damaged = clean + canvas
    mask = np.abs(np.clip(damaged, 0, 100) - np.clip(clean, 0, 100)) >= MASK_THRESHOLD
    # Nuisance texture and tone: over the whole photo, damaged and clean parts alike.
    if rng.random() < recipe.fading:
        damaged = _fade(damaged, rng)
    if rng.random() < recipe.halftone:
        damaged = _halftone(damaged, rng)
    if rng.random() < recipe.grain:
        damaged = _grain(damaged, rng)
    return np.clip(damaged, 0, 100).astype(np.float32), mask


def nuisance_only(lightness: np.ndarray, seed, recipe: DamageRecipe = DamageRecipe()) -> np.ndarray:
    """The clean photo with only grain, halftone and fading: what must get an empty mask."""
    return simulate_damage(lightness, seed, DamageRecipe(**{**recipe.__dict__, "clean": 1.0}))[0]
