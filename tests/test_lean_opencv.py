"""The lean OpenCV wheel's packing (issue 26): laid out as PyPI's so the app's requirement is met
and PyInstaller's OpenCV hook finds the loader it expects. The build from source itself runs in
tests/test_build.py (slow)."""

import base64
import hashlib
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

from appbuild.lean_opencv import OFF, cmake_arguments, pack_wheel, wheel_package


def _fake_install(root: Path) -> Path:
    """What `cmake --install` leaves: the loader package with the extension one folder down."""
    package = root / "lib" / "python3.11" / "site-packages" / "cv2"
    (package / "python-3").mkdir(parents=True)
    (package / "utils").mkdir()
    (package / "__init__.py").write_text("# loader\n")
    (package / "load_config_py3.py").write_text("# loader helper\n")
    (package / "config.py").write_text(f"BINARIES_PATHS = ['{root}/lib'] + BINARIES_PATHS\n")
    (package / "config-3.py").write_text(f"PYTHON_EXTENSIONS_PATHS = ['{root}/python-3'] + PYTHON_EXTENSIONS_PATHS\n")
    (package / "utils" / "__init__.py").write_text("# extra python code\n")
    (package / "python-3" / "cv2.abi3.so").write_bytes(b"a stand-in for the extension")
    return root


def test_the_lean_wheel_is_laid_out_as_pypis_and_installs_as_the_same_requirement(tmp_path):
    sdist = tmp_path / "sdist"
    sdist.mkdir()
    (sdist / "LICENSE.txt").write_text("Apache License 2.0\n")
    stage = wheel_package(_fake_install(tmp_path / "install"), tmp_path / "stage", licences=sdist)
    assert (stage / "cv2.abi3.so").is_file() and not (stage / "python-3").exists()
    assert (stage / "LICENSE.txt").read_text() == "Apache License 2.0\n"  # OpenCV's licence travels with it
    # The build machine's paths must not travel: the loader looks only inside its own folder.
    assert str(tmp_path) not in (stage / "config.py").read_text() + (stage / "config-3.py").read_text()
    assert "LOADER_DIR" in (stage / "config-3.py").read_text()

    wheel = pack_wheel(stage, "5.1.0.95", tmp_path)
    assert wheel.name == "opencv_python_headless-5.1.0.95+lean-cp37-abi3-linux_x86_64.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"cv2/__init__.py", "cv2/cv2.abi3.so", "cv2/utils/__init__.py"} <= names
        record = archive.read("opencv_python_headless-5.1.0.95+lean.dist-info/RECORD").decode().splitlines()
        for line in record:
            name, digest, size = line.rsplit(",", 2)
            if digest:  # every file but RECORD itself carries its true hash and size
                data = archive.read(name)
                expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert digest == f"sha256={expected}" and int(size) == len(data), name
        assert {line.split(",")[0] for line in record} == names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(target), str(wheel)], check=True)
    (dist,) = importlib.metadata.distributions(path=[str(target)])
    assert dist.metadata["Name"] == "opencv-python-headless" and dist.version == "5.1.0.95+lean"
    assert (target / "cv2" / "cv2.abi3.so").read_bytes() == b"a stand-in for the extension"


def test_the_lean_build_names_the_codecs_and_libraries_it_leaves_out(tmp_path):
    arguments = cmake_arguments(tmp_path / "src", tmp_path / "b", tmp_path / "i", Path(sys.executable))
    assert "-DBUILD_LIST=core,imgproc,imgcodecs,python3,python_bindings_generator" in arguments
    for name in ("FFMPEG", "IPP", "LAPACK", "OPENCL"):
        assert name in OFF and f"-DWITH_{name}=OFF" in arguments
    # The formats the app hands to OpenCV (16-bit PNG and TIFF, read and written) are built in.
    for name in ("PNG", "TIFF"):
        assert f"-DWITH_{name}=ON" in arguments and f"-DBUILD_{name}=ON" in arguments
