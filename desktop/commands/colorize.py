"""`autochrome colorize`: many photos through one loaded model, each failure named."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from engine.batch import plan_jobs
from engine.colorize import DEFAULT_RENDER_SIZE, ColorizeSettings
from engine.errors import AutochromeError
from engine.image_io import load_image, output_format, save_image


def _say(message: str, bar=None) -> None:
    if bar is not None:
        bar.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def _check_output_dir(folder: Path) -> str | None:
    """None if results can be written into `folder` (created if missing), else why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".autochrome-write-test"):
            pass
    except FileExistsError:
        return f"{folder} exists and is not a folder"
    except NotADirectoryError:
        return f"{folder}: part of the path is a file, not a folder"
    except PermissionError:
        return f"{folder}: permission denied"
    except OSError as exc:
        return f"{folder}: {exc.strerror or exc}"
    return None


def run_colorize(args) -> int:
    try:
        settings = ColorizeSettings(render_size=args.render_size or DEFAULT_RENDER_SIZE, saturation=args.saturation)
    except ValueError as exc:
        _say(f"error: {exc}")
        return 2
    if not 1 <= args.quality <= 100:
        _say("error: --quality must be between 1 and 100")
        return 2
    problem = _check_output_dir(args.output)
    if problem:
        _say(f"error: cannot write results: {problem}")
        return 1
    jobs = plan_jobs(args.inputs, args.output, args.recursive, args.format, args.overwrite)
    if not jobs:
        _say("error: no photos found in the given inputs" + ("" if args.recursive else " (use -r for sub-folders)"))
        return 1

    from engine.colorizer import Colorizer

    try:
        colorizer = Colorizer(args.model, args.device)
    except (AutochromeError, RuntimeError, ValueError) as exc:
        _say(f"error: {exc}")
        return 2
    _say(f"using {colorizer.describe()}")

    began = time.perf_counter()
    failures = 0
    bar = tqdm(total=len(jobs), unit="photo", file=sys.stderr, disable=len(jobs) < 2, dynamic_ncols=True)
    for job in jobs:
        bar.set_postfix_str(job.source.name, refresh=False)
        reason = job.problem or _colorize_one(colorizer, job, settings, args, bar)
        if reason:
            failures += 1
            _say(f"failed: {job.source}: {reason}", bar)
        bar.update(1)
    bar.close()
    done = len(jobs) - failures
    summary = f"colorized {done} of {len(jobs)} photo{'s' if len(jobs) != 1 else ''} in {time.perf_counter() - began:.1f} s"
    if failures:
        summary += f"; {failures} failed"
    print(f"{summary} -> {args.output}")
    return 1 if failures else 0


def _colorize_one(colorizer, job, settings, args, bar) -> str | None:
    """None on success, else the reason (a single line)."""
    try:
        image = load_image(job.source)
        result = colorizer.colorize(image, settings)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        image_format = output_format(image.format, args.format)
        notes = save_image(job.output, result.rgb, image_format, result.alpha, image.bit_depth, image.exif, args.quality)
    except AutochromeError as exc:
        return _strip_path(str(exc), job.source)
    except MemoryError as exc:
        return str(exc) or "not enough memory"
    except OSError as exc:
        return exc.strerror or str(exc)
    for note in image.notes + result.notes + notes:
        _say(f"note: {job.source.name}: {note}", bar)
    return None


def _strip_path(message: str, path: Path) -> str:
    # Engine messages start with the path; the CLI already names it once.
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message
