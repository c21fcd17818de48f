"""`autochrome eval`: the metrics table for a model against the grey baseline and the default."""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from autochrome.engine import weights
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.errors import AutochromeError
from autochrome.trainer.evaluate import contact_sheet, evaluate, format_table


def run_eval(args) -> int:
    try:
        settings = ColorizeSettings(render_size=args.render_size)
        candidate = Colorizer(args.model, args.device)
        default_path = weights.resolve_model(None)
        baseline = None
        if not args.no_default and default_path.resolve() != candidate.info.path.resolve():
            baseline = Colorizer(default_path, args.device)
    except (AutochromeError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not args.eval_dir.is_dir():
        print(f"error: {args.eval_dir} is not a folder", file=sys.stderr)
        return 2
    results = []
    report = {}
    for colorizer, label in ((candidate, candidate.info.name), (baseline, "shipped default")):
        if colorizer is None:
            continue
        bar = tqdm(desc=label, unit="photo", file=sys.stderr)

        def progress(done, total):
            bar.total = total
            bar.update(done - bar.n)

        try:
            ours, grey, triples = evaluate(colorizer, args.eval_dir, settings,
                                           sheet_rows=args.sheet_rows if args.sheet and colorizer is candidate else 0,
                                           progress=progress)
        except ValueError as exc:
            bar.close()
            print(f"error: {exc}", file=sys.stderr)
            return 2
        bar.close()
        ours.name = label if colorizer is candidate else f"{colorizer.info.name} (shipped default)"
        if not results:
            results.append(grey)
            report["grey"] = grey.per_photo
        results.append(ours)
        report[ours.name] = ours.per_photo
        if triples:
            contact_sheet(triples, args.sheet)
    for path, reason in results[0].skipped:
        print(f"skipped: {path.name}: {' '.join(reason.split())}", file=sys.stderr)
    if not results[0].per_photo:
        print("error: no photo in the folder could be read", file=sys.stderr)
        return 1
    print(format_table(results, f"{args.eval_dir} ({len(results[0].per_photo)} photos, render size {args.render_size})"))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0
