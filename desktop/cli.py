"""The `autochrome` command. Qt is imported only by the subcommands that open windows."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autochrome.engine import __version__


def _folder_name(text: str) -> Path:
    # Path("") is ".", which would quietly write into the current folder.
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a folder name")
    return Path(text)


def _strength(text: str) -> float:
    from autochrome.engine.edit import MAX_STRENGTH, MIN_STRENGTH

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not MIN_STRENGTH <= value <= MAX_STRENGTH:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between {MIN_STRENGTH:g} and {MAX_STRENGTH:g}")
    return value


def _add_colorize_parser(commands) -> None:
    colorize = commands.add_parser(
        "colorize",
        help="colorize photos and save the results in a folder",
        description="Colorize photos (files or folders) and write OUTDIR/<name>.<ext>. Inputs are never modified.",
    )
    colorize.add_argument("inputs", nargs="+", metavar="INPUT", type=Path, help="photo files or folders")
    colorize.add_argument("-o", "--output", required=True, type=_folder_name, metavar="OUTDIR", help="folder for the results")
    colorize.add_argument("-r", "--recursive", action="store_true", help="include photos in sub-folders")
    colorize.add_argument("--format", choices=["png", "jpg", "tif", "webp"], help="output format (default: the input's)")
    colorize.add_argument("--model", metavar="PATH|NAME", help="model file or name (see 'autochrome models')")
    colorize.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    colorize.add_argument("--render-size", type=int, default=None, metavar="N",
                          help="long side in pixels at which the model runs (default 256); larger is slower")
    colorize.add_argument("--saturation", type=float, default=None, metavar="F", help="colour strength (default 1.0)")
    colorize.add_argument("--vibrance", type=float, default=None, metavar="T",
                          help="for models that classify colours: 0.05 (vivid) to 1.0 (muted); default: the model's own")
    colorize.add_argument("--no-sidecar", action="store_true",
                          help="ignore the photos' hint files (<photo>.autochrome.json)")
    colorize.add_argument("--hints", type=Path, metavar="FILE",
                          help="use this hint file for the (single) photo instead of its own sidecar")
    colorize.add_argument("--reference", type=Path, metavar="FILE",
                          help="a colour photo every photo takes its colours from (instead of its sidecar's)")
    colorize.add_argument("--restore", action="store_true",
                          help="fill scratches, dust and cracks before colorizing (a sidecar's \"restore\" "
                               "does so for its photo; its strength and strokes apply either way)")
    colorize.add_argument("--restore-only", action="store_true",
                          help="write the restored grey photo, without colorizing")
    colorize.add_argument("--strength", type=_strength, metavar="S",
                          help="how readily restoring finds damage, 0-1 (default: the sidecar's, else 0.5; "
                               "higher finds fainter damage and more false marks)")
    colorize.add_argument("--quality", type=int, default=95, metavar="Q", help="JPEG/WebP quality (default 95)")
    colorize.add_argument("--overwrite", action="store_true", help="replace existing results (never an input)")


def _add_gui_and_eval_parsers(commands) -> None:
    gui = commands.add_parser("gui", help="open the desktop app (the default)", description="Open the desktop app.")
    gui.add_argument("files", nargs="*", type=Path, metavar="FILE", help="photos or folders to open")
    gui.add_argument("--smoke-test", nargs=2, type=Path, metavar=("INPUT", "OUTPUT"),
                     help="open INPUT in the real window, colorize it, save OUTPUT and exit (0 on success)")
    # For start-up benchmarks: print the time the window was shown, then quit.
    gui.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)

    evaluate = commands.add_parser(
        "eval", help="measure a model on a folder of colour photos",
        description="Colorize the L of each colour photo in EVAL_DIR and compare with the photo (PSNR, SSIM, "
                    "CIEDE2000, colourfulness); the grey image and the shipped default are baselines.")
    evaluate.add_argument("model", metavar="MODEL", help="model file or name")
    evaluate.add_argument("eval_dir", metavar="EVAL_DIR", type=Path)
    evaluate.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    evaluate.add_argument("--render-size", type=int, default=256, metavar="N")
    evaluate.add_argument("--sheet", type=Path, metavar="PNG", help="write a grey | ours | truth contact sheet")
    evaluate.add_argument("--sheet-rows", type=int, default=8, metavar="N")
    evaluate.add_argument("--json", type=Path, metavar="FILE", help="also write the per-photo figures as JSON")
    evaluate.add_argument("--no-default", action="store_true", help="leave the shipped default out of the table")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autochrome", description="Colorize black-and-white photos at their full resolution."
    )
    parser.add_argument("--version", action="version", version=f"autochrome {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    _add_colorize_parser(commands)
    _add_gui_and_eval_parsers(commands)

    from .commands.train import add_parsers as add_training_parsers

    add_training_parsers(commands)
    from .commands.finetune import add_parser as add_finetune_parser

    add_finetune_parser(commands)
    from .commands.data import add_parser as add_data_parser

    add_data_parser(commands)

    models = commands.add_parser("models", help="list the shipped and your own models", description="List models.")
    models.add_argument("--verbose", "-v", action="store_true", help="show full provenance")
    return parser


def _dash_file_hint(argv: list[str]) -> str | None:
    """argparse reads a file named like '-scan.png' as an option; say how to name it."""
    for word in argv:
        if word.startswith("-") and word != "-" and not word.startswith("--") and Path(word).exists():
            return f"{word} is read as an option; name the file as ./{word} (or put -- before it)"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    hint = _dash_file_hint(argv)
    if hint is not None and "--" not in argv:
        print(f"autochrome: error: {hint}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command == "colorize":
        from .commands.colorize import run_colorize

        return run_colorize(args)
    if args.command == "eval":
        from .commands.evaluate import run_eval

        return run_eval(args)
    if args.command == "train":
        from .commands.train import run_train

        return run_train(args)
    if args.command == "pack":
        from .commands.train import run_pack

        return run_pack(args)
    if args.command == "finetune":
        from .commands.finetune import run_finetune

        return run_finetune(args)
    if args.command == "data":
        from .commands.data import run_data_build

        return run_data_build(args)
    if args.command == "models":
        from .commands.models import run_models

        return run_models(args)
    from .app import run_gui

    if args.command == "gui":
        return run_gui(args.files, tuple(args.smoke_test) if args.smoke_test else None, args.exit_when_shown)
    return run_gui([])


if __name__ == "__main__":
    sys.exit(main())
