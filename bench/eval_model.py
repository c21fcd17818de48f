"""Evaluate a model on the shared eval sets and print the model card's table.

    python bench/eval_model.py [MODEL] [--sheet out.png]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autochrome.engine.pipeline import ColorizeSettings  # noqa: E402
from autochrome.engine.colorizer import Colorizer  # noqa: E402
from autochrome.trainer.evaluate import contact_sheet, evaluate, format_table  # noqa: E402

EVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "eval"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", default=[None])
    parser.add_argument("--sheet", type=Path)
    parser.add_argument("--render-size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--eval", type=Path, default=EVAL, help="folder holding kodak24/ and bsds500-test/")
    parser.add_argument("--flip", action="store_true", help="average with the mirrored photo's prediction")
    parser.add_argument("--vibrance", type=float, help="a classifier's temperature instead of its own")
    args = parser.parse_args()
    if not args.eval.is_dir():
        print(f"no eval data at {args.eval}", file=sys.stderr)
        return 1
    settings = ColorizeSettings(render_size=args.render_size, flip_average=args.flip, temperature=args.vibrance)
    report = {}
    for folder in ("kodak24", "bsds500-test"):
        results = []
        grey = None
        for model in args.models:
            colorizer = Colorizer(model, "cpu")
            ours, grey, triples = evaluate(colorizer, args.eval / folder, settings,
                                           sheet_rows=8 if args.sheet and folder == "kodak24" else 0)
            ours.name = f"{colorizer.info.name} ({Path(colorizer.info.path).name})"
            results.append(ours)
            if triples and model == args.models[0]:
                contact_sheet(triples, args.sheet)
        results.insert(0, grey)
        print(format_table(results, f"{folder} ({len(grey.per_photo)} photos, render size {args.render_size})"))
        report[folder] = {r.name: r.mean() for r in results}
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
