"""How much of real old photos restoring fills at the default strength: no truth is known for
them, so this says only how readily a network fills, and which photos to look at.

    python bench/real_photo_fill.py PHOTOS_DIR [NET.safetensors ...] [--json OUT]

PHOTOS_DIR: real old photos (the model card's: DeOldify's 206 `test_images`, jantic/DeOldify at
commit 585e315, used only as this check, never trained on). For each network (default: the
shipped one): the share of a photo's pixels filled at strength 0.5, on average, the photos with
anything filled and those with more than 0.5 % filled. --json writes each photo's share, so
two networks can be compared photo by photo.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.restore import damage_mask, damage_probability
from autochrome.engine.weights import load_damage_net, shipped_damage_path
from autochrome.trainer.damage_training import grey_of
from autochrome.trainer.photos import find_photos

MUCH = 0.005


def shares(net, files: list[Path]) -> dict[str, float]:
    out = {}
    for path in files:
        try:
            grey = grey_of(path)
        except Exception as exc:  # noqa: BLE001  a photo that cannot be read is named and passed over
            print(f"  {path.name}: not read ({exc})", file=sys.stderr)
            continue
        out[path.name] = float(damage_mask(damage_probability(grey, net), RestoreEdit(enabled=True)).mean())
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("photos", type=Path)
    parser.add_argument("nets", type=Path, nargs="*")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = find_photos(args.photos)
    if not files:
        parser.error(f"no photos in {args.photos}")
    results = {}
    for path in args.nets or [shipped_damage_path()]:
        filled = shares(load_damage_net(path), files)
        values = np.array(list(filled.values()))
        print(f"{path.name}: {len(values)} photos, {100 * values.mean():.3f} % of a photo filled on average, "
              f"something on {(values > 0).sum()}, over {100 * MUCH:g} % on {(values > MUCH).sum()}", flush=True)
        results[str(path)] = filled
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
