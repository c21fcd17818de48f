"""First run anywhere: no display, missing system libraries, Qt giving up, no Qt at all."""

import os
import subprocess
import sys

import pytest

from autochrome.desktop import startup_check
from autochrome.desktop.settings import Key, Settings

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the checks are Linux's")


def _run(args, **env_changes):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(env_changes)
    return subprocess.run([sys.executable, "-m", "autochrome.desktop", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_no_display_exits_2_with_what_to_do_instead():
    done = _run([])
    assert done.returncode == 2, done.stderr
    assert "no display was found" in done.stderr and "autochrome colorize" in done.stderr


def test_a_library_that_cannot_be_loaded_is_named_with_the_install_commands():
    assert startup_check.missing_libraries({"libautochrome-does-not-exist.so.9": ("x", "y")}) == [
        "libautochrome-does-not-exist.so.9"]
    failing = {"libxcb-icccm.so.4", "libxcb-cursor.so.0"}
    problem = startup_check.check({"DISPLAY": ":0"}, "linux", load=lambda name: name not in failing)
    assert problem is not None and problem.exit_code == 2
    assert "libxcb-icccm.so.4" in problem.message and "libxcb-cursor.so.0" in problem.message
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in problem.message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm" in problem.message
    assert startup_check.check({"DISPLAY": ":0"}, "linux", load=lambda name: True) is None


def test_wayland_is_used_when_only_its_plugin_can_load():
    environ = {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}
    assert startup_check.check(environ, "linux", load=lambda name: "xcb" not in name) is None
    assert environ["QT_QPA_PLATFORM"] == "wayland"


def test_other_systems_and_chosen_platforms_are_left_alone():
    assert startup_check.check({}, "darwin") is None
    assert startup_check.check({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None


def test_qt_giving_up_is_a_message_and_exit_2_not_a_core_dump():
    done = _run([], DISPLAY=":987", QT_QPA_PLATFORM="no-such-plugin")
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "could not start" in done.stderr and "autochrome colorize" in done.stderr


def test_version_and_colorize_work_with_qt_unimportable(tmp_path, tiny_model):
    from tests.conftest import write_grey_png

    photo = write_grey_png(tmp_path / "in.png", 40, 30)
    script = ("import sys; sys.modules['PySide6'] = None; sys.modules['shiboken6'] = None\n"
              "from desktop.cli import main\nsys.exit(main(sys.argv[1:]))")
    env = dict(os.environ)
    version = subprocess.run([sys.executable, "-c", script, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and "autochrome" in version.stdout
    done = subprocess.run([sys.executable, "-c", script, "colorize", str(photo), "-o", str(tmp_path / "out"),
                           "--model", str(tiny_model)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "in.png").is_file()
    gui = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env=dict(env, QT_QPA_PLATFORM="offscreen"))
    assert gui.returncode == 2 and "needs Qt" in gui.stderr


def test_a_broken_settings_file_reads_as_defaults(qapp):
    settings = Settings()
    for key, junk in ((Key.SATURATION, "lots"), (Key.RENDER_SIZE, "big"), (Key.MODEL, 17), (Key.RECENT, 5)):
        settings.set(key, junk)
    assert settings.get(Key.SATURATION) == 1.0 and settings.get(Key.RENDER_SIZE) == 256
    assert settings.get(Key.MODEL) == "" and settings.get(Key.RECENT) == []


def test_the_window_says_when_it_started_with_default_settings(qtbot):
    # Finding 14: start with defaults, and say so.
    from autochrome.desktop.main_window import MainWindow

    settings = Settings()
    settings.set(Key.SATURATION, "lots")
    window = MainWindow(settings=Settings(), quiet=True)
    qtbot.addWidget(window)
    assert "reset to their defaults" in window.statusBar().currentMessage()
    window.close()


def test_out_of_range_settings_are_brought_within_what_the_app_offers(qtbot, tiny_model, tmp_path):
    """Issue 27.3: a render size of 99999 in the settings file made every photo fail to open;
    the panel showed 256 while the session kept the raw value."""
    from autochrome.desktop.main_window import MainWindow
    from tests.conftest import write_grey_png

    settings = Settings()
    for key, value in ((Key.RENDER_SIZE, 99999), (Key.SATURATION, -7.5), (Key.JPEG_QUALITY, 1000),
                       (Key.DEVICE, "tpu"), (Key.MODEL, str(tiny_model))):
        settings.set(key, value)
    settings.store.sync()
    read = Settings()
    assert (read.get(Key.RENDER_SIZE), read.get(Key.SATURATION), read.get(Key.JPEG_QUALITY),
            read.get(Key.DEVICE)) == (512, 0.0, 100, "auto")
    assert Settings().get(Key.RENDER_SIZE) == 512 and Settings().get(Key.MODEL) == str(tiny_model)
    window = MainWindow(settings=Settings(), quiet=True)
    qtbot.addWidget(window)
    assert window.session.settings["render_size"] == window.adjust.colorize_settings()["render_size"] == 512
    qtbot.waitUntil(lambda: window.session.model_ready, timeout=30000)
    with qtbot.waitSignal(window.resultShown, timeout=30000) as shown:
        window.open_paths([write_grey_png(tmp_path / "a.png", 64, 48)])
    assert shown.args[0].settings["render_size"] == 512
    window.close()
