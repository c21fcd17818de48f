"""build.spec as Linux, Windows and macOS evaluate it, PyInstaller's build classes stood in for
(issue 26.4): what it asks for exists and is valid there, so a first build on those systems
fails only on what truly differs. The build itself is tests/test_build.py (slow)."""

import plistlib
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


class _Recorded:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _Analysis(_Recorded):
    def __init__(self, scripts, **kwargs):
        super().__init__(scripts, **kwargs)
        self.scripts = list(scripts)
        self.datas = [(dest, source, "DATA") for source, dest in kwargs.get("datas", [])]
        self.binaries = [(dest, source, "BINARY") for source, dest in kwargs.get("binaries", [])]
        self.pure = []


def evaluate_spec(target: str, tmp_path: Path, monkeypatch, analysis=_Analysis) -> dict:
    monkeypatch.setenv("AUTOCHROME_BUILD_TARGET", target)
    if target == "win32":
        # PyInstaller's version-resource classes are plain Python; only their module's import
        # asks for pywin32, which exists on Windows alone.
        compat = pytest.importorskip("PyInstaller.compat")
        monkeypatch.setattr(compat, "win32api", None, raising=False)
    built = {"EXE": [], "COLLECT": [], "BUNDLE": []}

    def recorder(kind):
        def make(*args, **kwargs):
            item = _Recorded(*args, **kwargs)
            built[kind].append(item)
            return item
        return make

    namespace = {"SPECPATH": str(ROOT), "workpath": str(tmp_path / "work"), "Analysis": analysis,
                 "PYZ": _Recorded, "EXE": recorder("EXE"), "COLLECT": recorder("COLLECT"),
                 "BUNDLE": recorder("BUNDLE"), "__name__": "__main__"}
    source = (ROOT / "build.spec").read_text()
    # The spec puts its staged copy of the package first on the path and drops the imported one
    # (right for a build process); the rest of this test process must keep the package it has, or
    # pickled functions and monkeypatched modules stop being the ones the code uses.
    monkeypatch.setattr(sys, "path", list(sys.path))
    ours = {name: module for name, module in sys.modules.items() if name.split(".")[0] == "autochrome"}
    try:
        exec(compile(source, str(ROOT / "build.spec"), "exec"), namespace)
    finally:
        for name in [name for name in sys.modules if name.split(".")[0] == "autochrome"]:
            del sys.modules[name]
        sys.modules.update(ours)
    return {**built, "namespace": namespace}


@pytest.mark.parametrize("target", ["linux", "win32", "darwin"])
def test_the_spec_evaluates_for_each_system_and_everything_it_names_exists(target, tmp_path, monkeypatch):
    built = evaluate_spec(target, tmp_path, monkeypatch)
    analysis = built["namespace"]["a"]
    for _dest, source, _kind in analysis.datas:
        assert Path(source).is_file(), source
    names = {Path(source).name for _, source, _ in analysis.datas}
    assert {"autochrome-default.safetensors", "hint-affinity.safetensors", "README.md", "autochrome.png",
            "mountain-stream.jpg"} <= names
    stage = Path(analysis.kwargs["pathex"][0])
    assert (stage / "autochrome" / "desktop" / "cli.py").is_file()  # the package, whatever is installed
    assert not list(stage.rglob("*.safetensors"))  # the models travel once, as data
    executables = built["EXE"]
    for executable in executables:
        assert Path(executable.kwargs["icon"]).is_file() and not executable.kwargs["upx"]
    if target == "win32":
        assert [e.kwargs["console"] for e in executables] == [False, True]
        assert [e.kwargs["name"] for e in executables] == ["Autochrome", "autochrome-cli"]
        version = executables[0].kwargs["version"]
        raw = version.toRaw()  # the binary resource Windows reads; fails on a malformed structure
        assert len(raw) > 200 and "Autochrome".encode("utf-16-le") in raw
    else:
        assert len(executables) == 1 and executables[0].kwargs["console"] is True
        assert executables[0].kwargs["version"] is None
    if target == "darwin":
        (bundle,) = built["BUNDLE"]
        plist = bundle.kwargs["info_plist"]
        plistlib.loads(plistlib.dumps(plist))  # serialisable as a real Info.plist
        from autochrome.engine import __version__

        assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == __version__
        assert re.fullmatch(r"[A-Za-z0-9.-]+", bundle.kwargs["bundle_identifier"])
        extensions = {ext for kind in plist["CFBundleDocumentTypes"] for ext in kind["CFBundleTypeExtensions"]}
        assert {"jpg", "png", "tif", "webp"} <= extensions and plist["NSHighResolutionCapable"] is True
        assert bundle.kwargs["name"] == "Autochrome.app"
    else:
        assert built["BUNDLE"] == []


def test_the_icons_are_valid_for_windows_and_macos():
    with Image.open(ROOT / "resources" / "icons" / "autochrome.ico") as ico:
        assert ico.format == "ICO" and (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]
    with Image.open(ROOT / "resources" / "icons" / "autochrome.icns") as icns:
        assert icns.format == "ICNS" and max(icns.info["sizes"])[0] >= 512
        icns.load()


