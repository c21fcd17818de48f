"""Edge-aware spreading of hint colours (after Levin, Lischinski & Weiss, SIGGRAPH 2004).

Every model honours hints this way: each hint's presence spreads over the photo by minimising
sum w_rs (p_r - p_s)^2 + eps * sum p_r^2 + lambda * sum_hint_cells (p_r - 1)^2,
where neighbours of similar lightness (and, with an affinity head, of similar look) are tied
strongly (w near 1) and neighbours across an edge hardly at all. eps makes a hint fade with
distance (in a flat region over the reach; through texture sooner; across a strong edge, to
nothing), so a hint changes the colour of the object it lies on, and less far away: on real
photos a hint that carried further tinted everything (tried: a reach of the whole photo turned
a mountain scene blue from one hint on the rocks). Where the hints are present, their colours
mixed by presence take the place of the model's (the caller blends by the strength given).
The system is solved directly (engine.grid_solver) on a grid of at most PROPAGATION_SIZE pixels a side.
"""

from __future__ import annotations

import cv2
import numpy as np

from .edit import DEFAULT_REACH
from .grid_solver import GridSolver

PROPAGATION_SIZE = 128  # a whole spreading of two hints at 128 px: about 65 ms on 2 cores (one busy)
HINT_WEIGHT = 100.0
EDGE_SIGMA = 5.0  # L units: lightness steps much larger than this between neighbours are edges
TEXTURE_BLUR = 1.0  # grid pixels
FULL_STRENGTH = 0.6  # the share of a hint's presence from which its colour applies in full
# Neighbours tied by exp(-distance^2 * EMBEDDING_SCALE) of their embeddings as well as by
# lightness; these and the gate below were chosen on BSDS500 val (never test): see the model
# card's hint section.
EMBEDDING_SCALE = 5.0
# With an embedding, each hint's share at a pixel is also weighted by how alike the pixel
# looks to the hint's own place: 1 / (1 + exp((distance^2 - GATE_THRESHOLD) / GATE_WIDTH)),
# near 1 for places the head puts in the hint's object and near 0 for others (0: off).
GATE_THRESHOLD = 1.0
GATE_WIDTH = 0.3
# With the gate, a hint's colour applies in full from this share of its presence: the gate
# already keeps it off other objects, so it may fill its own further than FULL_STRENGTH would.
GATED_FULL_STRENGTH = 0.2


def _gated(solver, embedding: np.ndarray, hint_cells: list, colours: list) -> tuple[np.ndarray, np.ndarray]:
    """Each hint's presence solved on its own, weighted by how alike each pixel looks to the
    hint's place; the colours mixed by those weights, and the strength: full where enough reaches."""
    count = embedding.shape[0]
    rhs = np.zeros((count, len(hint_cells)))
    for column, cells in enumerate(hint_cells):
        rhs[cells, column] = HINT_WEIGHT
    presence = np.clip(solver.solve(rhs), 0.0, None)  # (count, hints)
    for column, cells in enumerate(hint_cells):
        centre = embedding[cells].mean(axis=0)
        distance = ((embedding - centre) ** 2).sum(axis=1)
        presence[:, column] /= 1.0 + np.exp(np.clip((distance - GATE_THRESHOLD) / GATE_WIDTH, -50, 50))
    total = presence.sum(axis=1)
    mixed = presence @ np.stack(colours) / np.clip(total, 1e-9, None)[:, None]
    return mixed, np.clip(total / GATED_FULL_STRENGTH, 0.0, 1.0)


