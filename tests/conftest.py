"""Shared fixtures: user folders in tmp, tiny seeded models, small generated photos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
torch.set_num_threads(min(2, torch.get_num_threads()))

from autochrome.engine.networks import GeneratorConfig, build_generator  # noqa: E402
from autochrome.engine.weights import save_generator  # noqa: E402


TINY_PIX2PIX = GeneratorConfig(architecture="pix2pix", pix2pix_downs=5, pix2pix_filters=4)
TINY_UNET = GeneratorConfig(encoder="resnet18", decoder_channels=(16, 16, 8, 8, 8))
# The default model's shape, tiny: hint input, ab classes, a decoder that stops at stride 4.
TINY_HINTED = GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(16, 16, 8), tf_compat=True,
                              hint_input=True, ab_classes=4, output_stride=4)


@pytest.fixture(autouse=True)
def isolated_user_folders(tmp_path_factory, monkeypatch):
    """Every test gets its own user data folder, so no real models or settings are touched."""
    data = tmp_path_factory.mktemp("user-data")
    monkeypatch.setenv("AUTOCHROME_DATA_DIR", str(data))
    return data


def make_model_file(path: Path, config: GeneratorConfig = TINY_PIX2PIX, seed: int = 0, bias: float = 0.3) -> Path:
    """A seeded random generator saved as a model file. `bias` pushes its output off grey,
    so tests can tell colour was added."""
    torch.manual_seed(seed)
    model = build_generator(config)
    with torch.no_grad():
        last_bias = [p for name, p in model.named_parameters() if name.endswith("bias")][-1]
        last_bias.add_(bias)
    save_generator(path, model, config, provenance={"description": "tiny test model", "steps": 0})
    return path


@pytest.fixture
def tiny_model(tmp_path) -> Path:
    return make_model_file(tmp_path / "tiny.safetensors")


@pytest.fixture
def tiny_hint_model(tmp_path) -> Path:
    return make_model_file(tmp_path / "tiny-hinted.safetensors", TINY_HINTED)


def gradient_grey(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A grey photo-like image: smooth gradients plus a little texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 0.5 + 0.35 * np.sin(x / max(width, 1) * 6.0) * np.cos(y / max(height, 1) * 4.0)
    noise = rng.normal(0, 0.03, size=(height, width)).astype(np.float32)
    return np.clip(base + noise, 0, 1)


def write_grey_png(path: Path, width: int, height: int, seed: int = 0) -> Path:
    Image.fromarray((gradient_grey(width, height, seed) * 255).astype(np.uint8), "L").save(path)
    return path


def write_colour_jpeg(path: Path, width: int = 64, height: int = 48, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    rgb = (rng.random((height, width, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path, quality=90)
    return path


def write_colour_photos(folder: Path, count: int, width: int, height: int) -> Path:
    """`count` colour PNGs of smooth photo-like content in a new `folder`."""
    folder.mkdir()
    for index in range(count):
        grey = (gradient_grey(width, height, index) * 255).astype(np.uint8)
        Image.fromarray(np.dstack([grey, grey // 2 + 60, 255 - grey])).save(folder / f"p{index}.png")
    return folder


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only: by its permissions, and where those do not bind (root may write
    anywhere) by refusing, as the system would, every check of and write into it."""
    import builtins
    import errno
    import tempfile

    def lock(folder: Path) -> Path:
        folder.chmod(0o555)
        if os.name == "nt" or os.geteuid() != 0:
            return folder
        locked = str(folder.resolve())

        def inside(path) -> bool:
            return os.path.abspath(os.fspath(path)).startswith(locked + os.sep) or os.path.abspath(
                os.fspath(path)) == locked

        def refuse(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))

        real_access, real_open, real_temp = os.access, builtins.open, tempfile.NamedTemporaryFile
        real_mkstemp = tempfile.mkstemp
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if inside(path) and mode & os.W_OK
                            else real_access(path, mode, **kw))
        monkeypatch.setattr(builtins, "open", lambda file, mode="r", *a, **kw: refuse(file) if isinstance(
            file, (str, Path)) and inside(file) and any(c in mode for c in "wax+") else real_open(file, mode, *a, **kw))
        monkeypatch.setattr(tempfile, "NamedTemporaryFile", lambda *a, dir=None, **kw: refuse(dir) if dir is not None
                            and inside(dir) else real_temp(*a, dir=dir, **kw))
        monkeypatch.setattr(tempfile, "mkstemp", lambda *a, dir=None, **kw: refuse(dir) if dir is not None
                            and inside(dir) else real_mkstemp(*a, dir=dir, **kw))
        return folder

    yield lock
