"""Regressions from the hostile review (issue 12), through the real command line."""

import os
import sys

import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.desktop.commands import colorize as colorize_command
from autochrome.engine import job_plan
from tests.conftest import write_grey_png


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_multi_picture_jpeg_is_written_as_jpeg(tmp_path, tiny_model, capsys):
    # Finding 2: Pillow reads many camera JPEGs as "MPO"; the result was PNG bytes in a .jpg.
    first, second = Image.new("RGB", (64, 48), (90, 90, 90)), Image.new("RGB", (32, 24), (10, 10, 10))
    first.save(tmp_path / "camera.jpg", format="MPO", save_all=True, append_images=[second])
    with Image.open(tmp_path / "camera.jpg") as probe:
        assert probe.format == "MPO"
    code, _, stderr = run(capsys, "colorize", tmp_path / "camera.jpg", "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 0, stderr
    with Image.open(tmp_path / "out" / "camera.jpg") as result:
        assert result.format == "JPEG"


@pytest.mark.parametrize("content_format, name", [("PNG", "really-png.jpg"), ("GIF", "really-gif.tif")])
def test_output_bytes_match_the_output_name(tmp_path, tiny_model, capsys, content_format, name):
    # R6: a PNG named .jpg (or a GIF named .tif) gave an output whose bytes did not match its name.
    Image.new("L", (40, 30), 100).save(tmp_path / name, format=content_format)
    code, _, stderr = run(capsys, "colorize", tmp_path / name, "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 0, stderr
    written = next((tmp_path / "out").iterdir())
    with Image.open(written) as result:
        assert {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif"}[result.format] == written.suffix


@pytest.mark.parametrize("alias", ["output-symlink", "input-symlink", "dotdot"])
def test_aliases_of_the_input_folder_never_replace_originals(tmp_path, tiny_model, capsys, alias):
    # R2: with --overwrite, an aliased output folder replaced the originals.
    photos = tmp_path / "photos"
    photos.mkdir()
    originals = {}
    for index in range(2):
        path = write_grey_png(photos / f"p{index}.png", 40, 30, seed=index)
        originals[path.name] = path.read_bytes()
    source, output = photos, photos
    if alias == "output-symlink":
        output = tmp_path / "out-link"
        output.symlink_to(photos, target_is_directory=True)
    elif alias == "input-symlink":
        source = tmp_path / "in-link"
        source.symlink_to(photos, target_is_directory=True)
    else:
        output = photos / ".." / "photos"
    code, stdout, stderr = run(capsys, "colorize", source, "-o", output, "--model", tiny_model, "--overwrite")
    assert code == 1 and stderr.count("would overwrite an input") == 2
    for name, data in originals.items():
        assert (photos / name).read_bytes() == data


def test_one_unexpected_failure_is_named_and_the_batch_goes_on(tmp_path, tiny_model, capsys, monkeypatch):
    # R3: an exception outside the expected ones ended the whole batch without a summary.
    for index in range(3):
        write_grey_png(tmp_path / f"p{index}.png", 40, 30, seed=index)
    real_save = colorize_command.save_image

    def flaky_save(path, *args, **kwargs):
        if path.name == "p1.png":
            raise struct_error()
        return real_save(path, *args, **kwargs)

    def struct_error():
        import struct

        return struct.error("required argument is not an integer")

    monkeypatch.setattr(colorize_command, "save_image", flaky_save)
    code, stdout, stderr = run(capsys, "colorize", tmp_path, "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 1 and "colorized 2 of 3" in stdout
    assert "failed:" in stderr and "p1.png" in stderr and "unexpected error" in stderr


@pytest.mark.parametrize("args, message", [
    (["--render-size", "0"], "--render-size must be between 64 and 4096"),
    (["--render-size", "100000"], "--render-size must be between 64 and 4096"),
])
def test_out_of_range_render_sizes_are_refused(tmp_path, tiny_model, capsys, args, message):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    code, _, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "o", "--model", tiny_model, *args)
    assert code == 2 and message in stderr


def test_an_empty_output_folder_name_is_refused(tmp_path, tiny_model, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    with pytest.raises(SystemExit) as exit_info:
        main(["colorize", str(photo), "-o", "", "--model", str(tiny_model)])
    assert exit_info.value.code == 2 and "needs a folder name" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "tiny.safetensors"]


def test_an_unreadable_subfolder_is_reported_not_skipped_silently(tmp_path, tiny_model, capsys, monkeypatch):
    write_grey_png(tmp_path / "a.png", 32, 32)
    real_walk = os.walk

    def walk(top, onerror=None, **kwargs):
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        yield from real_walk(top, onerror=onerror, **kwargs)

    monkeypatch.setattr(job_plan.os, "walk", walk)
    code, stdout, stderr = run(capsys, "colorize", tmp_path, "-r", "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 1 and "locked" in stderr and "Permission denied" in stderr and "colorized 1 of 2" in stdout


def test_a_newline_in_a_file_name_stays_on_one_failure_line(tmp_path, tiny_model, capsys):
    broken = tmp_path / "two\nlines.png"
    broken.write_bytes(b"not a photo")
    code, _, stderr = run(capsys, "colorize", broken, "-o", tmp_path / "out", "--model", tiny_model)
    failed = [line for line in stderr.splitlines() if line.startswith("failed:")]
    assert code == 1 and len(failed) == 1 and "two\\nlines.png" in failed[0] and "not an image" in failed[0]
    assert not np.any(["lines.png" in line and not line.startswith("failed") for line in stderr.splitlines()])


def test_eval_names_a_photo_it_cannot_open_and_goes_on(tmp_path, tiny_model, capsys):
    # R6: a decompression bomb in the eval folder ended `eval` with a traceback.
    folder = tmp_path / "eval"
    folder.mkdir()
    Image.new("RGB", (40, 30), (200, 100, 50)).save(folder / "fine.png")
    Image.new("P", (13_000, 13_000)).save(folder / "bomb.png")
    code, stdout, stderr = run(capsys, "eval", tiny_model, folder, "--no-default")
    assert code == 0 and "skipped: bomb.png" in stderr and "megapixels" in stderr and "(1 photos" in stdout


@pytest.mark.parametrize("args, message", [(["--crop", "0"], "--crop must be between"),
                                           (["--stage1-steps", "-5"], "steps must be positive"),
                                           (["--lr", "1e6"], "learning rates")])
def test_train_refuses_nonsense_options(tmp_path, capsys, args, message):
    folder = tmp_path / "photos"
    folder.mkdir()
    Image.new("RGB", (80, 80), (200, 100, 50)).save(folder / "p.png")
    code, _, stderr = run(capsys, "train", folder, "--out", tmp_path / "m.safetensors", "--arch", "unet-lite0",
                          "--encoder-init", "scratch", "--device", "cpu", *args)
    assert code == 2 and message in stderr


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="letter case matters on Linux's file systems")
def test_names_differing_in_letter_case_are_two_photos_on_linux(tmp_path, tiny_model, capsys):
    """Issue 19, 2.6: paths were lower-cased everywhere, so Photo.png and photo.png collided."""
    write_grey_png(tmp_path / "Photo.png", 32, 24)
    write_grey_png(tmp_path / "photo.png", 32, 24, seed=1)
    out = tmp_path / "out"
    assert main(["colorize", str(tmp_path / "Photo.png"), str(tmp_path / "photo.png"), "-o", str(out),
                 "--model", str(tiny_model)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["Photo.png", "photo.png"]


def test_an_input_name_too_long_for_the_file_system_is_named_and_the_batch_goes_on(tmp_path, tiny_model, capsys):
    """Issue 27.15: is_dir() raised ENAMETOOLONG out of job_plan: a traceback, no photo done."""
    too_long = tmp_path / ("x" * 300 + ".png")
    good = write_grey_png(tmp_path / "good.png", 40, 30)
    code = main(["colorize", str(too_long), str(good), "-o", str(tmp_path / "out"), "--model", str(tiny_model),
                 "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and "name is too long for the file system" in err and "Traceback" not in err
    assert (tmp_path / "out" / "good.png").is_file()
