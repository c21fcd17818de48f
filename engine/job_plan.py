"""Turning the user's inputs into (photo, result path) jobs without ever targeting an input."""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .formats import EXTENSIONS, READABLE_SUFFIXES, format_of
from .image_io import is_autochrome_result, output_format

NAME_BYTES = 255


@dataclass
class Job:
    source: Path
    output: Path | None
    problem: str | None = None  # why this job cannot run; the others still do


def expand_inputs(inputs: list[Path], recursive: bool, report_unreadable: bool = False):
    """(photo, path relative to the output folder) for each input; with `report_unreadable`,
    also the (folder, reason) of every folder that could not be listed.

    Files named explicitly are always tried, whatever their suffix, so a wrong file gets
    a clear error; folders contribute the files with a photo suffix.
    """
    found, unreadable = [], []
    for item in inputs:
        if is_folder(item):
            for path in sorted(_walk(item, recursive, unreadable)):
                if not any(part.startswith(".") for part in path.relative_to(item).parts):
                    found.append((path, path.relative_to(item)))
        else:
            found.append((item, Path(item.name)))
    return (found, unreadable) if report_unreadable else found


def is_folder(path: Path) -> bool:
    """Path.is_dir that answers False instead of raising (a name too long for the file system
    raises ENAMETOOLONG): such a path is then tried as a file, and named with its problem."""
    try:
        return path.is_dir()
    except OSError:
        return False


def missing_reason(path: Path) -> str | None:
    """Why there is no file to read at `path` (not found, a name too long...), or None."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            return "its name is too long for the file system"
        return exc.strerror or str(exc)
    return None


def _walk(folder: Path, recursive: bool, unreadable: list):
    def failed(error: OSError):
        unreadable.append((Path(error.filename or folder), error.strerror or str(error)))

    for root, folders, files in os.walk(folder, onerror=failed):
        folders[:] = sorted(folders) if recursive else []
        for name in files:
            path = Path(root) / name
            if path.suffix.lower() in READABLE_SUFFIXES and path.is_file():
                yield path


def plan_jobs(
    inputs: list[Path],
    output_dir: Path,
    recursive: bool = False,
    requested_format: str | None = None,
    overwrite: bool = False,
    source_format_of=None,
) -> list[Job]:
    """Pick each result's path: its own name in the output folder, or, when several inputs
    would share one (scan.gif and scan.png), `<stem>-<its suffix>` for the others; a name too
    long to exist is shortened. Refuse any result that is an input, and (without
    `overwrite`) any existing file; `overwrite` replaces only earlier Autochrome results."""
    source_format_of = source_format_of or (lambda path: format_of(path) or "PNG")
    entries, unreadable = expand_inputs(inputs, recursive, report_unreadable=True)
    jobs = [Job(folder, None, f"folder could not be read ({reason}); its photos were skipped")
            for folder, reason in unreadable]
    unique, seen = [], set()
    for source, relative in entries:
        key = _input_key(source)
        if key is None or key not in seen:  # a photo named twice is colorized once
            unique.append((source, relative))
            seen.add(key)
    input_keys = input_identities(path for path, _ in unique if missing_reason(path) is None)
    claimed: set = set()
    # Inputs that keep their own suffix claim their plain name first.
    order = sorted(unique, key=lambda entry: _extension(entry[0], output_format(
        source_format_of(entry[0]), requested_format)) != entry[0].suffix)
    for source, relative in order:
        missing = missing_reason(source)
        if missing is not None:
            jobs.append(Job(source, None, missing))
            continue
        image_format = output_format(source_format_of(source), requested_format)
        target = _free_name(output_dir / relative.parent, relative, _extension(source, image_format), claimed)
        keys = identities(target)
        if is_input(target, input_keys):
            jobs.append(Job(source, target, f"result {target} would overwrite an input; choose another output folder"))
        elif target.exists() and not overwrite:
            jobs.append(Job(source, target, f"{target} already exists (use --overwrite to replace it)"))
        elif target.exists() and not is_autochrome_result(target):
            jobs.append(Job(source, target, f"{target} exists and is not an earlier Autochrome result; "
                                            "--overwrite replaces only those"))
        else:
            jobs.append(Job(source, target))
        claimed |= keys
    return jobs


def _input_key(path: Path):
    try:
        info = os.stat(path)
        return info.st_dev, info.st_ino
    except OSError:
        return None


def _free_name(folder: Path, relative: Path, extension: str, claimed: set) -> Path:
    """The result's name in `folder`: the input's stem, else with its own suffix added (and a
    number), within the 255 bytes a file name may have."""
    stem = relative.stem
    candidates = [stem, f"{stem}-{relative.suffix.lstrip('.').lower() or 'photo'}"]
    candidates += [f"{candidates[1]}-{number}" for number in range(2, 1000)]
    for candidate in candidates:
        target = folder / (_fitting(candidate, extension) + extension)
        if not identities(target) & claimed:
            return target
    return folder / (_fitting(stem, extension) + extension)


def _fitting(stem: str, extension: str) -> str:
    """A stem short enough, with the extension, for a file name (255 bytes); a cut stem keeps a
    short digest of the whole one, so two long names stay apart."""
    limit = NAME_BYTES - len(os.fsencode(extension))
    encoded = os.fsencode(stem)
    if len(encoded) <= limit:
        return stem
    digest = hashlib.sha1(encoded).hexdigest()[:8]
    return encoded[: limit - 9].decode("utf-8", "ignore") + "-" + digest  # whole characters only


def _extension(source: Path, image_format: str) -> str:
    # Keep the user's own spelling (.jpeg, .tiff) when the format is unchanged.
    own = source.suffix.lower()
    if format_of(source) == image_format and own:
        return source.suffix
    return EXTENSIONS[image_format]


def input_identities(inputs) -> set:
    """What identifies each input file (see `identities`), for `is_input`."""
    return set().union(*(identities(Path(path)) for path in inputs if path is not None))


def is_input(path: Path, inputs) -> bool:
    """The one rule for every writer, command line and app: a result never goes to a path
    that names one of the inputs (the photos, their reference photos), in any spelling.
    `inputs` is paths or what `input_identities` made of them."""
    keys = inputs if isinstance(inputs, set) else input_identities(inputs)
    return bool(identities(Path(path)) & keys)


def identities(path: Path) -> set:
    """Everything that identifies the file a path points to, so two spellings of one file
    (symlinks, bind mounts, `..`, letter case on Windows and macOS) compare equal: the file's
    device and inode when it exists, and its folder's device and inode with its name."""
    fold = _folds_case(Path(path).parent)
    real = os.path.normcase(os.path.realpath(path))
    keys = {("path", real.lower() if fold else real)}
    try:
        info = os.stat(path)
        keys.add(("inode", info.st_dev, info.st_ino))
    except OSError:
        pass
    try:
        folder = os.stat(Path(path).parent)
        name = os.path.normcase(Path(path).name)
        keys.add(("entry", folder.st_dev, folder.st_ino, name.lower() if fold else name))
    except OSError:
        pass
    return keys


def _folds_case(folder: Path) -> bool:
    """Whether names in this folder ignore letter case: always on Windows, usually on macOS
    (checked by spelling the folder's path in the other case), not on Linux."""
    if sys.platform == "win32":
        return True
    if sys.platform != "darwin":
        return False
    try:
        real = os.path.realpath(folder)
        swapped = real.swapcase()
        return swapped == real or os.path.samefile(real, swapped)
    except OSError:
        return False
