"""Give a damage network with a mark filter a speck filter (engine.networks.specks) and fit it (the rest unchanged).

    python bench/train_speck_filter.py BASE.safetensors DATA_DIR HELD_OUT_DIR --out OUT.safetensors

BASE: a fitted damage network (its mark filter in place: d11's). DATA_DIR: photos to learn from
(shared/data/train without its ImageNet validation photos, --photos of them drawn by --seed);
HELD_OUT_DIR: photos held out from all damage training, where the cut is chosen as the one that
does those photos the most good (shared/data/train/acuity-val, the first --held-out-photos drawn
by --seed, the mark filter's held-out photos). Never the evaluation sets.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import sys
import time
from pathlib import Path

import numpy as np
import torch

from autochrome.trainer.damage_training import with_new_part
from autochrome.trainer.mark_training import MARK_RECIPE, SCALES
from autochrome.trainer.speck_training import (FIELDS, SpeckExamples, choose_speck_cut, fit_speck_filter,
                                               gather_specks, joined_specks)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_mark_filter import drawn  # noqa: E402  (the same draw of photos as the mark filter's)


def _gather_part(base: str, hidden: int, photos: list[str], seed: int, first: int) -> SpeckExamples:
    torch.set_num_threads(1)  # one process per core
    net, _ = with_new_part(Path(base), specks=hidden)

    def report(done: int, total: int) -> None:
        if done % 250 == 0 or done == total:
            print(f"  photos {first + 1}-{first + total}: {done} done", flush=True)

    return gather_specks(net.eval(), [Path(p) for p in photos], seed, progress=report, first_index=first)


def gather(args, photos: list[Path], seed: int) -> SpeckExamples:
    """gather_specks over the photos in --workers processes side by side (the same specks as one)."""
    bounds = np.linspace(0, len(photos), args.workers + 1).round().astype(int)
    jobs = [(str(args.base), args.hidden, [str(p) for p in photos[a:b]], seed, int(a))
            for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        return joined_specks(pool.starmap(_gather_part, jobs))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("held_out", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--held-out-photos", type=int, default=400)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="processes finding the specks side by side")
    parser.add_argument("--examples", type=Path, help="an .npz of the specks gathered: read when there, else written")
    args = parser.parse_args()
    began = time.time()
    net, provenance = with_new_part(args.base, specks=args.hidden)
    if net.marks is None:
        parser.error(f"{args.base} has no mark filter: the speck filter judges what that leaves")

    if args.examples and args.examples.exists():
        with np.load(args.examples) as saved:
            learn, held_out = (SpeckExamples(*(saved[f"{part}_{field}"] for field in FIELDS))
                               for part in ("learn", "held_out"))
    else:
        learn = gather(args, drawn(args.data, args.photos, args.seed), args.seed)
        held_out = gather(args, drawn(args.held_out, args.held_out_photos, args.seed), args.seed + 1)
        if args.examples:
            np.savez(args.examples, **{f"{part}_{field}": getattr(examples, field) for part, examples in
                                       (("learn", learn), ("held_out", held_out)) for field in FIELDS})
    print(f"{len(learn)} specks to learn from ({learn.is_damage.mean():.0%} damage), {len(held_out)} held out",
          flush=True)
    net.specks = fit_speck_filter(learn, args.hidden, seed=args.seed)
    cut = choose_speck_cut(net.specks, held_out)
    print(f"held out: filling every speck gains {cut['gain_all']:.3g} (squared error to the clean L), "
          f"the {cut['kept']} of {cut['specks']} the filter keeps {cut['gain_kept']:.3g}; damage pixels kept "
          f"{cut['damage_pixels_kept']:.3f}, false ones {cut['false_pixels_kept']:.3f}", flush=True)
    provenance["speck_filter"] = {
        "hidden": args.hidden, "cut": cut,
        "training_data": f"{args.data.name} ({args.photos} photos drawn with seed {args.seed}), damaged and clean",
        "held_out": f"{args.held_out.name} ({args.held_out_photos} photos)", "scales": list(SCALES),
        "recipe": dataclasses.asdict(MARK_RECIPE), "specks": len(learn),
        "date": time.strftime("%Y-%m-%d"), "train_minutes": round((time.time() - began) / 60, 1)}
    from autochrome.engine.weights import save_damage_net

    save_damage_net(args.out, net, provenance)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
