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


def expand_inputs(inputs: list[Path], recursive: bool) -> list[tuple[Path, Path]]:
    """(photo, path relative to the output folder) for each input.

    Files named explicitly are always tried, whatever their suffix, so a wrong file gets
    a clear error; folders contribute the files with a photo suffix.
    """
    found = []
    for item in inputs:
        if item.is_dir():
            pattern = item.rglob("*") if recursive else item.glob("*")
            for path in sorted(p for p in pattern if p.is_file() and p.suffix.lower() in READABLE_SUFFIXES):
                if not any(part.startswith(".") for part in path.relative_to(item).parts):
                    found.append((path, path.relative_to(item)))
        else:
            found.append((item, Path(item.name)))
    return found


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
    entries = expand_inputs(inputs, recursive)
    input_keys = {_key(path) for path, _ in entries if path.exists()}
    claimed: set = set()
    jobs = []
    for source, relative in entries:
        if not source.exists():
            jobs.append(Job(source, None, "file not found"))
            continue
        image_format = output_format(source_format_of(source), requested_format)
        target = output_dir / relative.parent / (relative.stem + _extension(source, image_format))
        key = _key(target)
        if key in input_keys:
            jobs.append(Job(source, target, f"result {target} would overwrite an input; choose another output folder"))
        elif key in claimed:
            jobs.append(Job(source, target, f"result {target} is also the result of another input with the same name"))
        elif target.exists() and not overwrite:
            jobs.append(Job(source, target, f"{target} already exists (use --overwrite to replace it)"))
        else:
            jobs.append(Job(source, target))
        claimed.add(key)
    return jobs


def _extension(source: Path, image_format: str) -> str:
    # Keep the user's own spelling (.jpeg, .tiff) when the format is unchanged.
    own = source.suffix.lower()
    if format_of(source) == image_format and own:
        return source.suffix
    return EXTENSIONS[image_format]


def _key(path: Path) -> str:
    # Case-insensitive file systems (Windows, macOS) treat A.png and a.png as one file.
    return os.path.normcase(os.path.abspath(path)).lower()
