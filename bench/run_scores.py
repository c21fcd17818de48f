"""Score training runs at one colourfulness: calibrate, then evaluate on Kodak 24 and BSDS500.

    python bench/run_scores.py RUN.ckpt|MODEL.safetensors ... [--share 0.8] [--out scores.jsonl]

Each model (a model file, or a training checkpoint: its EMA weights when it has them) gets
its output gain calibrated so that every 30th photo of `shared/data/train` comes out `share`
of those photos' colourfulness (the shipped recipe's calibration), then is scored on both
eval sets. One JSON line per model: what the model card's learning curve and ablation read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from autochrome.engine.device import cpu_choice
from autochrome.engine.networks import GeneratorConfig, build_generator
from autochrome.engine.weights import ModelInfo, load_generator
from autochrome.trainer.calibrate import calibrate_strength
from autochrome.trainer.evaluate import evaluate
from autochrome.trainer.photos import find_photos

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_any(path: Path):
    """(generator, config, steps) from a model file or a training checkpoint."""
    if path.suffix == ".ckpt":
        state = torch.load(path, map_location="cpu", weights_only=True)
        step = int(state["step"])
        state = state.get("learner:decoder", state)  # frozen-encoder runs keep each learner apart
        config = GeneratorConfig.from_json(state["config"])
        model = build_generator(config)
        model.load_state_dict(state.get("ema", state["generator"]))
        return model.eval(), config, step
    model, info = load_generator(path)
    return model, info.config, int(info.provenance.get("steps", 0) or 0)


class _Loaded:
    """What trainer.evaluate needs of a Colorizer, for a model built here."""

    def __init__(self, model, config, name):
        self.model, self.choice = model, cpu_choice()
        self.info = ModelInfo(name=name, path=Path(name), config=config, provenance={}, metrics={}, origin="bench")

    def colorize(self, image, settings=None):
        from autochrome.engine.pipeline import ModelPredictor, colorize

        return colorize(image, ModelPredictor(self.model, self.choice), settings)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--share", type=float, default=0.8)
    parser.add_argument("--train", type=Path, default=SHARED / "train")
    parser.add_argument("--eval", type=Path, default=SHARED / "eval")
    parser.add_argument("--out", type=Path, help="append one JSON line per model here")
    parser.add_argument("--label", default="", help="a name for the run, kept in the JSON")
    args = parser.parse_args()
    calibration_photos = find_photos(args.train)[::30]
    for path in args.models:
        began = time.time()
        model, config, steps = load_any(path)
        calibration = calibrate_strength(model, config, calibration_photos, cpu_choice(), share=args.share)
        model.config = calibration.config
        row = {"model": str(path), "label": args.label, "steps": steps, "gain": calibration.value,
               "share": args.share, "date": time.strftime("%Y-%m-%d")}
        for folder in ("kodak24", "bsds500-test"):
            ours, grey, _ = evaluate(_Loaded(model, calibration.config, path.name), args.eval / folder)
            row[folder] = {k: round(v, 3) for k, v in ours.mean().items()}
        row["minutes"] = round((time.time() - began) / 60, 1)
        k, b = row["kodak24"], row["bsds500-test"]
        print(f"{path.name} step {steps} gain {calibration.value}: Kodak {k['psnr']:.2f} dB / {k['ciede2000']:.2f} / "
              f"gap {k['colourfulness_gap']:.1f}; BSDS500 {b['psnr']:.2f} / {b['ciede2000']:.2f} / "
              f"gap {b['colourfulness_gap']:.1f}", flush=True)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
