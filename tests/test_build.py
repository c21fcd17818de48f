"""The installable build, end to end: slow (minutes), so only with `python -m pytest -m slow`."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_build_produces_an_app_whose_smoke_test_passes():
    torch_spec = os.environ.get("AUTOCHROME_TORCH_SPEC", "torch==2.13.0")
    done = subprocess.run([sys.executable, "-m", "appbuild.build", "--torch-spec", torch_spec], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "GUI smoke test passed" in done.stdout
    executable = ROOT / "dist" / "Autochrome" / ("autochrome-cli.exe" if os.name == "nt" else "Autochrome")
    version = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and "autochrome" in version.stdout
