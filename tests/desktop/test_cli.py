"""The command line end to end: real files, a real (tiny) model, exit codes and messages."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine import color
from autochrome.engine.image_io import load_image
from tests.conftest import write_colour_jpeg, write_grey_png
from autochrome.trainer.metrics import colourfulness


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_folder_of_greyscale_photos_keeps_size_and_lightness_and_adds_colour(tmp_path, tiny_model, capsys):
    folder = tmp_path / "scans"
    folder.mkdir()
    sizes = [(5120, 2880), (640, 480), (33, 17), (300, 800)]
    for index, (width, height) in enumerate(sizes):
        write_grey_png(folder / f"photo{index}.png", width, height, seed=index)
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "colorize", folder, "-o", out, "--model", tiny_model)
    assert code == 0, stderr
    assert "colorized 4 of 4" in stdout
    for index, (width, height) in enumerate(sizes):
        result_path = out / f"photo{index}.png"
        with Image.open(result_path) as result:
            assert result.size == (width, height) and result.mode == "RGB"
            rgb = np.asarray(result, np.float32) / 255.0
        original = load_image(folder / f"photo{index}.png").lightness
        assert np.abs(color.lightness_of_srgb(rgb) - original).mean() < 1.0
        assert colourfulness(rgb) > 1.0


def test_bad_inputs_are_named_and_good_ones_still_written(tmp_path, tiny_model, capsys):
    good = write_grey_png(tmp_path / "good.png", 64, 48)
    text = tmp_path / "notes.jpg"
    text.write_text("this is not a photo\n" * 10)
    truncated = tmp_path / "half.jpg"
    full = write_colour_jpeg(tmp_path / "full.jpg", 200, 150).read_bytes()
    truncated.write_bytes(full[: len(full) // 2])
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "colorize", good, text, truncated, empty, "-o", out, "--model", tiny_model)
    assert code == 1
    assert (out / "good.png").is_file()
    failed_lines = [line for line in stderr.splitlines() if line.startswith("failed:")]
    assert len(failed_lines) == 3
    assert any("notes.jpg" in line and "not an image" in line for line in failed_lines)
    assert any("half.jpg" in line and "truncated" in line for line in failed_lines)
    assert any("empty.png" in line and "empty" in line for line in failed_lines)
    assert "colorized 1 of 4" in stdout and "3 failed" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["good.png"]


def test_unwritable_output_folder_is_one_clear_line(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, stderr = run(capsys, "colorize", photo, "-o", blocker / "out", "--model", tiny_model)
    assert code == 1
    assert len(stderr.strip().splitlines()) == 1 and "cannot write" in stderr


def test_read_only_output_folder(tmp_path, tiny_model, capsys, read_only):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    locked = tmp_path / "locked"
    locked.mkdir()
    read_only(locked)
    try:
        code, _, stderr = run(capsys, "colorize", photo, "-o", locked, "--model", tiny_model)
    finally:
        locked.chmod(0o700)
    assert code == 1 and "permission denied" in stderr


def test_never_writes_over_an_input_even_with_overwrite(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    before = photo.read_bytes()
    code, _, stderr = run(capsys, "colorize", photo, "-o", tmp_path, "--overwrite", "--model", tiny_model)
    assert code == 1 and "overwrite an input" in stderr
    assert photo.read_bytes() == before


def test_existing_results_are_kept_unless_overwrite(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    out = tmp_path / "out"
    out.mkdir()
    code, _, _ = run(capsys, "colorize", photo, "-o", out, "--model", tiny_model)
    earlier = (out / "a.png").read_bytes()
    code, _, stderr = run(capsys, "colorize", photo, "-o", out, "--model", tiny_model, "--saturation", "2")
    assert code == 1 and "already exists" in stderr
    assert (out / "a.png").read_bytes() == earlier
    code, _, _ = run(capsys, "colorize", photo, "-o", out, "--overwrite", "--model", tiny_model, "--saturation", "2")
    assert code == 0 and (out / "a.png").read_bytes() != earlier  # an earlier result is replaced


def test_overwrite_never_replaces_a_file_autochrome_did_not_write(tmp_path, tiny_model, capsys):
    """The hostile run: with the output folder = the input folder, b.jpg --format png replaced b.png."""
    folder = tmp_path / "photos"
    folder.mkdir()
    write_colour_jpeg(folder / "b.jpg", 32, 32)
    original = write_grey_png(folder / "b.png", 32, 32, seed=3).read_bytes()
    code, _, stderr = run(capsys, "colorize", folder / "b.jpg", "--format", "png", "-o", folder, "--overwrite",
                          "--model", tiny_model)
    assert code == 1 and "not an earlier Autochrome result" in stderr
    assert (folder / "b.png").read_bytes() == original


def test_format_option_and_recursive_folders(tmp_path, tiny_model, capsys):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    write_grey_png(tree / "top.png", 40, 30)
    write_colour_jpeg(tree / "sub" / "deep.jpg", 40, 30)
    out = tmp_path / "out"
    code, stdout, _ = run(capsys, "colorize", tree, "-o", out, "--model", tiny_model)
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["top.png"]
    code, stdout, _ = run(capsys, "colorize", tree, "-r", "-o", out / "all", "--format", "webp", "--model", tiny_model)
    assert code == 0
    assert (out / "all" / "top.webp").is_file() and (out / "all" / "sub" / "deep.webp").is_file()
    with Image.open(out / "all" / "sub" / "deep.webp") as result:
        assert result.format == "WEBP" and result.size == (40, 30)


def test_same_stem_in_one_run_is_not_silently_overwritten(tmp_path, tiny_model, capsys):
    write_grey_png(tmp_path / "a.png", 32, 32)
    write_colour_jpeg(tmp_path / "a.jpg", 32, 32)
    out = tmp_path / "out"
    code, _, stderr = run(capsys, "colorize", tmp_path / "a.png", tmp_path / "a.jpg", "--format", "png", "-o", out,
                          "--model", tiny_model)
    assert code == 0, stderr
    assert (out / "a.png").is_file() and (out / "a-jpg.png").is_file()  # each input its own result


def test_inputs_of_one_name_each_get_a_result_and_a_repeated_path_is_one_input(tmp_path, tiny_model, capsys):
    from PIL import Image

    for suffix, fmt in ((".gif", "GIF"), (".pgm", "PPM"), (".png", "PNG")):
        Image.fromarray(np.full((24, 32), 100, np.uint8)).save(tmp_path / f"scan{suffix}", fmt)
    out = tmp_path / "out"
    code, stdout, stderr = run(capsys, "colorize", tmp_path / "scan.png", tmp_path / "scan.png", tmp_path / "scan.gif",
                               tmp_path / "scan.pgm", "-o", out, "--model", tiny_model)
    assert code == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["scan-gif.png", "scan-pgm.png", "scan.png"]
    assert "colorized 3 of 3" in stdout


def test_bad_options_and_missing_model(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    code, _, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "o", "--model", "no-such-model")
    assert code == 2 and "no model named" in stderr
    code, _, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "o", "--render-size", "8", "--model", tiny_model)
    assert code == 2 and "render-size" in stderr


def test_version_models_and_help(capsys, tiny_model):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and "autochrome" in capsys.readouterr().out
    code, stdout, _ = run(capsys, "models", "-v")
    assert code == 0 and "autochrome-default (default)" in stdout and "shipped" in stdout
    for command in ("colorize", "models"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0


def test_eval_prints_the_table_with_baselines_and_writes_a_sheet(tmp_path, tiny_model, capsys):
    folder = tmp_path / "eval"
    folder.mkdir()
    for index in range(2):
        write_colour_jpeg(folder / f"c{index}.jpg", 48, 32, seed=index)
    sheet = tmp_path / "sheet.png"
    code, stdout, stderr = run(capsys, "eval", tiny_model, folder, "--device", "cpu", "--sheet", sheet,
                               "--json", tmp_path / "m.json")
    assert code == 0, stderr
    assert "grey (a=b=0)" in stdout and "tiny" in stdout and "shipped default" in stdout
    assert sheet.is_file() and (tmp_path / "m.json").is_file()


def test_eval_can_leave_the_shipped_default_out(tmp_path, tiny_model, capsys):
    folder = tmp_path / "eval"
    folder.mkdir()
    write_colour_jpeg(folder / "c.jpg", 48, 32, seed=0)
    code, stdout, stderr = run(capsys, "eval", tiny_model, folder, "--device", "cpu", "--no-default")
    assert code == 0, stderr
    assert "tiny" in stdout and "shipped default" not in stdout


def _hinted_photo(folder, name="scan.png"):
    photo = write_grey_png(folder / name, 96, 64)
    hint = {"x": 20, "y": 20, "ab": [-40.0, 45.0], "color": "#40a040"}
    (folder / f"{name}.autochrome.json").write_text(json.dumps({"version": 1, "hints": [hint]}))
    return photo


def _ab_at(path, x, y):
    with Image.open(path) as result:
        rgb = np.asarray(result, np.float32) / 255.0
    return color.rgb_to_lab(rgb[y - 1 : y + 2, x - 1 : x + 2]).reshape(-1, 3)[:, 1:].mean(axis=0)


def test_colorize_applies_a_photos_sidecar_and_says_so(tmp_path, tiny_model, capsys):
    photo = _hinted_photo(tmp_path)
    code, stdout, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "with", "--model", tiny_model)
    assert code == 0, stderr
    assert "(1 with the hints of its sidecar)" in stdout
    hinted = _ab_at(tmp_path / "with" / "scan.png", 20, 20)
    assert hinted == pytest.approx([-40.0, 45.0], abs=8.0)
    code, stdout, _ = run(capsys, "colorize", photo, "-o", tmp_path / "without", "--model", tiny_model, "--no-sidecar")
    assert code == 0 and "sidecar" not in stdout
    plain = _ab_at(tmp_path / "without" / "scan.png", 20, 20)
    assert np.hypot(*(plain - hinted)) > 20


def test_hints_option_gives_one_photo_another_file(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "other.png", 96, 64)
    hints = tmp_path / "mine.json"
    hints.write_text('{"hints": [{"x": 60, "y": 30, "ab": [50, 10], "color": "#c04060"}]}')
    code, stdout, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "out", "--model", tiny_model, "--hints", hints)
    assert code == 0, stderr and "with the hints" in stdout
    assert _ab_at(tmp_path / "out" / "other.png", 60, 30) == pytest.approx([50.0, 10.0], abs=8.0)
    second = write_grey_png(tmp_path / "second.png", 32, 32)
    code, _, stderr = run(capsys, "colorize", photo, second, "-o", tmp_path / "out2", "--model", tiny_model,
                          "--hints", hints)
    assert code == 2 and "exactly one photo" in stderr


@pytest.mark.parametrize("content", ["{broken", '{"hints": [{"x": 5000, "y": 1, "color": "#ffffff"}]}',
                                     '{"hints": [{"x": 1, "y": 1, "color": "not a colour"}]}'])
def test_a_malformed_sidecar_is_a_warning_and_the_photo_is_still_colorized(tmp_path, tiny_model, capsys, content):
    photo = write_grey_png(tmp_path / "scan.png", 96, 64)
    (tmp_path / "scan.png.autochrome.json").write_text(content)
    code, stdout, stderr = run(capsys, "colorize", photo, "-o", tmp_path / "out", "--model", tiny_model)
    assert code == 0 and (tmp_path / "out" / "scan.png").is_file()
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "scan.png.autochrome.json" in warnings[0]
    assert "colorized 1 of 1" in stdout and "sidecar)" not in stdout


def test_sidecar_settings_apply_unless_the_command_line_sets_them(tmp_path, tiny_model, capsys):
    photo = write_grey_png(tmp_path / "scan.png", 96, 64)
    (tmp_path / "scan.png.autochrome.json").write_text('{"hints": [], "saturation": 0.0}')
    run(capsys, "colorize", photo, "-o", tmp_path / "a", "--model", tiny_model)
    assert abs(_ab_at(tmp_path / "a" / "scan.png", 40, 30)).max() < 1.0  # the sidecar's saturation 0: grey
    run(capsys, "colorize", photo, "-o", tmp_path / "b", "--model", tiny_model, "--saturation", "1")
    assert abs(_ab_at(tmp_path / "b" / "scan.png", 40, 30)).max() > 1.0


def test_restore_on_the_command_line_and_from_a_sidecar(tmp_path, tiny_model, capsys):
    """Issue 25: --restore fills the damage before colorizing, --restore-only writes the restored
    grey photo, a sidecar's "restore" is applied like its hints; the original is never modified."""
    import hashlib
    import json

    from tests.desktop.test_restore_tool import scratched_png

    photo = scratched_png(tmp_path / "print.png")
    original = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert main(["colorize", str(photo), "-o", str(tmp_path / "grey"), "--restore-only", "--model", str(tiny_model),
                 "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "restored:" in err
    assert "restored 1 of 1 photo" in out and "colorized" not in out  # it only restored
    with Image.open(tmp_path / "grey" / "print.png") as written:
        grey = np.asarray(written.convert("RGB"), np.float32)
    assert np.ptp(grey, axis=2).max() <= 1  # grey
    assert grey[20:140, 120, 0].mean() < 200  # the 252 scratch is gone
    assert main(["colorize", str(photo), "-o", str(tmp_path / "colour"), "--restore", "--model", str(tiny_model),
                 "--device", "cpu"]) == 0
    assert "colorized 1 of 1 photo" in capsys.readouterr().out
    with Image.open(tmp_path / "colour" / "print.png") as written:
        assert np.asarray(written.convert("L"), np.float32)[20:140, 120].mean() < 200
    # A sidecar that turns restoration on, with a stroke that keeps the scratch: applied without --restore.
    # Its colour hint has nothing to do in a grey photo, and the summary does not claim it did.
    (tmp_path / "print.png.autochrome.json").write_text(json.dumps({
        "hints": [{"x": 60, "y": 30, "ab": [50, 10], "color": "#c04060"}], "restore": {
            "enabled": True, "strokes": [{"add": False, "radius": 4, "points": [[120, 5], [120, 155]]}]}}))
    assert main(["colorize", str(photo), "-o", str(tmp_path / "sidecar"), "--restore-only", "--model",
                 str(tiny_model), "--device", "cpu"]) == 0
    assert "hints" not in capsys.readouterr().out
    # --strength sets how readily damage is found: on a faint scratch the highest fills more than the lowest.
    faint = tmp_path / "faint.png"
    with Image.open(photo) as scratched:
        grey = np.asarray(scratched, np.float32).copy()
    grey[10:150, 120] = grey[10:150, 119] + 60
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L").save(faint)
    notes = {}
    for strength in ("0", "1"):
        assert main(["colorize", str(faint), "-o", str(tmp_path / f"s{strength}"), "--restore-only", "--strength",
                     strength, "--no-sidecar", "--model", str(tiny_model), "--device", "cpu"]) == 0
        notes[strength] = capsys.readouterr().err
    assert "no damage found at strength 0 %" in notes["0"] and "% of its pixels filled" in notes["1"]
    with pytest.raises(SystemExit):
        main(["colorize", str(photo), "-o", str(tmp_path / "bad"), "--restore", "--strength", "1.5"])
    capsys.readouterr()
    assert main(["colorize", str(faint), "-o", str(tmp_path / "plain"), "--strength", "0.9", "--no-sidecar",
                 "--model", str(tiny_model), "--device", "cpu"]) == 0
    assert "--strength applies to the photos that are restored" in capsys.readouterr().err
    with Image.open(tmp_path / "sidecar" / "print.png") as written:
        assert np.asarray(written.convert("L"))[20:140, 120].mean() > 240  # erased from the mask: kept
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == original
