"""Choosing between damage networks without the evaluation sets: the damage bench's measures on
held-out training photos (those of a folder the mark filter's cut did not see), enlarged 3x so
they are about a Kodak photo's size.

    python bench/damage_selection.py NET.safetensors [NET2 ...] [--held-out shared/data/train/acuity-val] [--enlarge 3]

For each network: pooled mask precision, recall and F1 at strength 0.5, the mean PSNR of the
restored L against the damaged one's, and how many of the clean photos stay within 40 dB of
themselves (issue 25's bound). The photos are the held-out folder's after the first --skip drawn
by --seed (bench/train_mark_filter.py draws its held-out photos the same way). --enlarge 1 keeps
them at their own size (about 500 by 375), sharp to the pixel as Kodak's photos are: enlarged,
they are soft, and a network that tells damage by its sharp edges looks better there than on
sharp photos (the damage model card, 2026-12-07).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.restore import damage_mask, damage_probability, fill
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.damage import DamageRecipe, simulate_damage
from autochrome.trainer.damage_training import grey_of, lightness_psnr
from autochrome.trainer.photos import find_photos

HELD_OUT = Path(__file__).resolve().parents[2] / "shared" / "data" / "train" / "acuity-val"
RECIPE = DamageRecipe(fading=0.0, halftone=0.0, grain=0.5, clean=0.0)  # as the damage bench's
SEED = 2031


def photos(folder: Path, skip: int, count: int, seed: int, enlarge: float = 3.0) -> list[np.ndarray]:
    files = find_photos(folder)
    random.Random(seed).shuffle(files)
    out = []
    for path in files[skip : skip + count]:
        grey = grey_of(path)
        if enlarge != 1.0:
            grey = np.clip(cv2.resize(grey, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC), 0, 100)
        out.append(grey)
    return out


def measure(net, clean_photos: list[np.ndarray]) -> dict:
    edit = RestoreEdit(enabled=True)
    tp = predicted = truth_total = 0.0
    gains, within = [], 0
    for index, clean in enumerate(clean_photos):
        damaged, truth = simulate_damage(clean, [SEED, index], RECIPE)
        mask = damage_mask(damage_probability(damaged, net), edit)
        tp += float((mask & truth).sum())
        predicted += float(mask.sum())
        truth_total += float(truth.sum())
        gains.append(lightness_psnr(fill(damaged, mask), clean) - lightness_psnr(damaged, clean))
        within += lightness_psnr(fill(clean, damage_mask(damage_probability(clean, net), edit)), clean) >= 40.0
    precision, recall = tp / max(predicted, 1.0), tp / max(truth_total, 1.0)
    return {"precision": precision, "recall": recall, "f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "gain_db": float(np.mean(gains)), "clean_within_40": within, "photos": len(clean_photos)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("nets", type=Path, nargs="+")
    parser.add_argument("--held-out", type=Path, default=HELD_OUT)
    parser.add_argument("--skip", type=int, default=400, help="the photos the filter's cut was chosen on")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--enlarge", type=float, default=3.0, help="1: the photos at their own size")
    args = parser.parse_args()
    clean_photos = photos(args.held_out, args.skip, args.photos, args.seed, args.enlarge)
    for path in args.nets:
        row = measure(load_damage_net(path), clean_photos)
        print(f"{path.name}: P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}, restored "
              f"{row['gain_db']:+.2f} dB, clean within 40 dB {row['clean_within_40']} of {row['photos']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
