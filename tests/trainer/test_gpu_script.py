"""bench/gpu_default_run.sh dry-run on the CPU (issue 24): a few steps on a tiny pack, so it is
known to work before a GPU is lent (it once called `python3 -m autochrome.desktop` with only the
checkout on PYTHONPATH, which holds no `autochrome` package)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from autochrome.desktop.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _photos(folder: Path, count: int, seed: int) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        y, x = np.mgrid[0:96, 0:128] / 96.0
        rgb = np.stack([x, y, 1 - x], -1) * rng.uniform(0.3, 1.0, 3)
        Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(folder / f"p{index}.png")
    return folder


def test_the_gpu_script_runs_end_to_end_on_the_cpu(tmp_path, capsys):
    pack = tmp_path / "pack"
    assert main(["pack", str(_photos(tmp_path / "train", 6, 0)), str(pack), "--size", "80"]) == 0
    capsys.readouterr()
    evaluation = tmp_path / "eval"
    for name, seed in (("kodak24", 1), ("bsds500-test", 2)):
        _photos(evaluation / name, 2, seed)
    out = tmp_path / "out"
    bin_dir = Path(sys.executable).parent  # python3 of this environment, as the GPU machine has its own
    env = dict(os.environ, DEVICE="cpu", HINT_COUNTS="0 1", CROP="64", CACHE=str(tmp_path / "cache"), OMP_NUM_THREADS="2",
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(["bash", str(ROOT / "bench" / "gpu_default_run.sh"), str(pack), str(evaluation), str(out),
                           "2", "4"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:] + (out / "train.log").read_text()[-2000:]
    assert (out / "default.safetensors").is_file() and "wrote" not in done.stderr
    assert "| default (default.safetensors) |" in (out / "eval.md").read_text()
    times = (out / "times.txt").read_text()
    assert "on cpu" in times
    code = times.split("code: ")[1].strip()
    assert "autochrome/engine/__init__.py" in code and not code.startswith(str(ROOT))  # the staged package
