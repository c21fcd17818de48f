import os
import subprocess
import sys

from PIL import Image

from tests.conftest import write_grey_png


def test_gui_smoke_test_colorizes_and_saves_headless(tmp_path, tiny_model):
    photo = write_grey_png(tmp_path / "in.png", 120, 80)
    output = tmp_path / "out.jpg"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    from autochrome.desktop.settings import Key, Settings

    Settings().set(Key.MODEL, str(tiny_model))
    Settings().store.sync()
    done = subprocess.run([sys.executable, "-m", "autochrome.desktop", "gui", "--smoke-test", str(photo), str(output)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    with Image.open(output) as result:
        assert result.size == (120, 80)


def test_gui_smoke_test_fails_on_a_broken_photo(tmp_path, tiny_model):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "autochrome.desktop", "gui", "--smoke-test", str(broken), str(tmp_path / "o.png")],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 1
    assert "broken.png" in done.stderr
