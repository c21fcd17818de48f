"""One click, one object: how much a single hint recolours the object it is put on, and
how much of the rest of the photo it changes.

For each BSDS500 test photo: the coarsest human segmentation with at least 3 segments; one
segment covering 0.5-30 % of the photo, picked with a seed made from the photo's name; a
click at its most interior point (the maximum of the distance transform) asking for a
saturated colour (chroma 40 at a seeded hue, reduced until it lies inside sRGB at the
photo's lightness there). The grey photo is colorized by `autochrome colorize` without and
with that hint (given in the photo's sidecar, as the app writes it). Ignoring a 3 px band
around the segment's outline:

- take: 1 - d_after / d_before, d the mean ab distance to the asked colour inside the segment
- leak_far: the mean ab change farther than 10 % of the diagonal from the segment
- contained: the share of the total ab change that lies inside the segment
- bad share: the share of photos whose leak_far exceeds 4 ab units

    python bench/one_click.py [MODEL ...] [--limit N] [--json F] [--reach R]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import scipy.io
from PIL import Image

from autochrome.desktop.cli import main as autochrome
from bench_output import row, save_report
from autochrome.engine import color
from autochrome.engine.sidecar import SUFFIX

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
BAND = 3
FAR = 0.10
BAD_LEAK = 4.0


def coarsest_segmentation(mat: Path) -> np.ndarray:
    truth = scipy.io.loadmat(mat)["groundTruth"]
    labels = [truth[0, i]["Segmentation"][0, 0].astype(np.int32) for i in range(truth.shape[1])]
    usable = [seg for seg in labels if len(np.unique(seg)) >= 3]
    return min(usable, key=lambda seg: len(np.unique(seg)))


def in_srgb(lab: np.ndarray) -> bool:
    """Whether a Lab colour is an sRGB colour (no channel clipped)."""
    lightness, a, b = (float(v) for v in lab)
    fy = (lightness + 16) / 116
    f = np.array([fy + a / 500, fy, fy - b / 200])
    xyz = np.where(f**3 > 216 / 24389, f**3, (116 * f - 16) / (24389 / 27)) * np.array([0.95047, 1.0, 1.08883])
    linear = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                       [0.0556434, -0.2040259, 1.0572252]]) @ xyz
    return bool(np.all(linear >= -1e-4) and np.all(linear <= 1 + 1e-4))


def plan_click(photo: Path, segments: np.ndarray, lightness: np.ndarray):
    """(segment mask, (x, y), asked ab) for one photo, seeded by its name."""
    seed = int.from_bytes(hashlib.sha1(photo.stem.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    total = segments.size
    labels = [label for label in np.unique(segments) if 0.005 <= (segments == label).sum() / total <= 0.30]
    if not labels:
        return None
    mask = segments == labels[int(rng.integers(len(labels)))]
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    y, x = np.unravel_index(int(np.argmax(distance)), distance.shape)
    hue = rng.uniform(0, 2 * np.pi)
    chroma = 40.0
    while chroma > 0 and not in_srgb(np.array([lightness[y, x], chroma * np.cos(hue), chroma * np.sin(hue)])):
        chroma -= 1.0
    return mask, (int(x), int(y)), np.array([chroma * np.cos(hue), chroma * np.sin(hue)], np.float32)


def colorize_folder(folder: Path, out: Path, model: str | None) -> None:
    command = ["colorize", str(folder), "-o", str(out), "--format", "png"] + (["--model", model] if model else [])
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        if autochrome(command) != 0:
            raise SystemExit(f"colorize failed:\n{quiet.getvalue()[-2000:]}")


def ab_of(png: Path) -> np.ndarray:
    with Image.open(png) as image:
        return color.rgb_to_lab(np.asarray(image.convert("RGB"), np.float32) / 255.0)[..., 1:]


def score(mask: np.ndarray, asked: np.ndarray, before: np.ndarray, after: np.ndarray) -> dict:
    kernel = np.ones((2 * BAND + 1, 2 * BAND + 1), np.uint8)
    band = cv2.dilate(mask.astype(np.uint8), kernel).astype(bool) & ~cv2.erode(mask.astype(np.uint8), kernel).astype(bool)
    inside = mask & ~band
    counted = ~band
    change = np.linalg.norm(after - before, axis=-1)
    d_before = np.linalg.norm(before[inside] - asked, axis=-1).mean()
    d_after = np.linalg.norm(after[inside] - asked, axis=-1).mean()
    outside = (~mask).astype(np.uint8)
    distance = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
    far = (distance > FAR * np.hypot(*mask.shape)) & counted
    return {"take": float(1 - d_after / max(d_before, 1e-6)),
            "leak_far": float(change[far].mean()) if far.any() else 0.0,
            "contained": float(change[inside].sum() / max(change[counted].sum(), 1e-6)),
            "area": float(mask.mean())}


def run(model: str | None, photos: list[Path], eval_dir: Path, reach: float | None = None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        plain, hinted = Path(temp) / "plain", Path(temp) / "hinted"
        plain.mkdir()
        hinted.mkdir()
        plans = {}
        for photo in photos:
            with Image.open(photo) as image:
                rgb = np.asarray(image.convert("RGB"), np.float32) / 255.0
            lightness = color.rgb_to_lab(rgb)[..., 0]
            grey = (color.lightness_to_grey_rgb(lightness) * 255).round().astype(np.uint8)
            segments = coarsest_segmentation(eval_dir / "bsds500-test-segments" / f"{photo.stem}.mat")
            plan = plan_click(photo, segments, lightness)
            if plan is None:
                continue
            plans[photo.stem] = plan
            for folder in (plain, hinted):
                Image.fromarray(grey).save(folder / f"{photo.stem}.png")
            mask, (x, y), asked = plan
            document = {"version": 1, "hints": [{"x": x, "y": y, "color": "#808080",
                                                 "ab": [round(float(asked[0]), 3), round(float(asked[1]), 3)]}]}
            if reach is not None:
                document["reach"] = reach
            (hinted / f"{photo.stem}.png{SUFFIX}").write_text(json.dumps(document))
        colorize_folder(plain, Path(temp) / "out-plain", model)
        colorize_folder(hinted, Path(temp) / "out-hinted", model)
        for stem, (mask, _, asked) in plans.items():
            before = ab_of(Path(temp) / "out-plain" / f"{stem}.png")
            after = ab_of(Path(temp) / "out-hinted" / f"{stem}.png")
            rows.append({"photo": stem, **score(mask, asked, before, after)})
    return rows


def summary(rows: list[dict]) -> dict:
    small = [r for r in rows if r["area"] < 0.03]
    return {"photos": len(rows), "take": float(np.mean([r["take"] for r in rows])),
            "leak_far": float(np.mean([r["leak_far"] for r in rows])),
            "contained": float(np.mean([r["contained"] for r in rows])),
            "bad_share": float(np.mean([r["leak_far"] > BAD_LEAK for r in rows])),
            "small_take": float(np.mean([r["take"] for r in small])) if small else float("nan"),
            "small_leak_far": float(np.mean([r["leak_far"] for r in small])) if small else float("nan")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=[None])
    parser.add_argument("--eval", type=Path, default=EVAL)
    parser.add_argument("--limit", type=int, help="only the first N photos")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--reach", type=float, help="the hint's reach, written into its sidecar")
    args = parser.parse_args()
    photos = sorted((args.eval / "bsds500-test").glob("*.jpg"))[: args.limit]
    report = {}
    print("| model | photos | take | leak_far ab | contained | bad share | take (< 3 %) | leak_far (< 3 %) |")
    print("|---|---|---|---|---|---|---|---|")
    for model in args.models:
        rows = run(model, photos, args.eval, args.reach)
        figures = summary(rows)
        report[model or "default"] = {"summary": figures, "photos": rows}
        print(row(model or "default", figures["photos"], *(f"{figures[key]:.2f}" for key in (
            "take", "leak_far", "contained", "bad_share", "small_take", "small_leak_far"))), flush=True)
    return save_report(args.json, report)


if __name__ == "__main__":
    sys.exit(main())
