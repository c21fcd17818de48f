"""`autochrome finetune`: adapt a model to a folder of your own colour photos."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from autochrome.trainer.finetune_options import DEFAULT_HOLDOUT, MAX_HOLDOUT, MIN_HOLDOUT


def add_parser(commands) -> None:
    finetune = commands.add_parser(
        "finetune", help="fine-tune a model on a folder of your colour photos",
        description="Teach a model your own material (a family archive, a film stock, a place). The new model "
                    "is added to your models and can be chosen with --model NAME.")
    finetune.add_argument("folder", type=Path, metavar="FOLDER", nargs="?",
                          help="a folder of colour photos (with --corrections: where to look for corrected photos)")
    finetune.add_argument("--corrections", action="store_true",
                          help="learn from your corrected photos (photos with saved hints) instead of colour photos")
    finetune.add_argument("--name", required=True, help="name of the new model")
    finetune.add_argument("--preset", default="quick", choices=["quick", "standard", "thorough"])
    finetune.add_argument("--steps", type=int, help="training steps (overrides the preset)")
    finetune.add_argument("--base", metavar="MODEL", help="model to start from (default: the default model)")
    finetune.add_argument("--lr", type=float, default=3e-4, help="learning rate")
    finetune.add_argument("--crop", type=int, default=128, help="crop size: 64 to 256, a multiple of 32")
    finetune.add_argument("--adversarial", action="store_true", help="also run the GAN stage (slower)")
    finetune.add_argument("--train-encoder", action="store_true", help="train the whole network, not the decoder only")
    finetune.add_argument("--holdout", type=float, default=DEFAULT_HOLDOUT,
                          help=f"share of photos held out for validation ({MIN_HOLDOUT:g} to {MAX_HOLDOUT:g})")
    finetune.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    finetune.add_argument("--resume", action="store_true", help="continue an interrupted fine-tune of this name")


def run_finetune(args) -> int:
    from autochrome.engine.errors import AutochromeError
    from autochrome.trainer.finetune import (
        Finetune,
        FinetuneError,
        FinetuneOptions,
        checkpoint_path,
        validate_name,
    )

    options = FinetuneOptions(name=args.name, base_model=args.base, preset=args.preset, steps=args.steps,
                              learning_rate=args.lr, crop=args.crop, adversarial=args.adversarial,
                              holdout_share=args.holdout, train_encoder=args.train_encoder, device=args.device)
    try:
        options.check()
        name = validate_name(args.name)
        checkpoint = checkpoint_path(name)
        if checkpoint.exists() and not args.resume:
            raise FinetuneError(f"an unfinished fine-tune named '{name}' exists; pass --resume to continue it "
                                f"(or delete {checkpoint})")
        folder = _scan(args, name, options)
        print(f"{folder.scan.summary()}; training on {len(folder.train_paths)}, "
              f"validating on {len(folder.holdout_paths)}", file=sys.stderr)
        for path, reason in folder.scan.unreadable[:10]:
            print(f"skipped (unreadable): {path}: {reason}", file=sys.stderr)
        run = Finetune(folder, options)
    except (FinetuneError, AutochromeError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = options.total_steps
    bar = tqdm(total=total, initial=run.resumed_from, unit="step", file=sys.stderr, dynamic_ncols=True)
    try:
        for record in run.steps():
            bar.update(record.step - bar.n)
            bar.set_postfix(loss=f"{record.colour_loss or 0.0:.4f}", img_s=f"{record.images_per_second:.1f}", refresh=False)
    except KeyboardInterrupt:
        bar.close()
        run.trainer.save_checkpoint()
        print(f"stopped at step {run.trainer.step}; continue with --resume", file=sys.stderr)
        return 130
    except FloatingPointError as exc:
        bar.close()
        print(f"error: training diverged ({exc}); nothing was saved. Try a lower --lr.", file=sys.stderr)
        return 1
    bar.close()
    try:
        path, figures = run.finish()
    except FinetuneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    _report(figures, folder)
    print(f"use it with: autochrome colorize ... --model \"{run.name}\"")
    return 0


def _scan(args, name: str, options):
    """The photos to learn from, scanned (or the corrections rendered) with a progress bar."""
    from autochrome.trainer.finetune import FinetuneError, scan_corrections, scan_folder, scan_square

    with tqdm(desc="scanning", unit="photo", file=sys.stderr) as bar:
        def progress(done, total):
            bar.total = total
            bar.update(done + 1 - bar.n)

        if args.corrections:
            bar.set_description("rendering corrected photos")
            return scan_corrections(name, args.base, args.device, args.folder, args.holdout, progress=progress)
        if args.folder is None:
            raise FinetuneError("name a folder of colour photos, or pass --corrections")
        return scan_folder(args.folder, scan_square(options.crop), holdout_share=args.holdout, progress=progress)


def _report(figures: dict, folder) -> None:
    if not figures:
        return
    base, new = figures["base"], figures["new"]
    against = "their corrected colours" if folder.source == "corrections" else "the originals"
    print(f"held-out photos ({len(folder.holdout_paths)}, against {against}): "
          f"CIEDE2000 {base['ciede2000']:.2f} -> {new['ciede2000']:.2f}, "
          f"PSNR {base['psnr']:.2f} -> {new['psnr']:.2f} dB, "
          f"colourfulness gap {base['colourfulness_gap']:.1f} -> {new['colourfulness_gap']:.1f}")
