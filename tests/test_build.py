"""The installable build, end to end: slow (minutes), so only with `python -m pytest -m slow`."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_build_from_an_editable_install_starts_colorizes_and_stays_within_its_size():
    """Issue 26: an editable install (the README's development set-up) built an app that died at
    once; the CPU folder must not carry CUDA and must stay within its bound."""
    from appbuild.build import CPU_FOLDER_MB, CPU_ZIPPED_MB

    torch_spec = os.environ.get("AUTOCHROME_TORCH_SPEC", "torch==2.13.0")
    done = subprocess.run([sys.executable, "-m", "appbuild.build", "--torch-spec", torch_spec, "--editable"],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "GUI smoke test passed" in done.stdout  # the window opened a photo, colorized and saved it
    assert (ROOT / "build" / "smoke" / "cli" / "sample.png").is_file()  # and `colorize` worked
    executable = ROOT / "dist" / "Autochrome" / ("autochrome-cli.exe" if os.name == "nt" else "Autochrome")
    version = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and "autochrome" in version.stdout
    folder_mb, zipped_mb = map(float, re.search(r": ([\d.]+) MB, ([\d.]+) MB zipped", done.stdout).groups())
    assert folder_mb <= CPU_FOLDER_MB and zipped_mb <= CPU_ZIPPED_MB, (folder_mb, zipped_mb)