@pytest.mark.parametrize("platform, expected", [
    ("linux", "dist/Autochrome/Autochrome"),
    ("win32", "dist/Autochrome/autochrome-cli.exe"),
    ("darwin", "dist/Autochrome.app/Contents/MacOS/Autochrome"),
])
def test_the_build_script_runs_the_executable_the_spec_makes(platform, expected, tmp_path, monkeypatch):
    from appbuild import build

    built = evaluate_spec(platform, tmp_path, monkeypatch)
    executable = build.built_executable(platform).relative_to(ROOT).as_posix()
    assert executable == expected
    names = [e.kwargs["name"] for e in built["EXE"]]
    assert Path(executable).name.removesuffix(".exe") in names


def test_torchs_source_travels_only_for_the_modules_whose_source_torch_reads(tmp_path, monkeypatch):
    """torch's hook collects every module as source too (46 MB); torch reads the source of its
    config modules and of those declaring TorchScript overloads at run time (without it, each
    start printed 26 warnings), so only theirs stays."""
    torch_root = Path(pytest.importorskip("torch").__file__).parent
    config, overloads = torch_root / "_dynamo" / "config.py", torch_root / "nn" / "functional.py"
    rnn, plain = torch_root / "nn" / "modules" / "rnn.py", torch_root / "nn" / "modules" / "linear.py"

    class WithTorchSource(_Analysis):
        def __init__(self, scripts, **kwargs):
            super().__init__(scripts, **kwargs)
            self.datas += [("torch/_dynamo/config.py", str(config), "DATA"),
                           ("torch/nn/functional.py", str(overloads), "DATA"),
                           ("torch/nn/modules/rnn.py", str(rnn), "DATA"),
                           ("torch/nn/modules/linear.py", str(plain), "DATA"),
                           ("torch/_inductor/codegen/cpp_prefix.h", str(config), "DATA")]

    analysis = evaluate_spec("linux", tmp_path, monkeypatch, WithTorchSource)["namespace"]["a"]
    kept = {dest for dest, _, _ in analysis.datas}
    assert {"torch/_dynamo/config.py", "torch/nn/functional.py", "torch/nn/modules/rnn.py",
            "torch/_inductor/codegen/cpp_prefix.h"} <= kept
    assert "torch/nn/modules/linear.py" not in kept


def test_the_libraries_only_left_out_plugins_needed_are_left_out_too(tmp_path, monkeypatch):
    """The GTK theme plugin is left out (it needs the system's GTK); the analysis had collected
    cairo, pixman and Qt's network library for it alone, so they go; what anything kept loads,
    or what no library loads by name (libpython, opened by the bootloader), stays."""
    graph = {
        "/lib/libqgtk3.so": ["libcairo.so.2", "libQt6Gui.so.6", "libz.so.1", "libQt6Network.so.6"],
        "/lib/libQt6Network.so.6": ["libz.so.1"],
        "/lib/libcairo.so.2": ["libpixman-1.so.0", "libz.so.1"],
        "/lib/libpixman-1.so.0": [],
        "/lib/libQt6Gui.so.6": ["libz.so.1"],
        "/lib/libz.so.1": [],
        "/lib/libpython3.11.so.1.0": ["libz.so.1"],
        "/lib/libqxcb.so": ["libQt6Gui.so.6"],
    }
    from PyInstaller.depend import bindepend

    monkeypatch.setattr(bindepend, "get_imports",
                        lambda path, search_paths=None: {(name, "/lib/" + name) for name in graph[path]})

    class WithPlugins(_Analysis):
        def __init__(self, scripts, **kwargs):
            super().__init__(scripts, **kwargs)
            self.binaries = [
                ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", "/lib/libqgtk3.so", "BINARY"),
                ("PySide6/Qt/plugins/platforms/libqxcb.so", "/lib/libqxcb.so", "BINARY"),
                ("PySide6/Qt/lib/libQt6Gui.so.6", "/lib/libQt6Gui.so.6", "BINARY"),
                ("PySide6/Qt/lib/libQt6Network.so.6", "/lib/libQt6Network.so.6", "BINARY"),
                ("libcairo.so.2", "/lib/libcairo.so.2", "BINARY"),
                ("libpixman-1.so.0", "/lib/libpixman-1.so.0", "BINARY"),
                ("libz.so.1", "/lib/libz.so.1", "BINARY"),
                ("libpython3.11.so.1.0", "/lib/libpython3.11.so.1.0", "BINARY"),
            ]

    monkeypatch.setattr("shutil.which", lambda name: None)  # no stripping of the stand-in paths
    analysis = evaluate_spec("linux", tmp_path, monkeypatch, WithPlugins)["namespace"]["a"]
    kept = {dest for dest, _, _ in analysis.binaries}
    assert kept == {"PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/lib/libQt6Gui.so.6", "libz.so.1",
                    "libpython3.11.so.1.0"}
