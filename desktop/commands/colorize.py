"""`autochrome colorize`: many photos through one loaded model, each failure named."""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from types import SimpleNamespace
from pathlib import Path

from tqdm import tqdm

from autochrome.engine import sidecar
from autochrome.engine.job_plan import plan_jobs
from autochrome.engine.edit import (
    DEFAULT_RENDER_SIZE,
    MAX_RENDER_SIZE,
    MIN_RENDER_SIZE,
    ColorizeSettings,
    EditError,
    PhotoEdit,
    RestoreEdit,
    settings_for,
)
from autochrome.engine.errors import AutochromeError
from autochrome.engine.formats import format_of
from autochrome.engine.color import lightness_to_grey_rgb
from autochrome.engine.image_io import load_image, output_format, save_image
from autochrome.engine.sidecar import SidecarError


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


def _settings(args) -> tuple[ColorizeSettings, frozenset]:
    """The run's settings, and which of them the command line set (those win over sidecars)."""
    if args.render_size is not None and not MIN_RENDER_SIZE <= args.render_size <= MAX_RENDER_SIZE:
        raise EditError(f"--render-size must be between {MIN_RENDER_SIZE} and {MAX_RENDER_SIZE} pixels")
    if args.hints is not None and not args.hints.is_file():
        raise EditError(f"--hints: {args.hints} is not a file")
    if not 1 <= args.quality <= 100:
        raise EditError("--quality must be between 1 and 100")
    settings = ColorizeSettings(render_size=args.render_size or DEFAULT_RENDER_SIZE,
                                saturation=1.0 if args.saturation is None else args.saturation,
                                temperature=args.vibrance)
    explicit = frozenset(name for name, value in (("render_size", args.render_size), ("saturation", args.saturation),
                                                   ("temperature", args.vibrance)) if value is not None)
    return settings, explicit


def run_colorize(args) -> int:
    try:
        settings, explicit = _settings(args)
    except EditError as exc:
        _say(f"error: {exc}")
        return 2
    # A reference that cannot be read is named once, and the photos are colorized without it.
    run_reference = _load_reference(args.reference, None) if args.reference is not None else None
    problem = _check_output_dir(args.output)
    if problem:
        _say(f"error: cannot write results: {problem}")
        return 1
    jobs = plan_jobs(args.inputs, args.output, args.recursive, args.format, args.overwrite)
    if not jobs:
        _say("error: no photos found in the given inputs" + ("" if args.recursive else " (use -r for sub-folders)"))
        return 1
    if args.hints is not None and len(jobs) != 1:
        _say("error: --hints gives one photo its hints; name exactly one photo")
        return 2
    try:
        colorizers = ColorizerPool(args.model, args.device)
    except (AutochromeError, RuntimeError, ValueError) as exc:
        _say(f"error: {exc}")
        return 2
    _say(f"using {colorizers.get(None).describe()}")
    if args.strength is not None and not (args.restore or args.restore_only):
        _say("note: --strength applies to the photos that are restored: add --restore (or --restore-only); "
             "a sidecar that restores its photo takes it too")
    began = time.perf_counter()
    counts = {"failed": 0, "hints": 0, "reference": 0, "damaged": 0}
    bar = tqdm(total=len(jobs), unit="photo", file=sys.stderr, disable=len(jobs) < 2, dynamic_ncols=True)
    for job in jobs:
        bar.set_postfix_str(job.source.name, refresh=False)
        reason = job.problem
        if not reason:
            reason, used_hints, used_reference, damaged = _colorize_one(colorizers, job, settings, explicit,
                                                                        run_reference, args, bar)
            counts["hints"] += used_hints
            counts["reference"] += used_reference
            counts["damaged"] += damaged
        if reason:
            counts["failed"] += 1
            _say(f"failed: {_one_line(str(job.source))}: {_one_line(reason)}", bar)
        bar.update(1)
    bar.close()
    done = "restored" if args.restore_only else "colorized"
    print(f"{_summary(len(jobs), counts, time.perf_counter() - began, done)} -> {args.output}")
    return 1 if counts["failed"] else 0


def _summary(total: int, counts: dict, seconds: float, done: str = "colorized") -> str:
    summary = f"{done} {total - counts['failed']} of {total} photo{'s' if total != 1 else ''} in {seconds:.1f} s"
    if counts.get("damaged"):
        # In a batch of thousands the notes scroll away; the last line says to look for them.
        summary += f", {counts['damaged']} damaged: see the notes above"
    if counts["hints"]:
        summary += f" ({counts['hints']} with the hints of {'its' if counts['hints'] == 1 else 'their'} sidecar)"
    if counts["reference"]:
        summary += f" ({counts['reference']} with colours from a reference photo)"
    if counts["failed"]:
        summary += f"; {counts['failed']} failed"
    return summary


