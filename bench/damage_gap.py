"""Where the restored PSNR is lost: the damage the network missed, split by why and by kind.

    python bench/damage_gap.py [NET.safetensors] [--photos 40] [--enlarge 3]

On damage_selection.py's held-out photos and damage (never the evaluation sets), the mean PSNR
gain of the restored L over the damaged one with the mask found, and with the found mask plus
the true damage pixels of one part of what it missed, each part alone: its filters' rejections,
pixels the per-pixel network saw but not surely enough, pixels it did not see; each kind of
damage; the missed damage within 2 px of the found mask (its fringe) and away from it. A part
whose oracle gain is large is where a better network would gain; the true mask whole bounds
what any mask can give with this fill.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.restore import damage_mask, damage_probability, fill
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.damage import KINDS, simulate_damage
from autochrome.trainer.damage_training import lightness_psnr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from damage_selection import HELD_OUT, RECIPE, SEED, photos  # noqa: E402  (the same photos and damage)


def missed_parts(damaged, clean, truth, kinds, net, edit) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The mask found and, by name, the parts of the true damage it missed."""
    found = damage_mask(damage_probability(damaged, net), edit)
    chance = damage_probability(damaged, net, judge_marks=False)
    unjudged = damage_mask(chance, edit)
    chance = chance.astype(np.float32)
    missed = truth & ~found
    near = cv2.dilate(found.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    parts = {
        "taken out by the mark and speck filters": missed & unjudged,
        "seen at the threshold, joined to no sure pixel": missed & ~unjudged & (chance >= edit.threshold),
        "seen less surely (chance 0.1 to the threshold)": missed & (chance >= 0.1) & (chance < edit.threshold),
        "not seen (chance under 0.1)": missed & (chance < 0.1),
        "within 2 px of the found mask": missed & near,
        "away from the found mask": missed & ~near,
    }
    for kind in KINDS:
        parts[f"kind: {kind}"] = missed & kinds.get(kind, np.zeros_like(truth))
    parts["all the missed damage (the true mask)"] = missed
    return found, parts


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("net", type=Path, nargs="?", help="a damage network file (default: the shipped one)")
    parser.add_argument("--held-out", type=Path, default=HELD_OUT)
    parser.add_argument("--skip", type=int, default=400)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--enlarge", type=float, default=3.0)
    args = parser.parse_args()
    net = load_damage_net(args.net)
    edit = RestoreEdit(enabled=True)
    gains: dict[str, list[float]] = {"the mask found": []}
    error_share: dict[str, float] = {}
    missed_error = 0.0
    for index, clean in enumerate(photos(args.held_out, args.skip, args.photos, args.seed, args.enlarge)):
        kinds: dict = {}
        damaged, truth = simulate_damage(clean, [SEED, index], RECIPE, kinds=kinds)
        found, parts = missed_parts(damaged, clean, truth, kinds, net, edit)
        before = lightness_psnr(damaged, clean)
        error = (damaged - clean) ** 2
        gains["the mask found"].append(lightness_psnr(fill(damaged, found), clean) - before)
        missed_error += float(error[parts["all the missed damage (the true mask)"]].sum())
        for name, part in parts.items():
            gains.setdefault(name, []).append(lightness_psnr(fill(damaged, found | part), clean) - before)
            error_share[name] = error_share.get(name, 0.0) + float(error[part].sum())
    print(f"{args.photos} held-out photos, enlarged {args.enlarge:g}x: mean gain of the restored L over the damaged one")
    for name, values in gains.items():
        share = f"  ({error_share[name] / max(missed_error, 1e-9):.0%} of the missed damage's squared error)" \
            if name in error_share else ""
        print(f"  {name}: {np.mean(values):+.2f} dB{share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
