"""A lean OpenCV for the built app, built from source once and cached.

    python -m appbuild.lean_opencv [--python PYTHON] [--cache DIR]

PyPI's opencv-python-headless wheel is 172 MB in the built folder: the module with every OpenCV
module compiled in, plus the video codecs (FFmpeg, AV1, VP9) and the BLAS it links. The app calls
three modules: core, imgproc (filters, morphology, resizing, drawing) and imgcodecs (16-bit PNG
and TIFF; Pillow reads and writes everything else). This builds just those, with their image formats compiled in, from the sdist of the
version the environment has, and packs them as a wheel of the same name and version (local
label `+lean`) that replaces PyPI's in the build environment. Same code, same results: OpenCV's
own SIMD kernels dispatched for the CPU as in PyPI's wheel; without Intel's IPP (its binaries
are downloaded by OpenCV's own build, which this machine's network does not allow).

Needs cmake and a C++ compiler (ninja if present). The first build takes about 30 minutes on two
cores; the wheel is kept in the cache (default ~/.cache/autochrome-build, or
AUTOCHROME_BUILD_CACHE) and reused while the version is the same. Linux only for now: on
Windows and macOS the build uses PyPI's wheel.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGE = "opencv-python-headless"
MODULES = "core,imgproc,imgcodecs,python3,python_bindings_generator"
# Everything optional that OpenCV would otherwise find or download is named off, so the
# result does not depend on what the build machine happens to have installed.
OFF = ("FFMPEG", "GSTREAMER", "V4L", "OPENCL", "IPP", "LAPACK", "EIGEN", "ITT", "OPENEXR", "JASPER", "OPENJPEG",
       "AVIF", "GDAL", "GTK", "QT", "PROTOBUF", "ADE", "1394", "VA", "VA_INTEL", "OPENVX", "KLEIDICV", "CAROTENE",
       "FASTCV", "WEBP", "TBB", "OPENMP", "VTK", "CUDA", "OBSENSOR", "SPNG", "HARFBUZZ", "IMGCODEC_HDR",
       "IMGCODEC_SUNRASTER", "IMGCODEC_PXM", "IMGCODEC_PFM", "IMGCODEC_GIF", "JPEG")
# What the app hands OpenCV to encode and decode is 16-bit PNG and TIFF (Pillow does the rest):
# built from OpenCV's bundled sources and linked in, so nothing beside the module to carry.
BUILT_IN = ("ZLIB", "PNG", "TIFF")


def default_cache() -> Path:
    return Path(os.environ.get("AUTOCHROME_BUILD_CACHE", Path.home() / ".cache" / "autochrome-build"))


def _version_in(python: Path) -> str:
    done = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version('{PACKAGE}'))"],
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def installed_version(python: Path) -> str:
    """The OpenCV version PYTHON's environment has, without the lean build's label."""
    return _version_in(python).split("+")[0]


def is_lean(python: Path) -> bool:
    return _version_in(python).endswith("+lean")


def _python_paths(python: Path) -> dict[str, str]:
    code = ("import sysconfig, numpy; v = sysconfig.get_config_var; "
            "print(sysconfig.get_paths()['include']); print(v('LIBDIR') + '/' + v('LDLIBRARY')); "
            "print(numpy.get_include())")
    include, library, numpy_include = subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                                                     check=True).stdout.split("\n")[:3]
    return {"include": include, "library": library, "numpy": numpy_include}


def cmake_arguments(source: Path, build: Path, install: Path, python: Path) -> list[str]:
    paths = _python_paths(python)
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    return ["cmake", "-S", str(source), "-B", str(build), *generator, "-DCMAKE_BUILD_TYPE=Release",
            f"-DCMAKE_INSTALL_PREFIX={install}", f"-DBUILD_LIST={MODULES}", "-DBUILD_SHARED_LIBS=OFF",
            "-DBUILD_TESTS=OFF", "-DBUILD_PERF_TESTS=OFF", "-DBUILD_EXAMPLES=OFF", "-DBUILD_DOCS=OFF",
            "-DBUILD_opencv_apps=OFF", "-DBUILD_JAVA=OFF", "-DBUILD_opencv_python3=ON", "-DPYTHON3_LIMITED_API=ON",
            f"-DPYTHON3_EXECUTABLE={python}", f"-DPYTHON3_INCLUDE_DIR={paths['include']}",
            f"-DPYTHON3_LIBRARY={paths['library']}", f"-DPYTHON3_NUMPY_INCLUDE_DIRS={paths['numpy']}",
            "-DWITH_PTHREADS_PF=ON", "-DOPENCV_GENERATE_PKGCONFIG=OFF",
            *(f"-DWITH_{name}=OFF" for name in OFF),
            *(f"-DWITH_{name}=ON" for name in BUILT_IN), *(f"-DBUILD_{name}=ON" for name in BUILT_IN)]


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def pack_wheel(package: Path, version: str, out_dir: Path) -> Path:
    """A wheel holding the `cv2` package folder PACKAGE, named as PyPI's so pip counts the app's
    requirement met."""
    lean_version = f"{version}+lean"
    dist_info = f"opencv_python_headless-{lean_version}.dist-info"
    wheel = out_dir / f"opencv_python_headless-{lean_version}-cp37-abi3-linux_x86_64.whl"
    metadata = {
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {lean_version}\n"
                                 f"Summary: OpenCV core, imgproc and imgcodecs only, built by appbuild.lean_opencv\n"
                                 f"License: Apache 2.0\nRequires-Dist: numpy>=2\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: appbuild.lean_opencv\nRoot-Is-Purelib: false\n"
                              "Tag: cp37-abi3-linux_x86_64\n",
        f"{dist_info}/top_level.txt": "cv2\n",
    }
    records = []
    partial = wheel.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(package.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                name = "cv2/" + file.relative_to(package).as_posix()
                archive.write(file, name)
                records.append(_record_line(name, file.read_bytes()))
        for name, text in metadata.items():
            archive.writestr(name, text)
            records.append(_record_line(name, text.encode()))
        records.append(f"{dist_info}/RECORD,,")
        archive.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    partial.replace(wheel)
    return wheel


def wheel_package(install: Path, stage: Path, licences: Path | None = None) -> Path:
    """The `cv2` folder as PyPI's wheel lays it out: the extension (without its symbol table)
    beside the loader, whose configuration then points at nothing outside the folder, and the
    licence texts from LICENCES (the sdist's top folder) as PyPI's wheel carries them."""
    built = next(install.rglob("cv2/__init__.py")).parent
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(built, stage, ignore=shutil.ignore_patterns("__pycache__"))
    extensions = sorted(stage.rglob("cv2*.so"))
    if len(extensions) != 1:
        raise SystemExit(f"expected one built cv2 extension under {stage}, found {extensions}")
    extension = stage / extensions[0].name
    if shutil.which("strip") and extensions[0].read_bytes()[:4] == b"\x7fELF":
        subprocess.run(["strip", "--strip-unneeded", "-o", str(extension), str(extensions[0])], check=True)
    else:
        shutil.copy2(extensions[0], extension)
    for name in ("LICENSE.txt", "LICENSE-3RD-PARTY.txt"):
        if licences and (licences / name).is_file():
            shutil.copy2(licences / name, stage / name)
    for folder in stage.glob("python-3*"):
        shutil.rmtree(folder)
    for config in stage.glob("config*.py"):
        config.unlink()
    (stage / "config.py").write_text("BINARIES_PATHS = [] + BINARIES_PATHS\n")
    (stage / "config-3.py").write_text("PYTHON_EXTENSIONS_PATHS = [LOADER_DIR] + PYTHON_EXTENSIONS_PATHS\n")
    return stage


def lean_wheel(python: Path, cache: Path | None = None) -> Path:
    """The lean wheel for the OpenCV version PYTHON's environment has: from the cache, or built."""
    if not sys.platform.startswith("linux"):
        raise SystemExit("the lean OpenCV build is for Linux; on this system build with --opencv wheel")
    for tool in ("cmake", "c++"):
        if not shutil.which(tool):
            raise SystemExit(f"the lean OpenCV build needs {tool}; install it, or build with --opencv wheel")
    version = installed_version(python)
    work = (cache or default_cache()) / f"opencv-{version}-lean"
    wheels = sorted(work.glob("*.whl"))
    if wheels:
        return wheels[0]
    work.mkdir(parents=True, exist_ok=True)
    sdist = work / f"opencv_python_headless-{version}.tar.gz"
    if not sdist.exists():
        subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", PACKAGE,
                        f"{PACKAGE}=={version}", "-d", str(work)], check=True)
    source = work / "source"
    if not (source / "opencv" / "CMakeLists.txt").exists():
        shutil.rmtree(source, ignore_errors=True)
        with tarfile.open(sdist) as archive:
            archive.extractall(work / "unpacked", filter="data")
        next((work / "unpacked").iterdir()).replace(source)
    build, install = work / "cmake-build", work / "install"
    print(f"building OpenCV {version} (core, imgproc, imgcodecs) in {work}: about 30 minutes the first time",
          flush=True)
    subprocess.run(cmake_arguments(source / "opencv", build, install, python), check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build), "--parallel", str(os.cpu_count() or 2)], check=True)
    subprocess.run(["cmake", "--install", str(build)], check=True, stdout=subprocess.DEVNULL)
    return pack_wheel(wheel_package(install, work / "cv2", licences=source), version, work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", type=Path, default=Path(sys.executable),
                        help="the environment whose OpenCV version to build (default: this one)")
    parser.add_argument("--cache", type=Path, help="where builds are kept (default: ~/.cache/autochrome-build)")
    args = parser.parse_args()
    print(lean_wheel(args.python, args.cache))
    return 0


if __name__ == "__main__":
    sys.exit(main())
