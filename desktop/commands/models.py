"""`autochrome models`: what can be picked with --model, and where each came from."""

from __future__ import annotations

from autochrome.engine import paths, weights


def run_models(args) -> int:
    broken: list = []
    infos = weights.list_models(broken)
    if not infos and not broken:
        print("no models found")
        return 1
    for info in infos:
        config = info.config
        kind = f"{config.architecture}/{config.encoder}" if config.architecture == "unet" else "pix2pix"
        default = " (default)" if info.name == weights.DEFAULT_MODEL_NAME else ""
        print(f"{info.name}{default}  [{info.origin}, {kind}]")
        provenance = info.provenance
        if info.description:
            print(f"    {info.description}")
        facts = [f"{key} {provenance[key]}" for key in ("steps", "date", "hardware") if key in provenance]
        if facts:
            print("    " + ", ".join(facts))
        if args.verbose:
            for key, value in sorted(provenance.items()):
                print(f"    {key}: {value}")
            for key, value in sorted(info.metrics.items()):
                print(f"    metric {key}: {value}")
            print(f"    file: {info.path}")
    for path, reason in broken:
        print(f"{path.stem}  [broken: {reason}]")
    print(f"user models folder: {paths.user_models_dir()}")
    return 0
