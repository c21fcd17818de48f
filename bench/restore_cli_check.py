"""Issue 25's own check, as a user runs it: grey photos, clean and damaged, through
`autochrome colorize --restore`, the lightness of each result against the clean photo's.

    python bench/restore_cli_check.py [--photos 8] [--seed 77] [--out DIR]

The first N Kodak photos are made grey and written as 8-bit PNG (the clean photos); each is
damaged by trainer/damage.py (no fading or halftone, grain on half, seeded by --seed and the
photo's place: another seed than the damage bench's) and written as 8-bit grey too. All go
through the command line without and with --restore; printed per photo: the clean photo's L
after restoring (PSNR against itself; the issue asks at least 40 dB) and the damaged photo's L
before and after (the issue asks at least 4 dB closer to the clean L).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from damage_bench import EVAL, psnr  # bench/ is on the path when this script runs

from autochrome.engine.color import lightness_to_grey_rgb
from autochrome.engine.image_io import load_image
from autochrome.trainer.damage import DamageRecipe, simulate_damage

KODAK = EVAL / "kodak24"


def write_grey(path: Path, lightness: np.ndarray) -> None:
    grey = lightness_to_grey_rgb(np.clip(lightness, 0, 100).astype(np.float32))[..., 0]
    Image.fromarray((np.clip(grey, 0, 1) * 255).round().astype(np.uint8), "L").save(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=8)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--out", type=Path, help="where the photos and results go (default: a temporary folder)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp())
    sources = work / "photos"
    sources.mkdir(parents=True, exist_ok=True)
    photos = sorted(KODAK.glob("*.png"))[: args.photos]
    if not photos:
        print(f"no photos in {KODAK}", file=sys.stderr)
        return 1
    recipe = DamageRecipe(fading=0.0, halftone=0.0, grain=0.5, clean=0.0)
    for index, path in enumerate(photos):
        write_grey(sources / f"clean{index}.png", load_image(path).lightness)
        clean = load_image(sources / f"clean{index}.png").lightness  # the 8-bit grey photo's own L
        write_grey(sources / f"damaged{index}.png", simulate_damage(clean, [args.seed, index], recipe)[0])
    files = [str(path) for path in sorted(sources.glob("*.png"))]
    for name, flags in (("plain", []), ("restored", ["--restore"])):
        subprocess.run([sys.executable, "-m", "autochrome.desktop", "colorize", *files, "-o", str(work / name),
                        "--overwrite", *flags], check=True, capture_output=True)
    gains, clean_psnrs, plain = [], [], []
    for index in range(len(photos)):
        clean = load_image(sources / f"clean{index}.png").lightness
        plain.append(psnr(load_image(work / "plain" / f"clean{index}.png").lightness, clean))
        kept = psnr(load_image(work / "restored" / f"clean{index}.png").lightness, clean)
        before = psnr(load_image(sources / f"damaged{index}.png").lightness, clean)
        after = psnr(load_image(work / "restored" / f"damaged{index}.png").lightness, clean)
        gains.append(after - before)
        clean_psnrs.append(kept)
        print(f"{photos[index].name}: clean photo after --restore {kept:.2f} dB; damaged {before:.2f} -> {after:.2f} dB "
              f"({after - before:+.2f})", flush=True)
    print(f"damaged photos {np.mean(gains):+.2f} dB on average ({min(gains):+.2f} to {max(gains):+.2f}); clean photos "
          f"within 40 dB: {sum(value >= 40 for value in clean_psnrs)} of {len(clean_psnrs)}; colorized without "
          f"--restore, the clean photos' L kept within {min(plain):.1f} dB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
