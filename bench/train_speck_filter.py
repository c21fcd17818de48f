"""Give a damage network with a mark filter a speck filter (engine.networks.specks) and fit it (the rest unchanged).

    python bench/train_speck_filter.py BASE.safetensors DATA_DIR HELD_OUT_DIR --out OUT.safetensors

BASE: a fitted damage network (its mark filter in place: d11's). DATA_DIR: photos to learn from
(shared/data/train without its ImageNet validation photos, --photos of them drawn by --seed);
HELD_OUT_DIR: photos held out from all damage training, where the cut is chosen as the one that
does those photos the most good (shared/data/train/acuity-val, the first --held-out-photos drawn
by --seed, the mark filter's held-out photos). Never the evaluation sets.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

import torch

from autochrome.trainer.damage_training import with_new_part
from autochrome.trainer.mark_training import MARK_RECIPE, SCALES
from autochrome.trainer.speck_training import (FIELDS, SpeckExamples, choose_speck_cut, fit_speck_filter,
                                               gather_specks, joined_specks)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_mark_filter import drawn, examples_of, filter_arguments, in_workers, progress_of  # noqa: E402


def _gather_part(base: str, hidden: int, photos: list[str], seed: int, first: int) -> SpeckExamples:
    torch.set_num_threads(1)  # one process per core
    net, _ = with_new_part(Path(base), specks=hidden)
    return gather_specks(net.eval(), [Path(p) for p in photos], seed, progress=progress_of(first), first_index=first)


def main() -> int:
    parser = filter_arguments("specks")
    args = parser.parse_args()
    began = time.time()
    net, provenance = with_new_part(args.base, specks=args.hidden)
    if net.marks is None:
        parser.error(f"{args.base} has no mark filter: the speck filter judges what that leaves")

    def gather(photos: list[Path], seed: int) -> SpeckExamples:
        return joined_specks(in_workers(_gather_part, (str(args.base), args.hidden), photos, seed, args.workers))

    learn, held_out = examples_of(args, drawn(args.data, args.photos, args.seed), gather, SpeckExamples, FIELDS)
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
