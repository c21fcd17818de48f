"""The hint curve: quality with 0, 1, 2, 5, 10, 20 simulated hints, through `autochrome colorize`.

Each eval photo gets a sidecar with k hints at random places (seeded), each carrying the
mean colour of the true photo's 5x5 patch there, as a user who knows the real colours would
give them. `autochrome colorize` reads the sidecars exactly as it does for a user; the
results are scored against the originals (PSNR, CIEDE2000, colourfulness gap).

    python bench/eval_hints.py MODEL [MODEL...] [--counts 0 1 2 5 10 20] [--sets kodak24 bsds500-test] [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from autochrome.desktop.cli import main as autochrome  # noqa: E402
from autochrome.engine import color  # noqa: E402
from autochrome.engine.sidecar import SUFFIX  # noqa: E402
from autochrome.trainer.evaluate import truth_rgb  # noqa: E402
from autochrome.trainer.metrics import all_metrics, mean_figures  # noqa: E402
from autochrome.trainer.photos import find_photos  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"
PATCH = 5


def simulated_hints(truth: np.ndarray, count: int, rng: np.random.Generator) -> list[dict]:
    height, width, _ = truth.shape
    lab = color.rgb_to_lab(truth)
    hints = []
    for _ in range(count):
        y = int(rng.integers(PATCH // 2, height - PATCH // 2))
        x = int(rng.integers(PATCH // 2, width - PATCH // 2))
        patch = lab[y - 2 : y + 3, x - 2 : x + 3]
        rgb = truth[y - 2 : y + 3, x - 2 : x + 3].reshape(-1, 3).mean(axis=0)
        a, b = patch[..., 1].mean(), patch[..., 2].mean()
        hints.append({"x": x, "y": y, "color": "#" + "".join(f"{round(v * 255):02x}" for v in rgb),
                      "ab": [round(float(a), 3), round(float(b), 3)]})
    return hints


def curve(model: str, photos: list[Path], counts: list[int], seed: int, render_size: int) -> dict[int, dict]:
    rows = {}
    truths = {path: truth_rgb(path) for path in photos}
    for count in counts:
        with tempfile.TemporaryDirectory() as temp:
            folder, out = Path(temp) / "in", Path(temp) / "out"
            folder.mkdir()
            for index, path in enumerate(photos):
                link = folder / path.name
                link.symlink_to(path.resolve())
                rng = np.random.default_rng([seed, count, index])
                document = {"version": 1, "hints": simulated_hints(truths[path], count, rng)}
                (folder / (path.name + SUFFIX)).write_text(json.dumps(document))
            quiet = io.StringIO()
            with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                code = autochrome(["colorize", str(folder), "-o", str(out), "--model", model, "--format", "png",
                                   "--render-size", str(render_size)])
            if code != 0:
                raise SystemExit(f"colorize failed for {model}:\n{quiet.getvalue()[-2000:]}")
            figures = [all_metrics(load_png(out / (path.stem + ".png")), truths[path]) for path in photos]
        rows[count] = mean_figures(figures)
    return rows


def levin_curve(photos: list[Path], counts: list[int], seed: int) -> dict[int, dict]:
    """The same simulated hints, spread by Levin et al.'s propagation alone (bench/levin_baseline.py)."""
    from levin_baseline import levin_colorize

    rows = {}
    truths = {path: truth_rgb(path) for path in photos}
    for count in counts:
        figures = []
        for index, path in enumerate(photos):
            truth = truths[path]
            rng = np.random.default_rng([seed, count, index])
            hints = [(h["x"], h["y"], *h["ab"]) for h in simulated_hints(truth, count, rng)]
            lightness = color.rgb_to_lab(truth)[..., 0]
            figures.append(all_metrics(levin_colorize(lightness, hints, PATCH), truth))
        rows[count] = mean_figures(figures)
    return rows


def load_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), np.float32) / 255.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--counts", type=int, nargs="+", default=[0, 1, 2, 5, 10, 20])
    parser.add_argument("--sets", nargs="+", default=["kodak24", "bsds500-test"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--render-size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--eval", type=Path, default=EVAL, help="folder holding kodak24/ and bsds500-test/")
    parser.add_argument("--levin", action="store_true", help="also Levin et al. 2004's propagation of the same hints")
    args = parser.parse_args()
    report = {}
    for name in args.sets:
        photos = find_photos(args.eval / name, recursive=False)
        print(f"\n{name} ({len(photos)} photos): PSNR dB / CIEDE2000 / colourfulness gap, by number of hints")
        print("| model | " + " | ".join(str(c) for c in args.counts) + " |")
        print("|---|" + "---|" * len(args.counts))
        for model in args.models:
            rows = curve(model, photos, args.counts, args.seed, args.render_size)
            report.setdefault(name, {})[model] = rows
            cells = [f"{r['psnr']:.2f} / {r['ciede2000']:.2f} / {r['colourfulness_gap']:.1f}" for r in rows.values()]
            print(f"| {Path(model).stem} | " + " | ".join(cells) + " |", flush=True)
        if args.levin:
            rows = levin_curve(photos, args.counts, args.seed)
            report[name]["levin2004"] = rows
            cells = [f"{r['psnr']:.2f} / {r['ciede2000']:.2f} / {r['colourfulness_gap']:.1f}" for r in rows.values()]
            print("| Levin et al. 2004 | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
