"""The Quick fine-tune preset on ~100 photos of one domain: wall time, and the colour error
on the folder's held-out photos before and after.

    python bench/finetune_quick.py [--source camvid] [--count 100] [--device cpu]

Note: the shipped default model was trained on all of shared/data/train, so it has seen
these photos; the figure shows how far a Quick fine-tune moves it toward one domain's colours.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TRAIN = Path(__file__).resolve().parents[2] / "shared" / "data" / "train"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default="camvid")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--train-encoder", action="store_true", help="train the whole network, not the decoder only")
    args = parser.parse_args()
    source = TRAIN / args.source
    if not source.is_dir():
        print(f"no training photos at {source}", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp())
    os.environ["AUTOCHROME_DATA_DIR"] = str(work / "data")
    folder = work / args.source
    folder.mkdir()
    photos = sorted(source.iterdir())
    # Spread over the whole source: neighbouring video frames would make the held-out photos near-copies.
    for path in photos[:: max(1, len(photos) // args.count)][: args.count]:
        shutil.copy(path, folder / path.name)

    from autochrome.trainer.finetune import Finetune, FinetuneOptions, scan_folder

    began = time.perf_counter()
    scanned = scan_folder(folder)
    run = Finetune(scanned, FinetuneOptions(name=f"{args.source}-bench", preset=args.preset, device=args.device,
                                                   train_encoder=args.train_encoder))
    for record in run.steps():
        pass
    trained = time.perf_counter()
    path, figures = run.finish()
    finished = time.perf_counter()
    base, new = figures["base"], figures["new"]
    what = "whole network" if args.train_encoder else "decoder only"
    print(f"{args.preset} preset ({what}), {args.source}: {len(scanned.train_paths)} photos trained, {len(scanned.holdout_paths)} held out, "
          f"{run.trainer.step} steps on {run.base.choice.describe()}")
    print(f"wall time {finished - began:.0f} s (scan + training {trained - began:.0f} s, validation and save "
          f"{finished - trained:.0f} s); {record.images_per_second:.1f} images/s")
    print(f"held-out CIEDE2000 {base['ciede2000']:.2f} -> {new['ciede2000']:.2f}; PSNR {base['psnr']:.2f} -> "
          f"{new['psnr']:.2f} dB; colourfulness gap {base['colourfulness_gap']:.1f} -> {new['colourfulness_gap']:.1f}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
