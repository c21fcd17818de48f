"""Turning the user's inputs into (photo, result path) jobs without ever targeting an input."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .formats import EXTENSIONS, READABLE_SUFFIXES, format_of
from .image_io import output_format


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
        if item.is_dir():
            for path in sorted(_walk(item, recursive, unreadable)):
                if not any(part.startswith(".") for part in path.relative_to(item).parts):
                    found.append((path, path.relative_to(item)))
        else:
            found.append((item, Path(item.name)))
    return (found, unreadable) if report_unreadable else found


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
    """Pick each result's path; refuse any that is an input, an earlier result, or (without
    `overwrite`) an existing file."""
    source_format_of = source_format_of or (lambda path: format_of(path) or "PNG")
    entries, unreadable = expand_inputs(inputs, recursive, report_unreadable=True)
    input_keys = set()
    for path, _ in entries:
        if path.exists():
            input_keys |= identities(path)
    claimed: set = set()
    jobs = [Job(folder, None, f"folder could not be read ({reason}); its photos were skipped")
            for folder, reason in unreadable]
    for source, relative in entries:
        if not source.exists():
            jobs.append(Job(source, None, "file not found"))
            continue
        image_format = output_format(source_format_of(source), requested_format)
        target = output_dir / relative.parent / (relative.stem + _extension(source, image_format))
        keys = identities(target)
        if keys & input_keys:
            jobs.append(Job(source, target, f"result {target} would overwrite an input; choose another output folder"))
        elif keys & claimed:
            jobs.append(Job(source, target, f"result {target} is also the result of another input with the same name"))
        elif target.exists() and not overwrite:
            jobs.append(Job(source, target, f"{target} already exists (use --overwrite to replace it)"))
        else:
            jobs.append(Job(source, target))
        claimed |= keys
    return jobs


def _extension(source: Path, image_format: str) -> str:
    # Keep the user's own spelling (.jpeg, .tiff) when the format is unchanged.
    own = source.suffix.lower()
    if format_of(source) == image_format and own:
        return source.suffix
    return EXTENSIONS[image_format]


def identities(path: Path) -> set:
    """Everything that identifies the file a path points to, so two spellings of one file
    (symlinks, bind mounts, `..`, letter case on Windows and macOS) compare equal: the file's
    device and inode when it exists, and its folder's device and inode with its name."""
    keys = {("path", os.path.normcase(os.path.realpath(path)).lower())}
    try:
        info = os.stat(path)
        keys.add(("inode", info.st_dev, info.st_ino))
    except OSError:
        pass
    try:
        folder = os.stat(Path(path).parent)
        keys.add(("entry", folder.st_dev, folder.st_ino, os.path.normcase(Path(path).name).lower()))
    except OSError:
        pass
    return keys
