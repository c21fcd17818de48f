"""`autochrome data build`: a training set from local copies of public photo repositories."""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm


def _source_arg(text: str):
    """NAME=FOLDER, or FOLDER (a git clone or mirror, recognised by its pinned commit)."""
    from autochrome.trainer.photo_sources import SOURCES, SourceError, identify

    name, sep, folder = text.partition("=")
    if sep and name in SOURCES:
        return SOURCES[name], Path(folder)
    if sep and not Path(text).exists():
        raise SourceError(f"unknown source {name!r}; known: {', '.join(SOURCES)}")
    return identify(Path(text)), Path(text)


def run_data_build(args) -> int:
    from autochrome.trainer.photo_sources import SOURCES, SourceError
    from autochrome.trainer.training_set import build_training_set

    try:
        sources = [_source_arg(text) for text in args.sources]
        caps = {}
        for text in args.cap:
            name, _, count = text.partition("=")
            if name not in SOURCES or not count.isdigit():
                raise SourceError(f"--cap takes NAME=COUNT with NAME one of {', '.join(SOURCES)}")
            caps[name] = int(count)
    except (SourceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for folder in [*args.eval, *args.also]:
        if not folder.is_dir():
            print(f"error: {folder} is not a folder", file=sys.stderr)
            return 2
    bar = tqdm(unit="photo", file=sys.stderr, dynamic_ncols=True)

    def progress(source: str, kept: int) -> None:
        bar.set_postfix(source=source, kept=kept, refresh=False)
        bar.update(1)

    try:
        report = build_training_set(args.out, sources, args.eval, args.also, caps, args.workers, progress)
    except (FileExistsError, SourceError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        bar.close()
    print(report.summary())
    print(f"wrote {args.out / 'MANIFEST.tsv'}")
    return 0


def add_parser(commands) -> None:
    data = commands.add_parser("data", help="build a training set from photo repositories",
                               description="Training data tools.")
    actions = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build", help="build a training set from local clones of the known photo repositories",
        description="Read photos from local clones (or bare mirrors) of the known repositories at their pinned "
                    "commits, leave out ImageNet validation files, greyscale photos, near-duplicates of the "
                    "evaluation photos and of each other, and write small JPEGs plus MANIFEST.tsv to OUT.")
    build.add_argument("out", type=Path, metavar="OUT")
    build.add_argument("--from", dest="sources", action="append", required=True, metavar="[NAME=]FOLDER",
                       help="a clone of one source (repeat for each); NAME= for a plain folder of its files")
    build.add_argument("--eval", action="append", type=Path, default=[], metavar="DIR",
                       help="evaluation photos: near-duplicates of these are left out (repeatable)")
    build.add_argument("--also", action="append", type=Path, default=[], metavar="DIR",
                       help="photos already trained on: near-duplicates of these are left out too")
    build.add_argument("--cap", action="append", default=[], metavar="NAME=COUNT",
                       help="at most COUNT photos of that source")
    build.add_argument("--workers", type=int, default=2, help="decoding processes")
