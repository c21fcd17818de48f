"""Build a compact training set from local copies of public photo repositories.

Every photo is decoded, checked and re-encoded small (short side 160 px, JPEG q90 4:4:4:
what training reads), with one manifest row recording where it came from. Left out, and
counted: files that cannot be decoded, photos too small, greyscale or near-monochrome photos,
near-duplicates of any evaluation photo (a perceptual hash, mirrored too), and near-duplicates
of a photo already taken (from any source, or from folders named with `also`).
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from autochrome.engine import decoding
from autochrome.engine.atomic import atomic_path

from .photo_sources import Source, read_photos
from .photos import find_photos, is_monochrome

SHORT_SIDE = 160
MIN_SIDE = 96
JPEG_QUALITY = 90
EVAL_DISTANCE = 10  # bits of 64: generous, since a missed eval duplicate costs far more than a lost photo
DUPLICATE_DISTANCE = 4
MANIFEST_FIELDS = ["path", "source_repo@commit", "original_path", "license_terms", "width", "height", "phash"]


def perceptual_hash(rgb: np.ndarray) -> int:
    """64-bit DCT hash (pHash): the signs of the lowest 8x8 frequencies of a 32x32 grey copy."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    small = cv2.resize(grey, (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(small)[:8, :8].flatten()
    bits = low > np.median(low[1:])
    return int(np.packbits(bits).view(">u8")[0])


def _hamming(hashes: np.ndarray, value: int) -> np.ndarray:
    xor = np.bitwise_xor(hashes, np.uint64(value))
    return np.unpackbits(xor.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


class NearDuplicates:
    """Hashes seen so far; finds one within `distance` bits by splitting the hash into
    `distance + 1` bands: two hashes that close agree exactly on at least one band."""

    def __init__(self, distance: int):
        self.distance = distance
        widths = [64 // (distance + 1)] * (distance + 1)
        widths[-1] += 64 - sum(widths)
        self.bands = []
        shift = 64
        for width in widths:
            shift -= width
            self.bands.append((shift, (1 << width) - 1))
        self.buckets: list[dict[int, list[int]]] = [{} for _ in self.bands]

    def find(self, value: int) -> int | None:
        for (shift, mask), bucket in zip(self.bands, self.buckets):
            for other in bucket.get((value >> shift) & mask, ()):
                if bin(other ^ value).count("1") <= self.distance:
                    return other
        return None

    def add(self, value: int) -> None:
        for (shift, mask), bucket in zip(self.bands, self.buckets):
            bucket.setdefault((value >> shift) & mask, []).append(value)


@dataclass
class BuildReport:
    kept: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # (source, reason)

    def summary(self) -> str:
        lines = [f"{sum(self.kept.values())} photos kept"]
        for source in sorted({s for s, _ in self.skipped} | set(self.kept)):
            reasons = ", ".join(f"{count} {reason}" for (s, reason), count in sorted(self.skipped.items()) if s == source)
            lines.append(f"  {source}: {self.kept[source]} kept" + (f"; skipped {reasons}" if reasons else ""))
        return "\n".join(lines)


def _prepare(item: tuple[str, bytes]) -> tuple[str, str | None, bytes, int, int, int]:
    """(path, reason it was left out or None, JPEG bytes, hash, width, height); runs in a worker."""
    path, data = item
    try:
        with decoding.quiet(), decoding.open_image(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
    except Exception as exc:  # any decoder failure: the file is left out and counted
        return path, f"unreadable ({type(exc).__name__})", b"", 0, 0, 0
    if min(image.size) < MIN_SIDE:
        return path, "too small", b"", 0, 0, 0
    scale = SHORT_SIDE / min(image.size)
    if scale < 1:
        size = (max(round(image.width * scale), SHORT_SIDE), max(round(image.height * scale), SHORT_SIDE))
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    rgb = np.asarray(image)
    if is_monochrome(rgb):
        return path, "greyscale or near-monochrome", b"", 0, 0, 0
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    return path, None, buffer.getvalue(), perceptual_hash(rgb), image.width, image.height


def eval_hashes(folders: Iterable[Path]) -> np.ndarray:
    """Hashes of every evaluation photo and of its mirror image."""
    values = []
    for folder in folders:
        for path in find_photos(folder):
            with decoding.quiet(), decoding.open_image(path) as image:
                rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
            values += [perceptual_hash(rgb), perceptual_hash(rgb[:, ::-1])]
    return np.array(values, dtype=np.uint64)


def build_training_set(out: Path, sources: list[tuple[Source, Path]], eval_folders: list[Path],
                       also: list[Path] = (), caps: dict[str, int | None] | None = None, workers: int = 2,
                       progress: Callable[[str, int], None] | None = None) -> BuildReport:
    """Write `out/<source>/<n>.jpg` and `out/MANIFEST.tsv`; `out` must not hold a set yet."""
    out = Path(out)
    if (out / "MANIFEST.tsv").exists():
        raise FileExistsError(f"{out} already holds a training set; choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    caps = dict(caps or {})
    forbidden = eval_hashes(eval_folders)
    seen = NearDuplicates(DUPLICATE_DISTANCE)
    for folder in also:
        for path in find_photos(folder):
            with decoding.quiet(), decoding.open_image(path) as image:
                seen.add(perceptual_hash(np.asarray(image.convert("RGB"))))
    report = BuildReport()
    rows = []
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for source, folder in sources:
            target = out / source.name
            target.mkdir(exist_ok=True)
            cap = caps.get(source.name, source.cap)
            prepared = pool.imap(_prepare, read_photos(source, folder, cap), chunksize=16)
            for path, reason, jpeg, value, width, height in prepared:
                if reason is None and len(forbidden) and _hamming(forbidden, value).min() <= EVAL_DISTANCE:
                    reason = "near-duplicate of an evaluation photo"
                if reason is None and seen.find(value) is not None:
                    reason = "near-duplicate of a photo already taken"
                if reason is not None:
                    report.skipped[source.name, reason] += 1
                    continue
                seen.add(value)
                name = f"{source.name}/{report.kept[source.name]:06d}.jpg"
                (out / name).write_bytes(jpeg)
                report.kept[source.name] += 1
                rows.append({"path": name, "source_repo@commit": source.origin, "original_path": path,
                             "license_terms": source.terms, "width": width, "height": height,
                             "phash": f"{value:016x}"})
                if progress is not None:
                    progress(source.name, report.kept[source.name])
    with atomic_path(out / "MANIFEST.tsv") as temp:
        with open(temp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, MANIFEST_FIELDS, delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
    (out / "BUILD.json").write_text(json.dumps({
        "kept": dict(report.kept), "skipped": {f"{s}: {r}": n for (s, r), n in sorted(report.skipped.items())},
        "sources": {source.name: source.origin for source, _ in sources},
    }, indent=1))
    return report
