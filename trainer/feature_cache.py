"""A frozen encoder's features of every training view, computed once and kept on disk.

With the encoder frozen, its forward pass is the same at every epoch; computing it once
lets the decoder see several times more photos per CPU hour. Each photo (decoded as a
square) gives four views: the whole square at the training size and a random crop of it,
each also mirrored. Stored as memory-mapped arrays beside a small JSON description, written
in chunks so an interrupted build resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from autochrome.engine import color
from autochrome.engine.atomic import atomic_path

from .degrade import degrade_lightness
from .metrics import colourfulness

VIEWS_PER_PHOTO = 4
FIRST_TAP = 1  # stride 4 on: the decoders that use a cache stop at stride 4 or coarser
CHUNK = 64  # photos between two saved states of a build
ENCODE_BATCH = 32


@dataclass(frozen=True)
class CacheSpec:
    encoder: str
    size: int = 128
    degrade: bool = False
    seed: int = 0
    photos: int = 0
    photos_digest: str = ""


def _views(square: np.ndarray, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    whole = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    top, left = rng.integers(0, square.shape[0] - size + 1, 2)
    crop = square[top : top + size, left : left + size]
    return [whole, whole[:, ::-1], crop, crop[:, ::-1]]


def digest(photos: np.ndarray) -> str:
    return hashlib.sha1(photos[:, ::16, ::16].tobytes()).hexdigest()[:16]


class FeatureCache:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        meta = json.loads((self.folder / "cache.json").read_text())
        self.spec = CacheSpec(**meta["spec"])
        self.done = int(meta["done"])
        self.shapes = [tuple(shape) for shape in meta["shapes"]]
        count = self.spec.photos * VIEWS_PER_PHOTO
        self.rgb = np.lib.format.open_memmap(self.folder / "rgb.npy", mode="r")
        self.taps = [np.lib.format.open_memmap(self.folder / f"tap{i}.npy", mode="r") for i in range(len(self.shapes))]
        self.colourfulness = np.load(self.folder / "colourfulness.npy") if self.complete else np.zeros(count)

    @property
    def complete(self) -> bool:
        return self.done >= self.spec.photos * VIEWS_PER_PHOTO

    def __len__(self) -> int:
        return self.done

    def batch(self, indices: np.ndarray, device: torch.device):
        """Features (list, None for the uncached shallow tap) and uint8 RGB views (N, S, S, 3)."""
        order = np.sort(indices)  # memory-mapped reads are faster in file order
        features = [None] * FIRST_TAP + [torch.from_numpy(np.ascontiguousarray(tap[order])).to(device).float() for tap in self.taps]
        return features, torch.from_numpy(np.ascontiguousarray(self.rgb[order])).to(device)


def build_cache(folder: Path, photos: np.ndarray, encoder: torch.nn.Module, spec: CacheSpec,
                device: torch.device, progress=None) -> FeatureCache:
    """Encode every view of `photos` (uint8 squares, N x S x S x 3) into `folder`; resumes a
    partial build of the same spec, refuses a folder that holds another one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / "cache.json"
    count = len(photos) * VIEWS_PER_PHOTO
    encoder = encoder.to(device).eval()
    with torch.inference_mode():
        probe = encoder(torch.zeros(1, 1, spec.size, spec.size, device=device))[FIRST_TAP:]
    shapes = [tuple(f.shape[1:]) for f in probe]
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if CacheSpec(**meta["spec"]) != spec:
            raise ValueError(f"{folder} holds features of other photos or another encoder; use a new folder")
        done = int(meta["done"])
        mode = "r+"
    else:
        done, mode = 0, "w+"
    rgb = np.lib.format.open_memmap(folder / "rgb.npy", mode=mode, dtype=np.uint8, shape=(count, spec.size, spec.size, 3))
    taps = [np.lib.format.open_memmap(folder / f"tap{i}.npy", mode=mode, dtype=np.float16, shape=(count, *shape))
            for i, shape in enumerate(shapes)]
    for start_photo in range(done // VIEWS_PER_PHOTO, len(photos), CHUNK):
        chunk = photos[start_photo : start_photo + CHUNK]
        views, inputs = [], []
        for offset, square in enumerate(chunk):
            rng = np.random.default_rng([spec.seed, start_photo + offset])
            for view in _views(square, spec.size, rng):
                lightness = color.rgb_to_lab(view.astype(np.float32) / 255.0)[..., 0]
                if spec.degrade:
                    lightness = degrade_lightness(lightness, rng)
                views.append(view)
                inputs.append(color.normalize_l(lightness))
        first = start_photo * VIEWS_PER_PHOTO
        rgb[first : first + len(views)] = np.stack(views)
        batch = torch.from_numpy(np.stack(inputs))[:, None]
        # Small forward batches: a few hundred views at once allocate intermediate tensors of
        # a gigabyte, and the page faults cost more than the arithmetic on a CPU.
        for offset in range(0, len(batch), ENCODE_BATCH):
            with torch.inference_mode():
                features = encoder(batch[offset : offset + ENCODE_BATCH].to(device))[FIRST_TAP:]
            for tap, feature in zip(taps, features):
                tap[first + offset : first + offset + len(feature)] = feature.half().cpu().numpy()
        for array in (rgb, *taps):
            array.flush()
        done = first + len(views)
        _write_meta(meta_path, spec, done, shapes)
        if progress is not None:
            progress(done, count)
    if not (folder / "colourfulness.npy").exists():
        scores = np.array([colourfulness(view.astype(np.float32) / 255.0) for view in rgb], np.float32)
        with atomic_path(folder / "colourfulness.npy") as temp:
            with open(temp, "wb") as handle:
                np.save(handle, scores)
    return FeatureCache(folder)


def _write_meta(path: Path, spec: CacheSpec, done: int, shapes) -> None:
    with atomic_path(path) as temp:
        temp.write_text(json.dumps({"spec": asdict(spec), "done": done, "shapes": [list(s) for s in shapes]}))
