"""Random crops and flips of resident uint8 photos, turned into (L, ab) batches on the device."""

from __future__ import annotations

import numpy as np
import torch

from autochrome.engine import color


class CropSampler:
    def __init__(self, photos: np.ndarray, crop: int, device: torch.device, seed: int = 0):
        if len(photos) == 0:
            raise ValueError("no usable photos to train on")
        if photos.shape[1] < crop or photos.shape[2] < crop:
            raise ValueError(f"photos ({photos.shape[1]}px) are smaller than the crop ({crop}px)")
        # uint8 on the device: decoded once, a quarter of the memory of floats.
        self.photos = torch.from_numpy(photos).to(device)
        self.crop = crop
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.photos)

    def batch(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(L, ab) normalised for the network: (N, 1, c, c) and (N, 2, c, c)."""
        count, height, width, _ = self.photos.shape
        indices = torch.randint(count, (size,), generator=self.generator)
        tops = torch.randint(height - self.crop + 1, (size,), generator=self.generator)
        lefts = torch.randint(width - self.crop + 1, (size,), generator=self.generator)
        flips = torch.rand(size, generator=self.generator) < 0.5
        crops = []
        for index, top, left, flip in zip(indices.tolist(), tops.tolist(), lefts.tolist(), flips.tolist()):
            crop = self.photos[index, top : top + self.crop, left : left + self.crop]
            crops.append(crop.flip(1) if flip else crop)
        rgb = torch.stack(crops).permute(0, 3, 1, 2).float() / 255.0
        lab = color.torch_rgb_to_lab(rgb)
        return color.normalize_l(lab[:, :1]), color.normalize_ab(lab[:, 1:])
