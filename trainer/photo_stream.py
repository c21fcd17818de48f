"""Training views decoded on the fly from folders of small photos, with fresh augmentation.

For training sets too large to hold decoded (a built set of 100,000+ photos), and so that
every pass shows every photo in a new crop: a view is a random square of 60-100 % of the
photo's short side at a random place, scaled to the crop size and mirrored half the time.
Sources are mixed by weight; within a source every photo is shown once before any is shown
again (a shuffled cycle per source), and where each cycle stands is part of the state a
checkpoint keeps, so a resumed run goes on with new photos.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from autochrome.engine import decoding

from .photos import find_photos, is_monochrome

# What a damaged, hostile or oversized training file raises while decoding: it is passed over.
DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)

MIN_CROP_SHARE = 0.6


@dataclass(frozen=True)
class StreamSource:
    folder: Path
    weight: float = 1.0

    @classmethod
    def parse(cls, text: str) -> "StreamSource":
        """FOLDER or FOLDER:WEIGHT."""
        folder, sep, weight = text.rpartition(":")
        if sep and weight.replace(".", "", 1).isdigit() and folder:
            return cls(Path(folder), float(weight))
        return cls(Path(text))


class PhotoStream:
    def __init__(self, sources: list[StreamSource], crop: int, seed: int = 0):
        self.crop, self.seed = crop, seed
        self.seed_key = [seed]
        self.files: list[list[Path]] = []
        self.folders = [source.folder for source in sources]
        for source in sources:
            files = find_photos(source.folder)
            if not files:
                raise ValueError(f"no photos in {source.folder}")
            self.files.append(files)
        weights = np.array([source.weight for source in sources], np.float64)
        if weights.min() < 0 or weights.sum() <= 0:
            raise ValueError("source weights must be positive")
        self.shares = weights / weights.sum()
        self.drawn = np.zeros(len(sources), np.int64)  # photos taken from each source so far
        self.batches = 0
        self.identity = self._identity()

    def _identity(self) -> str:
        """What this stream trains on: the folders, their weights and their files (all of
        them: under torchrun every rank names the same run)."""
        digest = hashlib.sha1()
        for files, share in zip(self.files, self.shares):
            digest.update(f"{share:.6f}|{len(files)}|{files[0]}|{files[-1]}\n".encode())
        return digest.hexdigest()[:16]

    def take_share(self, rank: int, world: int) -> None:
        """Under torchrun: this rank reads every world-th photo of each source from its rank
        on, in its own order."""
        if world == 1:
            return
        self.files = [files[rank::world] for files in self.files]
        if not all(self.files):
            raise ValueError(f"a source has fewer photos than the {world} processes")
        self.seed_key = [*self.seed_key, 7_000_001, rank]

    def __len__(self) -> int:
        return sum(len(files) for files in self.files)

    def state(self) -> dict:
        return {"drawn": self.drawn.tolist(), "batches": self.batches}

    def load_state(self, state: dict) -> None:
        self.drawn = np.array(state["drawn"], np.int64)
        self.batches = int(state["batches"])

    def _photo(self, source: int) -> Path:
        files = self.files[source]
        cycle, position = divmod(int(self.drawn[source]), len(files))
        order = np.random.default_rng([*self.seed_key, source, cycle]).permutation(len(files))
        self.drawn[source] += 1
        return files[order[position]]

    def _view(self, path: Path, rng: np.random.Generator) -> np.ndarray | None:
        try:
            with decoding.quiet(), decoding.open_image(path) as image:
                image.draft("RGB", (self.crop, self.crop))  # JPEG: decode at a reduced scale when it can
                rgb = np.asarray(image.convert("RGB"))
        except DECODE_ERRORS:
            return None
        height, width = rgb.shape[:2]
        side = int(round(min(height, width) * rng.uniform(MIN_CROP_SHARE, 1.0)))
        side = max(min(side, height, width), 1)
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        square = rgb[top : top + side, left : left + side]
        interpolation = cv2.INTER_AREA if side > self.crop else cv2.INTER_CUBIC
        view = cv2.resize(square, (self.crop, self.crop), interpolation=interpolation)
        return view[:, ::-1] if rng.random() < 0.5 else view

    def batch(self, size: int) -> np.ndarray:
        """uint8 (size, crop, crop, 3) views; unreadable and near-grey photos are passed over."""
        rng = np.random.default_rng([*self.seed_key, 1_000_003, self.batches])
        self.batches += 1
        views = []
        misses = np.zeros(len(self.files), np.int64)  # unusable photos in a row, per source
        while len(views) < size:
            source = int(rng.choice(len(self.files), p=self.shares))
            view = self._view(self._photo(source), rng)
            if view is not None and not is_monochrome(view):
                views.append(view)
                misses[source] = 0
                continue
            misses[source] += 1
            if misses[source] > len(self.files[source]):  # a whole cycle and not one colour photo
                raise ValueError(f"none of the {len(self.files[source])} photos of {self.folders[source]} is a "
                                 "readable colour photo")
        return np.ascontiguousarray(np.stack(views))
