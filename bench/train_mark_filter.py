"""Give a trained damage network a mark filter (engine.networks.marks) and fit it (the rest unchanged).

    python bench/train_mark_filter.py BASE.safetensors DATA_DIR HELD_OUT_DIR --out OUT.safetensors

BASE: a damage network (d11's: the d8 file), its chance --operating-chance made its new 0.5
(strength 0.5) first. DATA_DIR: photos to learn from (d11's: shared/data/train without its ImageNet
validation photos, 2,000 of them drawn by --seed); HELD_OUT_DIR: photos held out from all damage
training, where the cut is chosen (d11's: shared/data/train/acuity-val, 400 of them). Never the
evaluation sets. The defaults are d11's recipe, the shipped network's (the model card).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from autochrome.engine.networks.damage import DamageNet
from autochrome.engine.weights import save_damage_net
from autochrome.trainer.damage import DamageRecipe
from autochrome.trainer.damage_training import move_operating_point, with_new_part
from autochrome.trainer.mark_training import (MARK_RECIPE, MarkExamples, choose_cut, fit_mark_filter, gather_marks,
                                              joined)
from autochrome.trainer.photos import find_photos


def drawn(folder: Path, count: int, seed: int) -> list[Path]:
    files = find_photos(folder)
    random.Random(seed).shuffle(files)
    return files[:count]


def listed_photos(source: Path) -> list[Path]:
    """The photos of a folder, or those a text file lists (one path per line)."""
    if source.is_dir():
        return find_photos(source)
    return [Path(line.strip()) for line in source.read_text().splitlines() if line.strip()]


def base_network(path: Path, hidden: int, operating_chance: float, members: int = 1) -> tuple[DamageNet, dict]:
    """The base network given a (blank) mark filter of `members` MLPs, its operating point moved
    to `operating_chance`; and the base file's provenance."""
    net, provenance = with_new_part(path, marks=hidden, mark_members=members if members > 1 else 0)
    if operating_chance != 0.5:
        move_operating_point(net, operating_chance)
    return net.eval(), provenance


def progress_of(first: int):
    """A gathering's progress report for the photos from place `first` on, every 250 photos."""
    def report(done: int, total: int) -> None:
        if done % 250 == 0 or done == total:
            print(f"  photos {first + 1}-{first + total}: {done} done", flush=True)

    return report


