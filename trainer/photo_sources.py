"""The public repositories that hold more training photos, and reading them without a network.

Each source is pinned to a commit (the MiniPlaces files exist only in that commit's history),
names the folders that hold its photos, the files that must stay out (ImageNet validation
photos, duplicated folders) and its terms. A source is read from a git directory (a clone or
a bare mirror) at its commit, or from a plain folder holding those files.
"""

from __future__ import annotations

import fnmatch
import hashlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from autochrome.engine.formats import READABLE_SUFFIXES

IMAGENET_TERMS = "ImageNet terms of access: non-commercial research and education"


@dataclass(frozen=True)
class Source:
    name: str
    repository: str
    commit: str
    folders: tuple[str, ...]
    terms: str
    exclude: tuple[str, ...] = ()  # fnmatch patterns on the path inside the repository
    cap: int | None = None  # at most this many photos unless the user asks otherwise

    @property
    def origin(self) -> str:
        return f"{self.repository}@{self.commit}"

    def wants(self, path: str) -> bool:
        if PurePosixPath(path).suffix.lower() not in READABLE_SUFFIXES:
            return False
        if not any(path.startswith(folder.rstrip("/") + "/") for folder in self.folders):
            return False
        name = PurePosixPath(path).name
        return not any(fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(name, pattern) for pattern in self.exclude)


# ImageNet validation photos stay out of all training: Autochrome's quality is measured on them.
NO_IMAGENET_VAL = ("ILSVRC2012_val_*",)

SOURCES = {
    source.name: source
    for source in (
        Source("miniplaces", "rathull/CTFs", "f35c219885f163ca00a045236dd44be489598837",
               ("data/images/train", "data/images/val", "data/images/test"),
               "MiniPlaces (from Places2, MIT): non-commercial research"),
        Source("imagenette", "thunderInfy/imagenette", "b850f030ff0701c36a4adc8b928ea9483a46915b",
               ("train", "val"), IMAGENET_TERMS, NO_IMAGENET_VAL),
        Source("caltech101", "taibarehm/CVassimgement", "5e5ee696e6576f6ed4c674e3763f77e40242332a",
               ("caltech-101",), "Caltech-101: CC BY 4.0",
               # Faces_easy holds the Faces photos again, cropped; organized_caltech101 is outside caltech-101/.
               ("*/Faces_easy/*",)),
        Source("clothing", "alexeygrigorev/clothing-dataset", "7ed86a9cc56763b6acb35e41cb35184e43a5d218",
               ("images",), "CC0 1.0"),
        Source("imagewoof", "q878787/imagewoof2-320", "874e58f0c1acebb0d90e40f48460d65322f09f85",
               ("train", "val"), IMAGENET_TERMS, NO_IMAGENET_VAL),
        # Squashed to 200x200 and only two kinds of subject: capped so it cannot dominate.
        Source("dogs-vs-cats", "4GeeksAcademy/Deep-Learning-CarlosFS", "d771ae194ca9a8fe14e746dca60af5361d57a5e1",
               ("train", "test1"), "Kaggle Dogs vs. Cats (Asirra): research", cap=3000),
    )
}


class SourceError(ValueError):
    """A checkout that is not what it was named as, or cannot be read."""


def _git(folder: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "--git-dir", str(folder), *args], capture_output=True, **kwargs)


def git_dir(folder: Path) -> Path | None:
    """The git directory of a clone (`folder/.git`) or a bare mirror (`folder` itself)."""
    for candidate in (folder / ".git", folder):
        if (candidate / "objects").is_dir() and (candidate / "HEAD").exists():
            return candidate
    return None


def identify(folder: Path) -> Source:
    """Which known source a git directory holds: the one whose pinned commit it has."""
    repo = git_dir(folder)
    if repo is None:
        raise SourceError(f"{folder} is not a git clone; name its source as NAME=FOLDER ({', '.join(SOURCES)})")
    for source in SOURCES.values():
        if _git(repo, "cat-file", "-e", f"{source.commit}^{{commit}}").returncode == 0:
            return source
    raise SourceError(f"{folder} holds none of the known sources' commits ({', '.join(SOURCES)})")


def _choose(paths: list[str], cap: int | None) -> list[str]:
    """At most `cap` of the paths, chosen by a hash of each path: the same ones on every build."""
    if cap is not None and len(paths) > cap:
        paths = sorted(paths, key=lambda path: hashlib.sha1(path.encode()).digest())[:cap]
    return sorted(paths)


def read_photos(source: Source, folder: Path, cap: int | None = None) -> Iterator[tuple[str, bytes]]:
    """(path in the repository, file bytes) of the photos the source wants (at most `cap`),
    in path order."""
    repo = git_dir(folder)
    if repo is not None and _git(repo, "cat-file", "-e", f"{source.commit}^{{commit}}").returncode == 0:
        yield from _read_git(source, repo, cap)
    else:
        yield from _read_tree(source, folder, cap)


def _read_tree(source: Source, folder: Path, cap: int | None) -> Iterator[tuple[str, bytes]]:
    paths = sorted(str(p.relative_to(folder).as_posix()) for p in folder.rglob("*") if p.is_file())
    wanted = [p for p in paths if source.wants(p)]
    if not wanted:
        raise SourceError(f"{folder} has no photos under {', '.join(source.folders)} (is it {source.repository}?)")
    for path in _choose(wanted, cap):
        yield path, (folder / path).read_bytes()


def _read_git(source: Source, repo: Path, cap: int | None) -> Iterator[tuple[str, bytes]]:
    listing = _git(repo, "ls-tree", "-r", "-z", source.commit, "--", *source.folders, check=True).stdout
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        _mode, kind, sha = meta.split()
        path = path.decode("utf-8", "replace")
        if kind == b"blob" and source.wants(path):
            entries.append((path, sha.decode()))
    chosen = set(_choose([path for path, _ in entries], cap))
    entries = sorted(entry for entry in entries if entry[0] in chosen)
    # One `cat-file --batch` for all blobs: a process per file would cost more than decoding.
    with subprocess.Popen(["git", "--git-dir", str(repo), "cat-file", "--batch"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE) as process:
        try:
            for path, sha in entries:
                process.stdin.write(sha.encode() + b"\n")
                process.stdin.flush()
                header = process.stdout.readline().split()
                if len(header) < 3 or header[1] != b"blob":
                    continue  # missing from a shallow or size-limited copy
                data = process.stdout.read(int(header[2]))
                process.stdout.read(1)
                yield path, data
        finally:
            process.stdin.close()
            process.kill()
