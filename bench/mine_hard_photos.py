"""Training photos on which a damage network marks most of its own detail, for
`bench/train_damage.py --hard`: each photo made grey, at its own size (sharp to the pixel, as a
Kodak photo is), undamaged, through the network without its mark filter at strength 0.5; the
photos ranked by the share of their pixels marked.

    python bench/mine_hard_photos.py NET.safetensors DATA --photos 8000 --keep 800 --out hard.txt

Writes the kept photos' paths, one per line, and beside OUT the share marked on each photo looked at
(OUT with .json). Never give it the evaluation sets or the selection's held-out folder.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.restore import damage_mask, damage_probability
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.damage_training import grey_of
from autochrome.trainer.photos import find_photos


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("net", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--photos", type=int, default=8000, help="how many photos to look at (drawn with --seed)")
    parser.add_argument("--keep", type=int, default=800)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    net = load_damage_net(args.net)
    files = find_photos(args.data)
    random.Random(args.seed).shuffle(files)
    edit = RestoreEdit(enabled=True)
    shares = []
    for index, path in enumerate(files[: args.photos]):
        try:
            grey = grey_of(path)
        except Exception:  # noqa: BLE001  an unreadable training photo is passed over
            continue
        marked = damage_mask(damage_probability(grey, net, judge_marks=False), edit)
        shares.append((str(path), float(marked.mean())))
        if index % 1000 == 0:
            print(f"{index} photos", flush=True)
    shares.sort(key=lambda row: -row[1])
    args.out.write_text("".join(f"{path}\n" for path, _ in shares[: args.keep]))
    args.out.with_suffix(".json").write_text(json.dumps(shares))
    values = np.array([share for _, share in shares])
    print(f"{len(shares)} photos: mean share marked {values.mean():.4f}, some marked on {(values > 0).mean():.0%}, "
          f"the kept ones from {shares[min(args.keep, len(shares)) - 1][1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
