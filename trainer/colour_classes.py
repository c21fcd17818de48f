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


def nearest_bins(ab: torch.Tensor, centres: torch.Tensor, k: int = NEIGHBOURS):
    """ab (N, 2, H, W) in Lab units -> distances and indices (N, H, W, k) of the nearest bins."""
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    distances = torch.cdist(flat, centres)
    nearest, index = distances.topk(k, dim=1, largest=False)
    shape = (*ab.shape[:1], *ab.shape[2:], k)
    return nearest.view(shape), index.view(shape)


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
