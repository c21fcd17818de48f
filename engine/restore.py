"""Restoring an old print's lightness before it is colorized: find the damage, fill only it.

- `damage_probability`: the damage network (engine.networks.damage) over the photo at full
  resolution, a band of rows at a time; the mask is the pixels above a threshold that the
  Restore strength sets and joined to a pixel far surer of being damage (`found_damage`), with
  the user's brush strokes added or erased.
- `fill`: each masked pixel is rebuilt from its surroundings: the surroundings' smooth
  lightness brought across the mask (a push-pull pyramid, any hole size in one pass) plus the
  pixel's own detail against the mask's smooth lightness, so a stain keeps the texture under
  it and a scratch (flat inside) takes the surroundings' tone; where the damage wiped out the
  photo's grain, grain of the surroundings' strength is put back, so the fill does not look
  pasted. Pixels outside the mask are never changed.
- `tone`: an optional levels fix for fading, off by default (see the model card for why).
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import torch

from .edit import RestoreEdit
from .kernel_threads import one_thread_per_kernel
from .networks.damage import (CONTEXT_SCALE, LOCAL_CHANNELS, DamageNet, context_features, context_lightness,
                              context_rows, local_planes, pool_features)
from .networks.marks import find_marks, without_photo_marks
from .networks.stains import stain_chance, stain_logits

BAND_ROWS = 256  # rows of the full-size photo the head sees at once (about 40 MB of features at 4,000 px)
FIND_THREADS = min(2, os.cpu_count() or 1)  # bands side by side: one band alone keeps 1.5 of 2 cores busy
BAND_MARGIN = 16  # rows above and below a band that its filters see: a 15 px opening reaches 14
DETAIL_SIGMA = 2.0  # px: what counts as a pixel's own detail against the mask's smooth lightness
GRAIN_SIGMA = 12.0  # px: how far around a hole its grain is measured


def damage_probability(lightness: np.ndarray, net: DamageNet, progress=None, judge_marks: bool = True) -> np.ndarray:
    """(H, W) float16 chance of damage for each pixel of L (H, W) in [0, 100]: the per-pixel
    network's, or the stain branch's where that is higher; with the network's mark filter (and
    `judge_marks`), 0 on the marks it judges the photo's own."""
    chance = pixel_damage_probability(lightness, net, progress)
    if net.stains is not None:
        chance = joined_chance(chance, stain_chance(stain_logits(lightness, net.stains), chance.shape))
    if (net.marks is not None or net.specks is not None) and judge_marks:
        chance = without_photo_marks(lightness, chance, net.marks, net.specks)
    return chance


def joined_chance(pixel: np.ndarray, stain: np.ndarray) -> np.ndarray:
    """The higher of two float16 chances at each pixel, written into `pixel`: on their bits, whose
    order for chances (never negative) is the values' (`networks.marks.at_least`; 2 ms at 12 MP, numpy's
    float16 maximum 25 ms)."""
    np.maximum(pixel.view(np.uint16), stain.view(np.uint16), out=pixel.view(np.uint16))
    return pixel


