"""The mark filter of the damage network: which marks the per-pixel network found are the photo's own.

The per-pixel network sees about 120 px around a pixel; a mast, a window frame or a wire is a
thin bright or dark line there, as a scratch is, and filling one paints part of the photo out
(on Kodak 24 such false marks cost the restored L about 1 dB and left 10 of 24 clean photos
outside 40 dB of themselves). Judged whole, a mark tells more: its extent and shape, how sure
the network was over all of it, how it stands out from the photo around it. So each mark (a
connected region at the operating point that holds a far surer pixel: what
`engine.restore.found_damage` fills at strength 0.5) of at least MIN_SCORED_AREA pixels is
described by MARK_FEATURES numbers, and a small MLP gives the chance that it is damage; a mark
below 0.5 is the photo's own.

`mark_features` is the one definition of what the filter sees, for training and for use alike.
Small marks (dust, specks) are not scored: they are most of the marks but a sixth of the
false marks' pixels, and scoring them would cost most of the time.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import torch
import torch.nn as nn

OPERATING_CHANCE = 0.5  # the network's own 0.5 is its operating point (strength 0.5)
SEED_MARGIN = float(np.log(19.0))  # logits: at the network's own 0.5 a found region holds a pixel of 0.95
MIN_SCORED_AREA = 20  # px
PAD = 12  # px around a mark's box that its filters see (a Gaussian of sigma 4 reaches 12)
RING = 7  # px: the square a mark is widened by to find the photo around it
_RING_SQUARE = np.ones((RING, RING), np.uint8)
FEATURE_NAMES = (
    "log area", "log long side", "log elongation", "log box per pixel", "log long side per photo side",
    "mean logit", "share sure", "ring mean logit",
    "against median 5", "abs against median 5", "against blur 4", "against ring", "inside spread", "ring spread",
    "ring gradient", "ring lightness", "touches border", "photo share marked",
    "sides differ", "against sides", "sides differ per against")
MARK_FEATURES = len(FEATURE_NAMES)


class Marks(NamedTuple):
    """The marks of a chance map at a threshold: connected-component labels of the pixels at
    or above it, their stats (cv2's left, top, width, height, area; None unless asked for) and
    which of them hold a pixel SEED_MARGIN surer (the marks; the others are left alone)."""

    labels: np.ndarray
    stats: np.ndarray | None
    seeded: np.ndarray

    def scored(self) -> np.ndarray:
        """The indices of the marks the filter judges."""
        return np.flatnonzero(self.seeded & (self.stats[:, cv2.CC_STAT_AREA] >= MIN_SCORED_AREA))


def find_marks(chance: np.ndarray, threshold: float, with_stats: bool = False) -> Marks:
    candidates = at_least(chance, threshold)
    sure = at_least(chance, 1.0 / (1.0 + np.exp(-(np.log(threshold / (1.0 - threshold)) + SEED_MARGIN))))
    if not candidates.any():
        return Marks(np.zeros(chance.shape, np.int32), np.zeros((1, 5), np.int32), np.zeros(1, bool))
    if with_stats:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates.view(np.uint8), connectivity=8)
    else:
        (count, labels), stats = cv2.connectedComponents(candidates.view(np.uint8), connectivity=8), None
    seeded = np.zeros(count, bool)
    seeded[labels[sure]] = True
    seeded[0] = False
    return Marks(labels, stats, seeded)


def at_least(chance: np.ndarray, value: float) -> np.ndarray:
    """chance >= value; for float16 chances (never negative) on their bits as integers, whose
    order is the values' order (numpy compares float16 ten times slower: 35 ms at 12 MP)."""
    if chance.dtype != np.float16:
        return chance >= value
    bound = np.float16(value)
    if bound < value:
        bound = np.nextafter(bound, np.float16(np.inf))
    return chance.view(np.uint16) >= bound.view(np.uint16)


def mark_features(lightness: np.ndarray, chance: np.ndarray, marks: Marks, indices: np.ndarray) -> np.ndarray:
    """(len(indices), MARK_FEATURES) float32 for those marks of L (H, W) in [0, 100] and its
    damage chance: each from its box with PAD px around it, so a 12 MP photo costs what its
    marks cover."""
    height, width = lightness.shape
    side = float(max(height, width))
    candidate_share = float(marks.stats[1:, cv2.CC_STAT_AREA].sum()) / (height * width)
    rows = np.zeros((len(indices), MARK_FEATURES), np.float32)
    for row, index in enumerate(indices):
        rows[row] = _described(lightness, chance, marks, int(index), side, candidate_share)
    return rows


def _described(lightness: np.ndarray, chance: np.ndarray, marks: Marks, index: int, side: float,
               candidate_share: float) -> tuple:
    """One mark's features (mark_features)."""
    height, width = lightness.shape
    left, top, box_w, box_h, area = (int(v) for v in marks.stats[index])
    y0, y1 = max(0, top - PAD), min(height, top + box_h + PAD)
    x0, x1 = max(0, left - PAD), min(width, left + box_w + PAD)
    lab = marks.labels[y0:y1, x0:x1]
    inside = lab == index
    light = np.ascontiguousarray(lightness[y0:y1, x0:x1], np.float32)
    box_chance = chance[y0:y1, x0:x1]
    median = cv2.medianBlur(light, 5)
    blurred = cv2.GaussianBlur(light, (0, 0), 4)
    ring = (cv2.dilate(inside.view(np.uint8), _RING_SQUARE) > 0) & (lab == 0)
    if not ring.any():
        ring = ~inside if (~inside).any() else inside
    # The pixels' places once, every map read at them (numpy's calls, not its sums, are the cost).
    ys, xs = np.nonzero(inside)
    ry, rx = np.nonzero(ring)
    light_in, light_ring = light[ys, xs], light[ry, rx]
    logit_in, logit_ring = logit_of(box_chance[ys, xs]), logit_of(box_chance[ry, rx])
    against_median = light_in - median[ys, xs]
    gradient_ring = np.hypot(cv2.Sobel(blurred, cv2.CV_32F, 1, 0)[ry, rx], cv2.Sobel(blurred, cv2.CV_32F, 0, 1)[ry, rx])
    ring_mean = light_ring.mean()
    long_side = float(max(box_w, box_h))
    touches = left == 0 or top == 0 or left + box_w >= width or top + box_h >= height
    differ, against = _sides(light, inside, ys, xs, area / long_side)
    return (
        np.log(area), np.log(long_side), np.log(long_side**2 / area), np.log(box_w * box_h / area),
        np.log(long_side / side),
        logit_in.mean(), float(np.mean(logit_in >= SEED_MARGIN)), logit_ring.mean(),
        against_median.mean(), np.abs(against_median).mean(), (light_in - blurred[ys, xs]).mean(),
        light_in.mean() - ring_mean, light_in.std(), light_ring.std(), gradient_ring.mean(), ring_mean,
        float(touches), candidate_share, differ, against, differ / (abs(against) + 1.0))


def logit_of(chance: np.ndarray) -> np.ndarray:
    p = np.clip(chance.astype(np.float32), 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def _sides(light: np.ndarray, inside: np.ndarray, ys: np.ndarray, xs: np.ndarray,
           mark_width: float) -> tuple[float, float]:
    """How much the photo on the two sides of a mark differs (mean |L+ - L-|, a little beyond
    its width, across its local direction) and how the mark stands against their mean: a scratch
    lies over one continuous stretch of the photo, a window frame's edge between a dark shutter
    and a bright pane. `ys`, `xs`: the mark's pixels."""
    smooth = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.5)
    gx, gy = cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    tensor = cv2.GaussianBlur(np.dstack([gx * gx, gx * gy, gy * gy]), (0, 0), 3)  # one pass for the three
    jxx, jxy, jyy = tensor[ys, xs].T
    angle = 0.5 * np.arctan2(2 * jxy, jxx - jyy)  # the normal: across the mark
    reach = min(max(mark_width, 1.0), 8.0) / 2 + 3.0
    height, width = light.shape
    step_y, step_x = reach * np.sin(angle), reach * np.cos(angle)
    sides = []
    for sign in (1.0, -1.0):
        y = np.clip(np.round(ys + sign * step_y), 0, height - 1).astype(np.intp)
        x = np.clip(np.round(xs + sign * step_x), 0, width - 1).astype(np.intp)
        sides.append(light[y, x])
    return float(np.abs(sides[0] - sides[1]).mean()), float((light[ys, xs] - (sides[0] + sides[1]) / 2).mean())


class MarkFilter(nn.Module):
    """(N, MARK_FEATURES) features -> (N,) logits that a mark is damage: the features held to
    the range the training marks spanned (a 12 MP photo's scratch is longer than any on the
    training photos, and an MLP's answer beyond what it saw is anyone's guess), standardised by
    their mean and spread, then a two-layer MLP."""

    def __init__(self, hidden: int = 32, features: int = MARK_FEATURES):
        """`features`: MARK_FEATURES, or networks.specks.SPECK_FEATURES for the speck filter."""
        super().__init__()
        self.register_buffer("low", torch.full((features,), -1e6))
        self.register_buffer("high", torch.full((features,), 1e6))
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("scale", torch.ones(features))
        self.mlp = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp((torch.maximum(torch.minimum(features, self.high), self.low) - self.mean) / self.scale)[:, 0]

    def shift(self, cut: float) -> None:
        """Make `cut` (in logits) the filter's 0."""
        with torch.no_grad():
            self.mlp[-1].bias -= cut


class FilterEnsemble(nn.Module):
    """The mean logit of several filters fitted alike from different first weights. One MLP fitted
    to some tens of thousands of marks is far from smooth between them: refitted from another
    seed, its score for a plain dark scratch on a smooth sky moved from -1.6 to +4.1 logits
    (d21's marks), and which of them ships is luck; their mean is steadier and, on the held-out
    marks, more precise."""

    def __init__(self, members: int, hidden: int = 32, features: int = MARK_FEATURES):
        super().__init__()
        self.members = nn.ModuleList(MarkFilter(hidden, features) for _ in range(members))

    @classmethod
    def of(cls, filters: list[MarkFilter]) -> "FilterEnsemble":
        ensemble = cls(0)
        ensemble.members = nn.ModuleList(filters)
        return ensemble.eval()

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([member(features) for member in self.members]).mean(0)

    def shift(self, cut: float) -> None:
        for member in self.members:
            member.shift(cut)


def filter_of(hidden: int, features: int = MARK_FEATURES, members: int = 0) -> MarkFilter | FilterEnsemble:
    """A blank mark or speck filter: one MLP (`members` 0 or 1, as every network before
    ensembles was saved) or the mean of `members`."""
    return FilterEnsemble(members, hidden, features) if members > 1 else MarkFilter(hidden, features)


@torch.inference_mode()
def without_photo_marks(lightness: np.ndarray, chance: np.ndarray, marks_filter: nn.Module | None,
                        speck_filter: nn.Module | None = None) -> np.ndarray:
    """`chance` with the marks the filter judges the photo's own set to 0 (in place): they are
    filled at no strength, only where the user brushes them. `speck_filter` (networks.specks)
    judges the marks too small for `marks_filter` alike."""
    from .specks import scored_specks, speck_features

    marks = find_marks(chance, OPERATING_CHANCE, with_stats=True)
    own = []
    for judge, chosen, described in ((marks_filter, marks.scored, mark_features),
                                     (speck_filter, lambda: scored_specks(marks), speck_features)):
        indices = chosen() if judge is not None else []
        if len(indices):
            features = torch.from_numpy(described(lightness, chance, marks, indices))
            own.extend(indices[judge.eval()(features).numpy() < 0])
    # Only the boxes of those marks are touched: a 12 MP label map compared whole costs 30 ms.
    for index in own:
        left, top, box_w, box_h, _ = (int(v) for v in marks.stats[index])
        box = (slice(top, top + box_h), slice(left, left + box_w))
        chance[box][marks.labels[box] == index] = 0
    return chance
