"""Training targets for a classifier over ab bins: soft-encoded truth, class rebalancing.

Zhang, Isola & Efros (ECCV 2016): each true ab is spread over its 5 nearest bins with a
Gaussian (sigma 5); each pixel's loss is weighted by how rare its colour's bin is, with the
empirical bin distribution (Gaussian-smoothed) mixed with a uniform one (lambda 0.5) and
the weights normalised to 1 on average over the data.
"""

from __future__ import annotations

import numpy as np
import torch

from autochrome.engine import color

NEIGHBOURS = 5
SIGMA = 5.0


CANDIDATE_MARGIN = 4
_TABLES: dict[tuple, torch.Tensor] = {}


def _neighbour_table(centres: torch.Tensor, k: int) -> torch.Tensor:
    """For every whole-unit ab in [-128, 127]: the indices of its k nearest bins (a colour
    within half a unit of it has its own k nearest among these)."""
    key = (centres.cpu().numpy().tobytes(), k, str(centres.device))
    if key not in _TABLES:
        grid = torch.arange(-128, 128, dtype=torch.float32)
        points = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), -1).reshape(-1, 2)
        index = torch.cdist(points, centres.float().cpu()).topk(k, dim=1, largest=False).indices
        _TABLES[key] = index.view(256, 256, k).to(centres.device)
    return _TABLES[key]


def nearest_bins(ab: torch.Tensor, centres: torch.Tensor, k: int = NEIGHBOURS):
    """ab (N, 2, H, W) in Lab units -> distances and indices (N, H, W, k) of its nearest bins.

    The candidates are the bins nearest the whole-unit ab the colour rounds to (a table: a
    search over all bins for every pixel was a sixth of a training step); among them the k
    nearest are chosen exactly."""
    flat = ab.permute(0, 2, 3, 1)
    cell = (flat.round().long() + 128).clamp(0, 255)
    candidates = _neighbour_table(centres, k + CANDIDATE_MARGIN)[cell[..., 0], cell[..., 1]]
    distances = (flat[..., None, :] - centres[candidates]).norm(dim=-1)
    nearest, order = distances.topk(k, dim=-1, largest=False)
    return nearest, candidates.gather(-1, order)


def soft_targets(ab_norm: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, Q, H, W) soft-encoded targets and the (N, H, W) index of each pixel's nearest bin."""
    ab = color.denormalize_ab(ab_norm.float())
    distance, index = nearest_bins(ab, centres)
    weights = torch.exp(-distance**2 / (2 * SIGMA**2))
    weights = weights / weights.sum(dim=-1, keepdim=True)
    n, h, w, _ = index.shape
    target = ab.new_zeros((n, h, w, centres.shape[0]))
    target.scatter_(-1, index, weights)
    return target.permute(0, 3, 1, 2), index[..., 0]


def bin_prior(ab_samples: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Empirical distribution over the bins of ab samples (M, 2) in Lab units."""
    distance = ((ab_samples[:, None, :] - centres[None]) ** 2).sum(-1)
    counts = np.bincount(distance.argmin(1), minlength=len(centres)).astype(np.float64)
    return counts / counts.sum()


def rebalance_class_weights(prior: np.ndarray, centres: np.ndarray, mix: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Zhang et al.'s w proportional to ((1 - lambda) * smoothed prior + lambda / Q)^-1, E[w] = 1."""
    distance = ((centres[:, None, :] - centres[None]) ** 2).sum(-1)
    kernel = np.exp(-distance / (2 * sigma**2))
    smooth = kernel @ prior
    smooth /= smooth.sum()
    weights = 1.0 / ((1 - mix) * smooth + mix / len(centres))
    weights /= (weights * smooth).sum()
    return weights.astype(np.float32)


def classification_loss(logits: torch.Tensor, ab_norm: torch.Tensor, centres: torch.Tensor,
                        class_weights: torch.Tensor | None) -> torch.Tensor:
    """Rebalanced cross-entropy of logits (N, Q, h, w) against soft-encoded true ab at that size."""
    target, nearest = soft_targets(ab_norm, centres)
    per_pixel = -(target * torch.log_softmax(logits.float(), dim=1)).sum(dim=1)
    if class_weights is not None:
        per_pixel = per_pixel * class_weights[nearest]
    return per_pixel.mean()
