"""Build the app in a clean environment, then prove it works by running the built executable.

    python -m appbuild.build [--torch-spec SPEC] [--torch-index URL] [--skip-env]

1. creates build/venv afresh and installs torch (CPU flavour where the platform has one),
   the app's own dependencies and PyInstaller;
2. runs PyInstaller on build.spec into dist/;
3. runs the built app's `gui --smoke-test` (offscreen) and its `colorize` command on a
   sample photo. Any failure exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
DIST = ROOT / "dist"
PYINSTALLER = "pyinstaller==6.22.3"


def run(command: list[str], **kwargs) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def venv_python(env_dir: Path) -> Path:
    return env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def make_environment(env_dir: Path, torch_spec: str, torch_index: str | None) -> Path:
    if env_dir.exists():
        shutil.rmtree(env_dir)
    venv.create(env_dir, with_pip=True)
    python = venv_python(env_dir)
    run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    index = ["--index-url", torch_index] if torch_index else []
    run([python, "-m", "pip", "install", "--quiet", *index, torch_spec])
    run([python, "-m", "pip", "install", "--quiet", str(ROOT), PYINSTALLER])
    return python


def built_executable() -> Path:
    if sys.platform == "darwin":
        return DIST / "Autochrome.app" / "Contents" / "MacOS" / "Autochrome"
    if os.name == "nt":
        return DIST / "Autochrome" / "autochrome-cli.exe"
    return DIST / "Autochrome" / "Autochrome"


def sample_photo(folder: Path) -> Path:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    photo = folder / "sample.png"
    with Image.open(ROOT / "resources" / "icons" / "autochrome.png") as icon:
        icon.convert("L").resize((640, 640)).save(photo)
    return photo


def smoke_test(executable: Path) -> None:
    folder = BUILD / "smoke"
    if folder.exists():
        shutil.rmtree(folder)
    photo = sample_photo(folder)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AUTOCHROME_DATA_DIR=str(folder / "data"))
    began = time.perf_counter()
    run([executable, "gui", "--smoke-test", photo, folder / "gui.png"], env=env, timeout=600)
    print(f"GUI smoke test passed in {time.perf_counter() - began:.1f} s")
    run([executable, "colorize", photo, "-o", folder / "cli"], env=env, timeout=600)
    if not (folder / "cli" / "sample.png").is_file():
        raise SystemExit("the built command line wrote no result")
    run([executable, "--version"], env=env)


def folder_size_mb(path: Path) -> float:
    # Symlinks (Qt's library aliases) point at files already counted.
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--torch-spec", default=os.environ.get("AUTOCHROME_TORCH_SPEC", "torch"),
                        help="pip requirement for torch (default 'torch'; e.g. 'torch==2.13.0')")
    parser.add_argument("--torch-index", default=os.environ.get("AUTOCHROME_TORCH_INDEX"),
                        help="package index for torch, e.g. https://download.pytorch.org/whl/cpu for a CPU-only build")
    parser.add_argument("--skip-env", action="store_true", help="reuse build/venv instead of recreating it")
    args = parser.parse_args()

    env_dir = BUILD / "venv"
    python = venv_python(env_dir) if args.skip_env and env_dir.exists() else make_environment(env_dir, args.torch_spec, args.torch_index)
    for folder in (DIST, BUILD / "pyinstaller"):
        if folder.exists():
            shutil.rmtree(folder)
    run([python, "-m", "PyInstaller", ROOT / "build.spec", "--noconfirm", "--clean", "--distpath", DIST,
         "--workpath", BUILD / "pyinstaller"], cwd=ROOT)
    smoke_test(built_executable())
    app_folder = DIST / ("Autochrome.app" if sys.platform == "darwin" else "Autochrome")
    print(f"built {app_folder} ({folder_size_mb(app_folder):.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