class ColorizerPool:
    """The command's model, plus any other model a sidecar names (loaded once each)."""

    def __init__(self, model: str | None, device: str):
        from autochrome.engine.colorizer import Colorizer

        self._make = lambda name: Colorizer(name, device)
        self.explicit = model is not None
        self._loaded = {None: self._make(model)}
        self._failed: dict = {}

    def get(self, name: str | None):
        if name is None or self.explicit:
            return self._loaded[None]  # --model on the command line wins over sidecars
        if name not in self._loaded:
            self._loaded[name] = self._make(name)
        return self._loaded[name]

    def get_or_default(self, name: str | None, photo: str, bar):
        """A sidecar's model, or the run's own after a one-line warning when it cannot be had
        (a model that failed to load is not tried again)."""
        try:
            if name in self._failed:
                raise self._failed[name]
            return self.get(name)
        except Exception as exc:  # noqa: BLE001  a sidecar's model never fails the photo
            self._failed[name] = exc
            _say(f"warning: {_one_line(photo)}: its sidecar's model {_one_line(repr(name))} is not available "
                 f"({_one_line(str(exc))}); using {self._loaded[None].info.name}", bar)
            return self._loaded[None]


def _edit_for(job, image, args, bar) -> tuple[PhotoEdit | None, Path | None]:
    """The photo's sidecar edit (or --hints FILE) and where it lies; a bad one is a one-line
    warning, not a failure."""
    if args.no_sidecar:
        return None, None
    path = args.hints if args.hints is not None else sidecar.find(job.source)
    if path is None:
        return None, None
    try:
        return sidecar.read(path, image.size), path
    except SidecarError as exc:
        _say(f"warning: {_one_line(str(exc))}; {_one_line(job.source.name)} is colorized without it", bar)
        return None, None


def _load_reference(path, bar):
    """The reference photo, or None after a one-line warning naming it."""
    from autochrome.engine.reference import ReferencePhoto

    try:
        return ReferencePhoto.load(path)
    except (AutochromeError, OSError) as exc:
        _say(f"warning: reference photo {_one_line(str(exc))}; colorizing without it", bar)
        return None


def _colorize_one(colorizers, job, settings, explicit, run_reference, args, bar) -> tuple[str | None, bool, bool,
                                                                                        bool]:
    """(None on success, else the reason as a single line; whether sidecar hints were used;
    whether a reference photo was; whether the photo was damaged)."""
    edit = None
    try:
        image = load_image(job.source)
        edit, edit_path = _edit_for(job, image, args, bar)
        colorizer = colorizers.get(None)
        reference = run_reference
        if edit is not None:
            settings = settings_for(settings, edit, explicit)
            colorizer = colorizers.get_or_default(edit.model, job.source.name, bar)
            if reference is None and edit.reference:
                reference = _load_reference(sidecar.reference_path(edit, edit_path), bar)
        restore = _restore_for(edit, args)
        job.output.parent.mkdir(parents=True, exist_ok=True)
        # The encoder follows the result's name, so the bytes always match the suffix (a
        # multi-picture JPEG decodes as "MPO" and must still be written as JPEG).
        image_format = format_of(job.output) or output_format(image.format, args.format)
        source = image
        if restore is not None and restore.enabled:
            source = colorizer.restored(image, restore)[0]  # its last note says how much was filled
        if args.restore_only:
            result = SimpleNamespace(rgb=lightness_to_grey_rgb(source.lightness), alpha=image.alpha, notes=[])
        else:
            result = colorizer.colorize(source, settings, hints=edit.hints if edit else None, reference=reference)
        notes = save_image(job.output, result.rgb, image_format, result.alpha, image.bit_depth, image.exif, args.quality)
    except AutochromeError as exc:
        return _strip_path(str(exc), job.source), False, False, False
    except MemoryError as exc:
        return str(exc) or "not enough memory", False, False, False
    except OSError as exc:
        return exc.strerror or str(exc), False, False, False
    except Exception as exc:  # one bad photo never ends the batch: name it and go on
        return f"unexpected error ({type(exc).__name__}: {exc})", False, False, False
    for note in source.notes + result.notes + notes:
        _say(f"note: {_one_line(job.source.name)}: {_one_line(note)}", bar)
    colorized = not args.restore_only  # a restored grey photo takes no hints and no reference
    return None, colorized and bool(edit and edit.hints), colorized and reference is not None, image.damaged


def _restore_for(edit, args):
    """The photo's restoration: its sidecar's, switched on by --restore or --restore-only."""
    restore = edit.restore if edit is not None else None
    if args.restore or args.restore_only:
        restore = replace(restore or RestoreEdit(), enabled=True)
    if args.strength is not None and restore is not None:
        restore = replace(restore, strength=args.strength)
    return restore


def _one_line(text: str) -> str:
    """A name or message as one line: a newline in a file name would split a failure report."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _strip_path(message: str, path: Path) -> str:
    # Engine messages start with the path; the CLI already names it once.
    prefix = f"{path}: "
    return message[len(prefix):] if message.startswith(prefix) else message