def in_workers(part, leading: tuple, photos: list[Path], seed: int, workers: int) -> list:
    """`part(*leading, photo paths, seed, first place)` over the photos split among `workers`
    spawned processes side by side; each photo is seeded by its place, so the parts joined are
    what one process would gather."""
    bounds = np.linspace(0, len(photos), workers + 1).round().astype(int)
    jobs = [(*leading, [str(p) for p in photos[a:b]], seed, int(a)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        return pool.starmap(part, jobs)


def filter_arguments(what: str) -> argparse.ArgumentParser:
    """The arguments a filter's fit (of marks or specks, `what`) shares: d11's recipe as defaults."""
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("held_out", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--photos", type=int, default=2000)
    parser.add_argument("--held-out-photos", type=int, default=400)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help=f"processes finding the {what} side by side")
    parser.add_argument("--examples", type=Path, help=f"an .npz of the {what} gathered: read when there, else written")
    return parser


def examples_of(args, learn_photos: list[Path], gather, make, fields: tuple[str, ...]):
    """(learned from, held out): read from --examples when it is there, else gathered by
    `gather(photos, seed)` (the held-out photos drawn as the mark filter's, damaged with seed + 1)
    and written there when asked; `make(*fields)` builds one set from its arrays."""
    if args.examples and args.examples.exists():
        with np.load(args.examples) as saved:
            return tuple(make(*(saved[f"{part}_{field}"] for field in fields)) for part in ("learn", "held_out"))
    learn = gather(learn_photos, args.seed)
    held_out = gather(drawn(args.held_out, args.held_out_photos, args.seed), args.seed + 1)
    if args.examples:
        np.savez(args.examples, **{f"{part}_{field}": getattr(examples, field) for part, examples in
                                   (("learn", learn), ("held_out", held_out)) for field in fields})
    return learn, held_out


def _gather_part(base: str, hidden: int, operating_chance: float, recipe: DamageRecipe, smooth_from: int | None,
                 photos: list[str], seed: int, first: int):
    torch.set_num_threads(1)  # one process per core
    net, _ = base_network(Path(base), hidden, operating_chance)
    return gather_marks(net, [Path(p) for p in photos], seed, recipe, progress=progress_of(first), first_index=first,
                        smooth_from=smooth_from)


def main() -> int:
    parser = filter_arguments("marks")
    parser.add_argument("--members", type=int, default=1,
                        help="MLPs the filter averages, each fitted from its own first weights (d11's: 1)")
    parser.add_argument("--smooth", type=int, default=0,
                        help="photos more drawn from DATA (with seed + 2) and learned from smoothed "
                             "(trainer.mark_training.smoothed): skies and walls with scratches on them")
    parser.add_argument("--aligned", type=float, default=0.0,
                        help="chance that a photo's simulated damage has film-transport scratches too, exactly "
                             "along one of its sides (trainer.damage.DamageRecipe.aligned; d11's: 0)")
    parser.add_argument("--keep", type=float, default=0.9, help="share of the held-out marks' damage pixels kept")
    parser.add_argument("--operating-chance", type=float, default=0.3,
                        help="the base network's chance made its new 0.5 (strength 0.5) before the marks are found")
    parser.add_argument("--extra", type=Path, action="append", default=[],
                        help="a folder whose every photo is learned from as well, or a text file listing photos one "
                             "per line (repeatable): more of a kind of photo than the draw gives, e.g. buildings, "
                             "whose frames and bars are the false marks, or bench/mine_hard_photos.py's list")
    args = parser.parse_args()
    began = time.time()
    net, provenance = base_network(args.base, args.hidden, args.operating_chance, args.members)

    photos = drawn(args.data, args.photos, args.seed)
    drawn_already = set(photos)
    extra = [path for source in args.extra for path in listed_photos(source) if path not in drawn_already]
    learn_photos = photos + extra + drawn(args.data, args.smooth, args.seed + 2)
    smooth_from = len(photos) + len(extra) if args.smooth else None
    recipe = dataclasses.replace(MARK_RECIPE, aligned=args.aligned)

    def gather(photos: list[Path], seed: int) -> MarkExamples:
        smooth = smooth_from if photos is learn_photos else None  # the held-out photos are as they are
        leading = (str(args.base), args.hidden, args.operating_chance, recipe, smooth)
        return joined(in_workers(_gather_part, leading, photos, seed, args.workers))

    learn, held_out = examples_of(args, learn_photos, gather, MarkExamples, ("features", "areas", "damage"))
    print(f"{len(learn)} marks to learn from ({learn.is_damage.mean():.0%} damage), {len(held_out)} held out",
          flush=True)
    net.marks = fit_mark_filter(learn, args.hidden, seed=args.seed, members=args.members)
    cut = choose_cut(net.marks, held_out, args.keep)
    print(f"held out: precision of the marks {cut['precision_before']:.3f} before the filter", flush=True)
    for row in cut["table"] + [cut["chosen"]]:
        print(f"  cut {row['cut']:+.2f}: damage pixels kept {row['damage_kept']:.3f}, false ones kept "
              f"{row['false_kept']:.3f}, precision {row['precision']:.3f}", flush=True)
    provenance["mark_filter"] = {
        "hidden": args.hidden, "members": args.members, "keep": args.keep,
        "operating_chance_of_base": args.operating_chance, "cut": cut["chosen"],
        "training_data": f"{args.data.name} ({args.photos} photos drawn with seed {args.seed})"
                         + "".join(f", every photo of {source.name}" if source.is_dir() else
                                   f", the {len(listed_photos(source))} photos listed in {source.name}"
                                   for source in args.extra)
                         + (f", {args.smooth} more drawn with seed {args.seed + 2} smoothed" if args.smooth else "")
                         + ", damaged and clean",
        "held_out": f"{args.held_out.name} ({args.held_out_photos} photos)",
        "recipe": dataclasses.asdict(recipe), "marks": len(learn),
        "date": time.strftime("%Y-%m-%d"), "train_minutes": round((time.time() - began) / 60, 1)}
    save_damage_net(args.out, net, provenance)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
