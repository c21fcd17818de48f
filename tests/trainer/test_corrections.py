"""Learning from corrections: photos with saved hints become the fine-tuning set."""

import numpy as np
import pytest

from autochrome.desktop.cli import main
from autochrome.engine import paths, sidecar, weights
from autochrome.engine.hints import Hint
from tests.conftest import TINY_UNET, make_model_file, write_grey_png
from autochrome.trainer.corrections import find_corrected


def corrected_photos(folder, count, hinted=True):
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for index in range(count):
        photo = write_grey_png(folder / f"scan{index}.png", 120, 100, seed=index)
        hints = [Hint(30, 30, 40.0, 30.0), Hint(90, 70, -20.0, -30.0)] if hinted else []
        sidecar.write(photo, sidecar.PhotoEdit(hints, render_size=128))
        photos.append(photo)
    return photos


def test_corrected_photos_are_found_by_folder_and_by_the_apps_list(tmp_path):
    corrected_photos(tmp_path / "a", 3)
    corrected_photos(tmp_path / "b", 2)
    corrected_photos(tmp_path / "c", 2, hinted=False)  # saved without hints: nothing to learn
    (tmp_path / "a" / "scan0.png.autochrome.json").write_text("{broken")  # skipped, not fatal
    assert len(find_corrected(tmp_path / "a")) == 2
    assert len(find_corrected()) == 4  # everything the app saved hints for, anywhere


def test_finetune_learns_from_corrections_end_to_end(tmp_path, capsys):
    base = make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0)
    corrected_photos(tmp_path / "archive", 6)
    code = main(["finetune", "--corrections", "--name", "My fixes", "--base", str(base), "--steps", "3",
                 "--crop", "64", "--holdout", "0.3", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "against their corrected colours" in captured.out and "CIEDE2000" in captured.out
    info = weights.read_info(paths.user_models_dir() / "My fixes.safetensors")
    assert info.provenance["source"] == "corrections" and info.provenance["photos"] == 4
    assert "ciede2000" in info.metrics["holdout"]["new"]
    assert not list((paths.user_data_dir() / "finetune").glob("*.corrections"))  # working files removed


def test_too_few_corrections_are_refused_with_the_count(tmp_path, capsys):
    base = make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0)
    corrected_photos(tmp_path / "archive", 3)
    code = main(["finetune", "--corrections", "--name", "x", "--base", str(base), "--device", "cpu"])
    error = capsys.readouterr().err
    assert code == 2 and "found 3 corrected photos" in error and "at least 5" in error


def test_the_targets_are_the_hinted_results(tmp_path):
    from PIL import Image

    from autochrome.engine import color
    from autochrome.engine.colorizer import Colorizer
    from autochrome.trainer.corrections import render_targets

    base = Colorizer(make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0), "cpu")
    corrected = [(p, sidecar.read(sidecar.beside(p))) for p in corrected_photos(tmp_path / "archive", 5)]
    out = render_targets(corrected, base, tmp_path / "targets")
    first = sorted(out.glob("scan0-*.png"))[0]
    rgb = np.asarray(Image.open(first), np.float32) / 255.0
    ab = color.rgb_to_lab(rgb[28:33, 28:33]).reshape(-1, 3)[:, 1:].mean(axis=0)
    assert ab == pytest.approx([40.0, 30.0], abs=8.0)


def test_each_correction_is_rendered_with_its_own_saturation_and_model(tmp_path):
    """Issue 19, 2.5: corrections were rendered with the base model and its defaults, not as
    the user saw them."""
    from PIL import Image

    from autochrome.engine import color
    from autochrome.engine.colorizer import Colorizer
    from autochrome.trainer.corrections import render_targets

    base = Colorizer(make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0), "cpu")
    photos = corrected_photos(tmp_path / "archive", 5)
    corrected = [(p, sidecar.read(sidecar.beside(p))) for p in photos]
    corrected[0][1].saturation = 0.0  # the user saw this one without colour
    corrected[1][1].model = "theirs"
    used = []
    out = render_targets(corrected, base, tmp_path / "targets",
                         colorizer_for=lambda name: used.append(name) or base)
    grey = np.asarray(Image.open(sorted(out.glob("scan0-*.png"))[0]), np.float32) / 255.0
    assert np.abs(color.rgb_to_lab(grey)[..., 1:]).max() < 1.5
    assert used == ["theirs"]


def test_a_run_renamed_before_start_leaves_another_runs_corrections(tmp_path, monkeypatch):
    """Issue 19, 2.5: scanned as "A", started as "B": finishing B deleted A's rendered corrections."""
    from autochrome.trainer import finetune

    base = make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0)
    corrected_photos(tmp_path / "archive", 6)
    scan = finetune.scan_corrections("A", str(base), "cpu", tmp_path / "archive", 0.3)
    assert scan.folder == finetune.corrections_folder("A")
    finetune.checkpoint_path("A").parent.mkdir(parents=True, exist_ok=True)
    finetune.checkpoint_path("A").write_bytes(b"an unfinished run named A")
    run = finetune.Finetune(scan, finetune.FinetuneOptions(name="B", base_model=str(base), steps=1, crop=64,
                                                           holdout_share=0.3, device="cpu"))
    list(run.steps())
    run.finish()
    assert finetune.corrections_folder("A").is_dir() and any(finetune.corrections_folder("A").iterdir())