def _affinities(lightness: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the horizontal and vertical neighbour pairs.

    One lightness scale for the whole photo rather than Levin's local variance: that ties
    pixels across an edge as strongly as the edge's own contrast, which is right when every
    object has a scribble but lets a lone hint's correction leak into the next object. The
    lightness is blurred a little first, so fine texture (a straw hat, foliage) does not stop
    a hint the way an object's outline does.
    """
    lightness = cv2.GaussianBlur(lightness, (0, 0), TEXTURE_BLUR)
    horizontal = np.exp(-((lightness[:, 1:] - lightness[:, :-1]) ** 2) / (2 * EDGE_SIGMA**2))
    vertical = np.exp(-((lightness[1:] - lightness[:-1]) ** 2) / (2 * EDGE_SIGMA**2))
    return horizontal, vertical


def propagate(lightness: np.ndarray, targets: list[tuple[slice, slice, np.ndarray]],
              reach: float = DEFAULT_REACH, embedding: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spread hint colours over an image.

    lightness: (h, w) L in [0, 100]; targets: (rows, columns, ab (2,)) per hint, in that
    image's pixels; reach: how far a hint carries in a flat region, as a share of the photo's
    long side; embedding: (h', w', D) from the affinity head (any size, resized here), whose
    distances say which neighbours share a colour (engine.networks.affinity).
    Returns (painted (h, w, 2), strength (h, w) in [0, 1]): the hints' colour at each pixel
    already weighted by its strength, and that strength; the caller's ab becomes
    ab * (1 - strength) + painted.

    The same system is solved for the hints' colours and for a plain "1" at every hint: their
    ratio is each pixel's edge-aware mean of the hints' colours (with several hints, each region
    takes its own hint's colour rather than a sum), and the second solution says how much of
    the hints reaches the pixel; where that is FULL_STRENGTH or more the colour applies in full,
    below it in proportion. (Applying the plain solution left a lone hint's colour only around
    the click: in 2D it falls off steeply near a small source.) The hint's colour replaces the
    model's rather than shifting it by the difference at the click: a whole object then takes
    the asked colour (one click on BSDS500 val: take 0.61 to 0.71 at equal leak; random true
    colours +0.6 dB at 5 and 10 hints; see the model card).
    """
    height, width = lightness.shape
    if not targets:
        return np.zeros((height, width, 2), np.float32), np.zeros((height, width), np.float32)
    scale = min(1.0, PROPAGATION_SIZE / max(height, width))
    grid_w, grid_h = max(1, round(width * scale)), max(1, round(height * scale))
    grid_l = cv2.resize(lightness, (grid_w, grid_h), interpolation=cv2.INTER_AREA) if scale < 1 else lightness
    count = grid_w * grid_h
    index = np.arange(count).reshape(grid_h, grid_w)
    horizontal, vertical = _affinities(grid_l.astype(np.float32))
    if embedding is not None:
        grid_e = cv2.resize(np.ascontiguousarray(embedding, np.float32), (grid_w, grid_h), interpolation=cv2.INTER_LINEAR)
        grid_e = grid_e.reshape(grid_h, grid_w, -1)
        horizontal = horizontal * np.exp(-((grid_e[:, 1:] - grid_e[:, :-1]) ** 2).sum(-1) * EMBEDDING_SCALE)
        vertical = vertical * np.exp(-((grid_e[1:] - grid_e[:-1]) ** 2).sum(-1) * EMBEDDING_SCALE)
    # Each cell's diagonal: the weights to its neighbours, the fade, and the hints' pull.
    degree = np.zeros((grid_h, grid_w))
    degree[:, :-1] += horizontal
    degree[:, 1:] += horizontal
    degree[:-1] += vertical
    degree[1:] += vertical
    fade = 1.0 / (reach * max(grid_h, grid_w)) ** 2
    data = np.zeros(count)
    rhs = np.zeros((count, 3))  # a, b and the hints' presence
    hint_cells, colours = [], []
    for rows_slice, cols_slice, colour in targets:
        r0 = min(int(rows_slice.start * scale), grid_h - 1)
        r1 = max(min(int(np.ceil(rows_slice.stop * scale)), grid_h), r0 + 1)
        c0 = min(int(cols_slice.start * scale), grid_w - 1)
        c1 = max(min(int(np.ceil(cols_slice.stop * scale)), grid_w), c0 + 1)
        cells = index[r0:r1, c0:c1].ravel()
        hint_cells.append(cells)
        colours.append(np.asarray(colour, np.float64))
        data[cells] = HINT_WEIGHT
        rhs[cells, :2] = HINT_WEIGHT * np.asarray(colour, np.float64)
        rhs[cells, 2] = HINT_WEIGHT
    solver = GridSolver(degree + fade + data.reshape(grid_h, grid_w), horizontal, vertical)
    if embedding is not None and GATE_THRESHOLD > 0:
        colour, strength = _gated(solver, grid_e.reshape(count, -1), hint_cells, colours)
    else:
        solution = solver.solve(rhs)
        presence = np.clip(solution[:, 2], 1e-9, None)
        strength = np.clip(presence / FULL_STRENGTH, 0.0, 1.0)
        colour = solution[:, :2] / presence[:, None]
    # Weighted by strength before resizing, so cells no hint reaches lend no colour to their
    # neighbours; colour and strength share one resize.
    field = np.concatenate([colour * strength[:, None], strength[:, None]], axis=1)
    field = field.reshape(grid_h, grid_w, 3).astype(np.float32)
    if (grid_w, grid_h) != (width, height):
        field = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
    return field[..., :2], field[..., 2]