@torch.inference_mode()
def pixel_damage_probability(lightness: np.ndarray, net: DamageNet, progress=None) -> np.ndarray:
    """(H, W) float16 chance of damage for each pixel of L (H, W) in [0, 100] by the per-pixel
    network alone (without the stain branch)."""
    net = net.eval()
    height, width = lightness.shape
    starts = range(0, height, BAND_ROWS)
    # Two passes over bands of rows: the context needs the whole photo's pooled filters first;
    # the filters are computed again for the head rather than kept (at 12 MP they would be
    # 450 MB, and fresh memory costs more to touch than the filters cost to compute).
    rooms = threading.local()  # each thread's band buffers, reused band after band

    def room_for_planes() -> np.ndarray:
        if not hasattr(rooms, "planes"):
            rooms.planes = np.empty((LOCAL_CHANNELS, min(height, BAND_ROWS + 2 * BAND_MARGIN), width), np.float32)
        return rooms.planes

    with ThreadPoolExecutor(FIND_THREADS) as pool:
        with one_thread_per_kernel():
            pooled = list(pool.map(lambda start: pool_features(_band_planes(lightness, start, room_for_planes())),
                                   starts))
        if progress is not None:
            progress(0.4)
        small = context_lightness(lightness)
        features = context_features(small, np.concatenate(pooled), net.config.version)
        pooled_t = torch.from_numpy(np.ascontiguousarray(features.transpose(2, 0, 1)))
        context = net.context(torch.from_numpy(small)[None, None], pooled_t[None])[0].permute(1, 2, 0).contiguous().numpy()
        out = np.empty((height, width), np.float16)

        def head(start: int) -> None:
            if not hasattr(rooms, "resized"):
                rooms.resized = np.empty(((BAND_ROWS // CONTEXT_SCALE + 6) * CONTEXT_SCALE,
                                          context.shape[1] * CONTEXT_SCALE, context.shape[2]), np.float32)
            with torch.inference_mode():  # per thread
                local = _band_planes(lightness, start, room_for_planes())
                rows = slice(start, start + local.shape[1])
                logits = net.pixel_logits(torch.from_numpy(local),
                                          torch.from_numpy(context_rows(context, (height, width), rows, rooms.resized)))
                out[rows] = torch.sigmoid_(logits).numpy()

        with one_thread_per_kernel():
            for done, _ in enumerate(pool.map(head, starts), start=1):
                if progress is not None:
                    progress(0.4 + 0.6 * done / len(starts))
    return out


def _band_rows(height: int, start: int) -> tuple[int, int, slice]:
    """The rows a band's filters read, and where the band lies in them."""
    top, bottom = max(0, start - BAND_MARGIN), min(height, start + BAND_ROWS + BAND_MARGIN)
    return top, bottom, slice(start - top, start - top + min(BAND_ROWS, height - start))


def _band_planes(lightness: np.ndarray, start: int, room: np.ndarray) -> np.ndarray:
    """The filter responses of rows [start, start + BAND_ROWS), (LOCAL_CHANNELS, rows, W), written
    into `room` (the same for every band): the filters see a margin above and below, so bands
    join without seams."""
    top, bottom, band = _band_rows(lightness.shape[0], start)
    return local_planes(lightness[top:bottom], room[:, : bottom - top])[:, band]


UNTOUCHED, ADDED, ERASED = 0, 1, 2


def stroke_states(shape: tuple[int, int], strokes, scale: float = 1.0) -> np.ndarray:
    """(H, W) uint8: which pixels the strokes added to the mask or erased from it, the later
    stroke winning where two cross (one canvas, drawn in order). `scale`: the canvas's size
    against the photo's (a preview's strokes are drawn at its own size)."""
    states = np.zeros(shape, np.uint8)
    for stroke in strokes:
        value = ADDED if stroke.add else ERASED
        points = np.round(np.array(stroke.points, np.float64) * (4 * scale)).astype(np.int32)
        radius = stroke.radius * scale
        if len(points) == 1:
            cv2.circle(states, tuple(int(v) for v in points[0]), max(1, int(round(radius * 4))), value, -1,
                       cv2.LINE_8, shift=2)
        else:
            cv2.polylines(states, [points], False, value, thickness=max(1, int(round(radius * 2))),
                          lineType=cv2.LINE_8, shift=2)
    return states


def found_damage(probability: np.ndarray, threshold: float) -> np.ndarray:
    """The pixels whose damage chance reaches `threshold` and that join (8-connected, through
    such pixels) one far surer of it, networks.marks.SEED_MARGIN higher in logits: a scratch is followed
    along its faint stretches, while faint lone marks on the photo's own texture are left alone."""
    marks = find_marks(probability, threshold)
    return marks.seeded[marks.labels]


def damage_mask(probability: np.ndarray, edit: RestoreEdit) -> np.ndarray:
    """The pixels to fill: found by the network at the edit's threshold (`found_damage`), with
    the strokes applied in order (later strokes win where they cross)."""
    return damage_masks(probability, edit)[0]


def damage_masks(probability: np.ndarray, edit: RestoreEdit) -> tuple[np.ndarray, np.ndarray | None]:
    """(the pixels to fill, where the user's strokes added damage or None without such
    strokes): a brush is wider than the scratch under it, so the fill keeps none of the
    marked pixels' own detail there."""
    return _with_strokes(found_damage(probability, edit.threshold), edit, 1.0)


def _with_strokes(found: np.ndarray, edit: RestoreEdit, scale: float) -> tuple[np.ndarray, np.ndarray | None]:
    """damage_masks' pair from the found mask at some size, the strokes drawn at that size."""
    if not edit.strokes:
        return found, None
    states = stroke_states(found.shape, edit.strokes, scale)
    added = states == ADDED
    return (found & (states != ERASED)) | added, (added if added.any() else None)


def _overlay(mask: np.ndarray, side: int) -> np.ndarray:
    """The mask at most `side` on its long side."""
    height, width = mask.shape
    factor = min(1.0, side / max(height, width))
    return mask_at(mask, (max(1, round(height * factor)), max(1, round(width * factor))))


def mask_at(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The mask at another (smaller) size, a pixel set where any pixel it covers is: a
    one-pixel scratch stays in a preview."""
    height, width = shape
    if mask.shape == (height, width):
        return mask
    ys = (np.arange(mask.shape[0]) * height // mask.shape[0]).astype(np.intp)
    xs = (np.arange(mask.shape[1]) * width // mask.shape[1]).astype(np.intp)
    out = np.zeros((height, width), bool)
    rows, cols = np.nonzero(mask)
    out[ys[rows], xs[cols]] = True
    return out


def _push_pull(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """`values` where `weights` > 0, filled elsewhere from the weighted surroundings at ever
    coarser scales (a pyramid: holes of any size in O(pixels))."""
    levels = [(values * weights, weights)]
    while max(levels[-1][1].shape) > 1 and levels[-1][1].min() <= 0:
        weighted, weight = levels[-1]
        size = (max(1, (weight.shape[1] + 1) // 2), max(1, (weight.shape[0] + 1) // 2))
        levels.append((cv2.resize(weighted, size, interpolation=cv2.INTER_AREA),
                       cv2.resize(weight, size, interpolation=cv2.INTER_AREA)))
    weighted, weight = levels[-1]
    filled = weighted / np.maximum(weight, 1e-12)
    for weighted, weight in reversed(levels[:-1]):
        coarse = cv2.resize(filled, (weight.shape[1], weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        confidence = np.clip(weight * 4.0, 0.0, 1.0)  # a cell with some support keeps its own value
        own = weighted / np.maximum(weight, 1e-12)
        filled = confidence * own + (1.0 - confidence) * coarse
    return filled


TILE = 256  # the fill works tile by tile where there is damage: a few scratches cost little on 12 MP (128: the
# windows overlap so much that a fill of dust all over a 12 MP photo took twice as long, 1.2 against 0.6 s)
TILE_PAD = 32
FILL_THREADS = min(4, os.cpu_count() or 1)  # OpenCV and NumPy let go of the GIL for a tile's work


class FillCache:
    """The last fill of one photo, so that the next (a stroke more or less) rebuilds only the
    tiles whose surroundings changed: the result is the same as a whole fill, at a fraction of
    the cost. Keep one per photo and size; a different photo or size starts afresh."""

    def __init__(self):
        self.lightness = None
        self.mask = None
        self.marked = None
        self.out = None
        self.used_coarse = False
        self.found = None  # (probability, threshold, shape, the mask found at that shape)


def fill(lightness: np.ndarray, mask: np.ndarray, seed: int | None = None,
         marked: np.ndarray | None = None, cache: FillCache | None = None) -> np.ndarray:
    """L with the masked pixels rebuilt from their surroundings; the rest exactly as it was.
    `marked`: where a brush marked the damage (damage_masks): there the masked pixels' own
    detail is not kept, since a stroke is wider than the scratch under it. `cache`: the last
    fill of this same photo (see FillCache)."""
    lightness = np.asarray(lightness, np.float32)
    if cache is None and not mask.any():
        return lightness.copy()
    height, width = mask.shape
    if seed is None:
        sample = np.ascontiguousarray(lightness[:: max(1, height // 64), :: max(1, width // 64)])
        seed = int.from_bytes(hashlib.sha1(sample.tobytes()).digest()[:4], "little")
    rows, cols = -(-height // TILE), -(-width // TILE)
    padded = np.zeros((rows * TILE, cols * TILE), bool)
    padded[:height, :width] = mask
    damaged_tiles = padded.reshape(rows, TILE, cols, TILE).any(axis=(1, 3))
    todo = damaged_tiles
    reusable = (cache is not None and cache.out is not None and not cache.used_coarse
                and cache.lightness is lightness and cache.mask.shape == mask.shape)
    if reusable:
        out = cache.out.copy()
        changed = np.zeros_like(padded)
        changed[:height, :width] = (mask != cache.mask) | (_or_none(marked, mask.shape) != _or_none(cache.marked, mask.shape))
        reach = -(-TILE_PAD // TILE)  # a changed pixel is in the surroundings of tiles this far away
        touched = cv2.dilate(changed.reshape(rows, TILE, cols, TILE).any(axis=(1, 3)).astype(np.uint8),
                             np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
        for row, col in zip(*np.nonzero(touched & ~damaged_tiles)):  # no damage left: as it was
            core = (slice(row * TILE, (row + 1) * TILE), slice(col * TILE, (col + 1) * TILE))
            out[core] = lightness[core]
        todo = damaged_tiles & touched
    else:
        out = lightness.copy()
    tiles = list(zip(*np.nonzero(todo)))
    coarse = None  # the surroundings of holes wider than a tile, from the whole photo at low size
    if any(_box_share(mask, row, col) > 0.9 for row, col in tiles):
        if reusable:  # those depend on the whole mask: every tile again
            cache.out = None
            return fill(lightness, mask, seed, marked, cache)
        coarse = _coarse_surroundings(lightness, mask)

    def rebuild(tile) -> None:  # each tile writes its own pixels only: the tiles run side by side
        row, col = tile
        top, left = row * TILE, col * TILE
        core = (slice(top, min(top + TILE, height)), slice(left, min(left + TILE, width)))
        box = _box(mask.shape, row, col)
        window, inside = lightness[box], mask[box].astype(np.float32)
        surroundings = coarse[box] if inside.mean() > 0.9 else _push_pull(window, 1.0 - inside)
        brushed = None if marked is None else marked[box]
        rebuilt = _rebuilt(window, inside, surroundings, np.random.default_rng([seed, int(row), int(col)]), brushed)
        local = (slice(core[0].start - box[0].start, core[0].stop - box[0].start),
                 slice(core[1].start - box[1].start, core[1].stop - box[1].start))
        target, where = out[core], mask[core]
        target[...] = lightness[core]
        target[where] = rebuilt[local][where]

    if len(tiles) > 4 and FILL_THREADS > 1:
        with ThreadPoolExecutor(FILL_THREADS) as pool:
            list(pool.map(rebuild, tiles))
    else:
        for tile in tiles:
            rebuild(tile)
    if cache is not None:
        cache.lightness, cache.mask, cache.marked, cache.out = lightness, mask.copy(), marked, out.copy()
        cache.used_coarse = coarse is not None
    return out


def _box(shape, row: int, col: int) -> tuple[slice, slice]:
    """A tile and the surroundings its fill reads."""
    top, left = row * TILE, col * TILE
    return (slice(max(0, top - TILE_PAD), min(shape[0], top + TILE + TILE_PAD)),
            slice(max(0, left - TILE_PAD), min(shape[1], left + TILE + TILE_PAD)))


def _box_share(mask: np.ndarray, row: int, col: int) -> float:
    return float(mask[_box(mask.shape, row, col)].mean())


def _or_none(marked: np.ndarray | None, shape) -> np.ndarray:
    return np.zeros(shape, bool) if marked is None else marked


def _coarse_surroundings(lightness: np.ndarray, mask: np.ndarray) -> np.ndarray:
    height, width = mask.shape
    scale = min(1.0, 1024 / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_l = cv2.resize(lightness, size, interpolation=cv2.INTER_AREA)
    small_w = cv2.resize(1.0 - mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return cv2.resize(_push_pull(small_l, small_w), (width, height), interpolation=cv2.INTER_LINEAR)


def _wide(image: np.ndarray) -> np.ndarray:
    """A Gaussian of GRAIN_SIGMA, taken at a quarter of the size (what it measures is smooth)."""
    height, width = image.shape
    small = cv2.resize(image, (max(1, width // 4), max(1, height // 4)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), GRAIN_SIGMA / 4, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


def _blur(image: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), DETAIL_SIGMA, borderType=cv2.BORDER_REFLECT)


def _rebuilt(window, inside, surroundings, rng, brushed=None) -> np.ndarray:
    """A tile's pixels rebuilt: the surroundings' smooth lightness, the pixel's own detail
    against the mask's smooth lightness (a stain keeps its texture, a flat scratch none), and
    grain of the surroundings' strength where the damage has less of it. Where a brush marked
    the damage no own detail is kept: the stroke is wider than the scratch under it, which would
    otherwise stay as "detail" (the network's own mask hugs the damage, so there the detail is
    the photo's and stays: 37.0 against 35.2 dB with none on 8 Kodak photos of the bench with the true masks).
    Only the masked pixels of the result are used, so what is pixel by pixel is worked out at
    those alone (a few in a hundred of a window); the blurs need the whole window."""
    filled = np.nonzero(inside > 0)
    support = np.maximum(_blur(inside)[filled], 1e-6)
    detail_in = window[filled] - _blur(window * inside)[filled] / support
    if brushed is not None:
        detail_in = np.where(brushed[filled], 0.0, detail_in)
    high = window - _blur(window)
    calm = (1.0 - inside) * (np.abs(high) < 8)  # grain, not edges
    grain_out = np.sqrt(np.clip(_wide(high * high * calm)[filled] / np.maximum(_wide(calm)[filled], 1e-6), 0, None))
    squared_detail = np.zeros(window.shape, np.float32)
    squared_detail[filled] = detail_in * detail_in  # the detail counts inside the mask alone
    grain_in = np.sqrt(np.clip(_blur(squared_detail)[filled] / support, 0, None))
    missing = np.sqrt(np.clip(grain_out**2 - grain_in**2, 0, None))
    noise = rng.standard_normal(len(filled[0]), dtype=np.float32)
    rebuilt = window.copy()
    rebuilt[filled] = np.clip(surroundings[filled] + detail_in + missing * noise, 0.0, 100.0)
    return rebuilt


def tone(lightness: np.ndarray) -> np.ndarray:
    """Levels for a faded print: the 0.5 and 99.5 percentiles of L stretched toward 0 and 100
    (at most doubling the contrast)."""
    low, high = np.percentile(lightness[:: max(1, lightness.shape[0] // 512), :: max(1, lightness.shape[1] // 512)],
                              (0.5, 99.5))
    span = max(high - low, 50.0)
    target_low, target_high = min(low, 5.0), max(high, 95.0)
    return np.clip(target_low + (lightness - low) * (target_high - target_low) / span, 0, 100).astype(np.float32)


def restored_view(lightness: np.ndarray, probability: np.ndarray, edit: RestoreEdit, overlay_side: int,
                  cache: FillCache | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(the restored L of the photo or of a reduced copy of it, the mask at most `overlay_side`
    on its long side), from the full-size damage probability. For a reduced copy (a preview) the
    found mask is brought down once per strength and kept in `cache`, the strokes are drawn at
    the copy's size and only the tiles a stroke touches are filled again: a stroke's preview
    costs no full-size work."""
    if lightness.shape == probability.shape:
        mask, marked = damage_masks(probability, edit)
        return fill(lightness, mask, marked=marked), _overlay(mask, overlay_side)
    shape = lightness.shape
    known = cache.found if cache is not None else None
    if known is not None and known[0] is probability and known[1:3] == (edit.threshold, shape):
        found = known[3]
    else:
        found = mask_at(found_damage(probability, edit.threshold), shape)
        if cache is not None:
            cache.found = (probability, edit.threshold, shape, found)
    mask, marked = _with_strokes(found, edit, shape[1] / probability.shape[1])
    return fill(lightness, mask, marked=marked, cache=cache), _overlay(mask, overlay_side)


def restore_note(mask: np.ndarray, edit: RestoreEdit) -> str:
    """What restoring did, in one line: the share filled, or that nothing was (and what to do:
    the network is tuned to leave a photo alone when unsure, so a real print's faint marks are
    often left at the default strength)."""
    if not mask.any():
        return (f"restored: no damage found at strength {edit.strength * 100:.0f} % (a higher strength finds "
                "fainter damage; Mark Damage paints what it misses)")
    return f"restored: {mask.mean() * 100:.3g} % of its pixels filled"


def restore(lightness: np.ndarray, net: DamageNet, edit: RestoreEdit, probability: np.ndarray | None = None):
    """(restored L, mask, probability): nothing outside the mask changes (the tone fix, when
    asked for, changes every pixel and is applied last)."""
    if probability is None:
        probability = damage_probability(lightness, net)
    mask, marked = damage_masks(probability, edit)
    restored = fill(lightness, mask, marked=marked)
    if edit.tone:
        restored = tone(restored)
    return restored, mask, probability
