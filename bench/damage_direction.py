"""Does the damage network find a scratch whichever way it runs? Straight scratches drawn
vertically and then horizontally (the same scratch turned) on a smooth random texture.

    python bench/damage_direction.py [NET.safetensors ...] [--textures 4]

For each network (default: the shipped one) and each kind of scratch (width and how much it
moves the lightness), the share of the scratch's pixels found at strength 0.5, running along
the photo's columns and along its rows, and the share of the other pixels marked. The
textures are synthetic (no photo of any set): blurred seeded noise, L 50 with a spread of 15.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.restore import damage_mask, damage_probability
from autochrome.engine.weights import load_damage_net, shipped_damage_path

SIDE = 512
SCRATCHES = ((1, 30.0), (2, 15.0), (3, 25.0), (2, -25.0))  # (px wide, L added)


def texture(seed: int) -> np.ndarray:
    noise = cv2.GaussianBlur(np.random.default_rng(seed).normal(0, 1, (SIDE, SIDE)).astype(np.float32), (0, 0), 6)
    return 50 + 15 * noise / noise.std()


def scratched(photo: np.ndarray, width: int, added: float, place: int, vertical: bool):
    mask = np.zeros(photo.shape, bool)
    if vertical:
        mask[60:450, place : place + width] = True
    else:
        mask[place : place + width, 60:450] = True
    out = photo.copy()
    out[mask] = np.clip(out[mask] + added, 0, 100)
    return out, mask


def measure(net, textures: int) -> dict:
    """{(width, added, vertical): (share of the scratch found, share of the rest marked)}."""
    found: dict = {}
    for seed in range(textures):
        photo = texture(seed)
        for width, added in SCRATCHES:
            for vertical in (True, False):
                damaged, truth = scratched(photo, width, added, 200 + 30 * (seed % 8), vertical)
                mask = damage_mask(damage_probability(damaged, net), RestoreEdit(enabled=True))
                found.setdefault((width, added, vertical), []).append((mask[truth].mean(), mask[~truth].mean()))
    return {key: tuple(np.mean(values, axis=0)) for key, values in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("nets", type=Path, nargs="*")
    parser.add_argument("--textures", type=int, default=4)
    args = parser.parse_args()
    for path in args.nets or [shipped_damage_path()]:
        print(path.name)
        rows = measure(load_damage_net(path), args.textures)
        for width, added in SCRATCHES:
            (down, false_down), (across, false_across) = rows[(width, added, True)], rows[(width, added, False)]
            print(f"  {width} px, {added:+.0f} L: found {down:.2f} along the columns, {across:.2f} along the rows "
                  f"(the rest marked {100 * false_down:.3f} % / {100 * false_across:.3f} %)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
