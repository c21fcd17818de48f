"""Before the window opens: can Qt show one here? If not, say exactly why and what to do.

Qt's own answer to a missing display or missing system libraries is a core dump after
"no Qt platform plugin could be initialized". On Linux the causes are known and checkable
without Qt: no display at all (SSH, a server), or X11 libraries that pip cannot install.
This module imports no Qt, so the command line never needs a GUI library.
"""

from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass

# What Qt's xcb platform plugin loads (`ldd libqxcb.so`), with the package that provides each
# on Debian/Ubuntu and on Fedora. The first six are the ones desktop installs most often lack.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
}
WAYLAND_LIBRARIES = ("libwayland-client.so.0", "libwayland-cursor.so.0", "libxkbcommon.so.0", "libEGL.so.1")
LINUX_DESKTOP_PACKAGES = "libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxkbcommon-x11-0"
# Platforms the user chose on purpose (tests, remote sessions): not ours to second-guess.
_NON_DISPLAY_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


@dataclass(frozen=True)
class StartProblem:
    message: str
    exit_code: int = 2


def loadable(library: str) -> bool:
    try:
        ctypes.CDLL(library)
    except OSError:
        return False
    return True


def missing_libraries(libraries=XCB_LIBRARIES, load=loadable) -> list[str]:
    return [name for name in libraries if not load(name)]


def missing_libraries_message(missing: list[str]) -> str:
    debian = sorted({XCB_LIBRARIES[name][0] for name in missing if name in XCB_LIBRARIES})
    fedora = sorted({XCB_LIBRARIES[name][1] for name in missing if name in XCB_LIBRARIES})
    lines = ["The Autochrome window cannot open: Qt needs system libraries that are not installed:"]
    lines += [f"  {name}" for name in missing]
    lines += ["Install them, then run autochrome again:",
              f"  Debian/Ubuntu:  sudo apt install {' '.join(debian)}",
              f"  Fedora:         sudo dnf install {' '.join(fedora)}",
              "The command line works without them: autochrome colorize PHOTO -o OUTDIR"]
    return "\n".join(lines)


NO_DISPLAY = ("The Autochrome window needs a desktop session, and no display was found (DISPLAY and "
              "WAYLAND_DISPLAY are not set; over SSH, use ssh -X or run it on the machine's desktop).\n"
              "The command line works without one: autochrome colorize PHOTO -o OUTDIR")


def check(environ=None, platform: str | None = None, load=loadable) -> StartProblem | None:
    """None if the window can try to open. May set QT_QPA_PLATFORM=wayland in `environ` when
    only Wayland is usable."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen.split(":")[0] in _NON_DISPLAY_PLATFORMS:
        return None
    x11, wayland = bool(environ.get("DISPLAY")), bool(environ.get("WAYLAND_DISPLAY"))
    if not x11 and not wayland:
        return StartProblem(NO_DISPLAY)
    if chosen and not chosen.startswith("xcb"):
        return None  # Wayland or another plugin the user chose: Qt itself reports on it
    missing = missing_libraries(load=load)
    if not missing:
        return None
    if wayland and not missing_libraries(WAYLAND_LIBRARIES, load):
        environ["QT_QPA_PLATFORM"] = "wayland"  # X11's plugin cannot load; Wayland's can
        return None
    return StartProblem(missing_libraries_message(missing))


def fatal_qt_message(qt_text: str) -> str:
    """What to tell the user when Qt gives up while starting (it would abort otherwise)."""
    reason = " ".join(qt_text.split())
    return (f"The Autochrome window could not start: {reason}\n"
            "If this is a Linux desktop, the system packages in the README's \"Set up and run\" may be "
            f"missing (Debian/Ubuntu: sudo apt install {LINUX_DESKTOP_PACKAGES}).\n"
            "The command line works without the window: autochrome colorize PHOTO -o OUTDIR")
