"""The damage bench: seeded simulated damage on the evaluation photos, the damage network's
mask and the restored lightness scored against the clean photo.

    python bench/damage_bench.py [--net FILE] [--sets kodak24 bsds500-test] [--fills ours telea ns] [--json F]

Per set: the mask's pixel precision, recall and F1 (pooled over the photos) at strength 0.5;
PSNR (L, 0-100) of the damaged and of the restored lightness against the clean one; and on
the clean photos (no damage at all) how much restoring changes them (mean |dL| and PSNR).
The damage is trainer/damage.py's, with the tone left alone (no fading or halftone: the fill
does not fix tone) and grain on half of the photos, seeded by the photo's place in the set.
Each set's mask recall is also split by the kind of damage (scratches, dust, cracks, folds,
stains; a pixel two kinds moved counts for both), with each kind's share of the damaged pixels.
With --fills, the same masks are filled by OpenCV's inpainting (Telea, Navier-Stokes) too.
With --mask true the fills get the simulator's own mask instead of the network's (what the fill
alone can do), with --mask brushed that mask widened by 3 px all round (what a user's brush
stroke over the damage marks: the fill must remove a scratch narrower than the stroke).
With --tone, the tone fix is measured instead: each photo faded as trainer/damage.py fades
prints (contrast 0.55-0.9, blacks lifted 3-20 L), PSNR of the faded and of the fixed L against
the clean one, and what the fix does to the clean photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from autochrome.engine.restore import RestoreEdit, damage_mask, damage_probability, fill
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.damage import KINDS, DamageRecipe, simulate_damage
from autochrome.trainer.damage_training import grey_of
from autochrome.trainer.photos import find_photos

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
BENCH_RECIPE = DamageRecipe(fading=0.0, halftone=0.0, grain=0.5, clean=0.0)
BENCH_SEED = 2025


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 99.0 if error == 0 else 10 * np.log10(100.0**2 / error)


def opencv_fill(lightness: np.ndarray, mask: np.ndarray, method: int) -> np.ndarray:
    out = cv2.inpaint(lightness.astype(np.float32), mask.astype(np.uint8), 3, method)
    return np.where(mask, out, lightness)


def bench_set(net, photos: list[Path], fills: list[str], limit: int | None, given: str = "found") -> dict:
    totals = {"tp": 0.0, "predicted": 0.0, "truth": 0.0}
    rows = {name: [] for name in ["damaged", *fills]}
    clean_change, clean_psnr, seconds = [], [], {name: 0.0 for name in fills}
    edit = RestoreEdit(enabled=True)
    found_kind = {kind: np.zeros(2) for kind in KINDS}  # the network's mask: true positives, truth
    for index, path in enumerate(photos[:limit]):
        clean = grey_of(path)
        drawn = {}
        damaged, truth = simulate_damage(clean, [BENCH_SEED, index], BENCH_RECIPE, kinds=drawn)
        mask = damage_mask(damage_probability(damaged, net), edit)
        for kind, where in drawn.items():
            kind_truth = np.logical_and(where, truth)
            found_kind[kind] += (float(np.logical_and(mask, kind_truth).sum()), float(kind_truth.sum()))
        if given == "true":
            mask = truth
        elif given == "brushed":
            mask = cv2.dilate(truth.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
        totals["tp"] += float(np.logical_and(mask, truth).sum())
        totals["predicted"] += float(mask.sum())
        totals["truth"] += float(truth.sum())
        rows["damaged"].append(psnr(damaged, clean))
        for name in fills:
            began = time.perf_counter()
            if name == "ours":
                restored = fill(damaged, mask, marked=mask if given == "brushed" else None)
            else:
                restored = opencv_fill(damaged, mask, cv2.INPAINT_TELEA if name == "telea" else cv2.INPAINT_NS)
            seconds[name] += time.perf_counter() - began
            rows[name].append(psnr(restored, clean))
        untouched = fill(clean, damage_mask(damage_probability(clean, net), edit))
        clean_change.append(float(np.abs(untouched - clean).mean()))
        clean_psnr.append(psnr(untouched, clean))
    precision = totals["tp"] / max(totals["predicted"], 1.0)
    recall = totals["tp"] / max(totals["truth"], 1.0)
    return {"photos": len(rows["damaged"]), "precision": precision, "recall": recall,
            "f1": 2 * precision * recall / max(precision + recall, 1e-9),
            "psnr": {name: float(np.mean(values)) for name, values in rows.items()},
            "fill_seconds": {name: value / max(len(rows["damaged"]), 1) for name, value in seconds.items()},
            "recall_by_kind": {kind: {"recall": float(tp / max(n, 1.0)), "share_of_damage": float(n / max(totals["truth"], 1.0))}
                               for kind, (tp, n) in found_kind.items()},
            "clean_mean_change": float(np.mean(clean_change)), "clean_psnr": float(np.mean(clean_psnr)),
            "mask_share": totals["truth"] / max(sum(grey_of(p).size for p in photos[:limit]), 1)}


def bench_tone(photos: list[Path], limit: int | None) -> dict:
    from autochrome.engine.restore import tone
    from autochrome.trainer.damage import _fade

    faded, fixed, clean_fixed = [], [], []
    for index, path in enumerate(photos[:limit]):
        clean = grey_of(path)
        worn = np.clip(_fade(clean, np.random.default_rng([BENCH_SEED, index, 9])), 0, 100)
        faded.append(psnr(worn, clean))
        fixed.append(psnr(tone(worn), clean))
        clean_fixed.append(psnr(tone(clean), clean))
    return {"photos": len(faded), "faded": float(np.mean(faded)), "fixed": float(np.mean(fixed)),
            "clean_after_fix": float(np.mean(clean_fixed))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--net", type=Path, help="a damage network file (default: the shipped one)")
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--sets", nargs="+", default=["kodak24", "bsds500-test"])
    parser.add_argument("--fills", nargs="+", default=["ours"], choices=["ours", "telea", "ns"])
    parser.add_argument("--limit", type=int, help="the first N photos of each set")
    parser.add_argument("--mask", choices=["found", "true", "brushed"], default="found",
                        help="what the fills are given: the network's mask, the true one, or it widened as by a brush")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tone", action="store_true", help="measure the tone fix on faded photos instead")
    args = parser.parse_args()
    report = {}
    if args.tone:
        for name in args.sets:
            result = bench_tone(find_photos(args.eval / name, recursive=False), args.limit)
            report[name] = result
            print(f"{name} ({result['photos']} photos): faded {result['faded']:.2f} dB, after the tone fix "
                  f"{result['fixed']:.2f} dB; clean photos after the fix {result['clean_after_fix']:.2f} dB", flush=True)
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
        return 0
    net = load_damage_net(args.net)
    for name in args.sets:
        result = bench_set(net, find_photos(args.eval / name, recursive=False), args.fills, args.limit, args.mask)
        report[name] = result
        fills = "; ".join(f"{fill_name} {value:.2f} dB ({result['fill_seconds'][fill_name] * 1000:.0f} ms)"
                          for fill_name, value in result["psnr"].items() if fill_name != "damaged")
        print(f"{name} ({result['photos']} photos): mask P {result['precision']:.3f} R {result['recall']:.3f} "
              f"F1 {result['f1']:.3f}; PSNR damaged {result['psnr']['damaged']:.2f} dB, restored: {fills}; "
              f"clean photos: mean |dL| {result['clean_mean_change']:.3f}, PSNR {result['clean_psnr']:.2f} dB",
              flush=True)
        print("  recall by kind (share of the damaged pixels): " + ", ".join(
            f"{kind} {row['recall']:.2f} ({row['share_of_damage']:.0%})" for kind, row in result["recall_by_kind"].items()),
            flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
