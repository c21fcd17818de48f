import pytest
import torch
from safetensors.torch import save_file

from autochrome.engine import paths, weights
from autochrome.engine.errors import ModelError
from autochrome.engine.networks import build_generator
from tests.conftest import TINY_PIX2PIX, TINY_UNET, make_model_file


def test_round_trip_keeps_config_provenance_and_outputs(tmp_path):
    torch.manual_seed(0)
    model = build_generator(TINY_UNET).eval()
    path = tmp_path / "m.safetensors"
    weights.save_generator(path, model, TINY_UNET, provenance={"steps": 7}, metrics={"psnr": 21.5}, dtype=torch.float32)
    loaded, info = weights.load_generator(path)
    assert info.config == TINY_UNET and info.provenance == {"steps": 7} and info.metrics == {"psnr": 21.5}
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_fp16_storage_is_close_and_small(tmp_path):
    torch.manual_seed(0)
    model = build_generator(TINY_UNET).eval()
    weights.save_generator(tmp_path / "a.safetensors", model, TINY_UNET, dtype=torch.float32)
    weights.save_generator(tmp_path / "b.safetensors", model, TINY_UNET)
    assert (tmp_path / "b.safetensors").stat().st_size < 0.6 * (tmp_path / "a.safetensors").stat().st_size
    loaded, _ = weights.load_generator(tmp_path / "b.safetensors")
    assert next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), atol=2e-2, rtol=0)


def test_foreign_and_damaged_files_are_refused(tmp_path):
    save_file({"x": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ModelError, match="not an Autochrome model"):
        weights.load_generator(tmp_path / "foreign.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(ModelError, match="not a readable model"):
        weights.load_generator(tmp_path / "junk.safetensors")
    with pytest.raises(ModelError, match="not found"):
        weights.load_generator(tmp_path / "missing.safetensors")


def test_registry_lists_user_models_and_resolves_names(tmp_path):
    user_dir = paths.user_models_dir()
    make_model_file(user_dir / "family-archive.safetensors")
    (user_dir / "broken.safetensors").write_bytes(b"nope")
    names = [info.name for info in weights.list_models()]
    assert "family-archive" in names and "broken" not in names
    assert weights.resolve_model("family-archive") == user_dir / "family-archive.safetensors"
    explicit = make_model_file(tmp_path / "elsewhere.safetensors", TINY_PIX2PIX)
    assert weights.resolve_model(str(explicit)) == explicit
    with pytest.raises(ModelError, match="no model named"):
        weights.resolve_model("does-not-exist")


def test_shipped_default_model_is_present_and_within_budget():
    path = weights.resolve_model(None)
    info = weights.read_info(path, "shipped")
    assert path.stat().st_size <= 24 * 1024 * 1024
    assert info.provenance.get("steps", 0) > 0
    assert info.origin == "shipped"


def test_user_models_can_be_renamed_deleted_exported_and_imported(tmp_path):
    user_dir = paths.user_models_dir()
    make_model_file(user_dir / "mine.safetensors")
    renamed = weights.rename_user_model("mine", "Grandma's albums")
    assert renamed.name == "Grandma's albums.safetensors" and not (user_dir / "mine.safetensors").exists()
    with pytest.raises(ModelError, match="exists already"):
        weights.rename_user_model("Grandma's albums", weights.DEFAULT_MODEL_NAME)
    with pytest.raises(ModelError, match="shipped models cannot"):
        weights.delete_user_model(weights.DEFAULT_MODEL_NAME)
    exported = weights.export_model("Grandma's albums", tmp_path / "share.safetensors")
    with pytest.raises(ModelError, match="exists already"):
        weights.export_model("Grandma's albums", exported)
    weights.delete_user_model("Grandma's albums")
    assert "Grandma's albums" not in [i.name for i in weights.list_models()]
    imported = weights.import_model(exported, "from a friend")
    assert weights.load_generator(imported)[1].name == "from a friend"
    (tmp_path / "fake.safetensors").write_bytes(b"not a model")
    with pytest.raises(ModelError):
        weights.import_model(tmp_path / "fake.safetensors")
    assert [i.name for i in weights.list_models() if i.origin == "user"] == ["from a friend"]


def test_saved_model_gets_the_usual_file_permissions(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        path = tmp_path / "m.safetensors"
        weights.save_generator(path, build_generator(TINY_UNET), TINY_UNET)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_shipped_default_takes_hints_and_they_change_its_colours():
    """The shipped weights themselves (a few seconds on a CPU): a hint-taking classifier whose
    bins travel in the file, and a hint that moves the colour where it lies."""
    import numpy as np

    from autochrome.engine.edit import ColorizeSettings
    from autochrome.engine.colorizer import Colorizer
    from autochrome.engine.hints import Hint
    from autochrome.engine.image_io import LoadedImage

    colorizer = Colorizer(None, "cpu")
    config = colorizer.info.config
    assert config.hint_input and config.ab_classes == len(colorizer.model.ab_centres) > 300
    assert colorizer.model.ab_centres.abs().max() >= 100  # real bin centres, not zeros
    y, x = np.mgrid[0:96, 0:128]
    image = LoadedImage(None, (50 + 30 * np.sin(x / 9.0) * np.cos(y / 7.0)).astype(np.float32), 8, "PNG")
    plain = colorizer.colorize(image, ColorizeSettings(render_size=128))
    hinted = colorizer.colorize(image, ColorizeSettings(render_size=128), hints=[Hint(64, 48, -40.0, 40.0)])
    near = hinted.lab[46:51, 62:67, 1:].mean(axis=(0, 1))
    assert np.hypot(*(near - plain.lab[46:51, 62:67, 1:].mean(axis=(0, 1)))) > 20
    np.testing.assert_array_equal(hinted.lab[..., 0], image.lightness)


def test_model_names_that_differ_only_in_letter_case_are_one_name(tmp_path):
    """Issue 19, 2.6: importing "Family" when "family" existed replaced it on macOS and Windows."""
    from autochrome.engine import paths
    from autochrome.engine.errors import ModelError
    from tests.conftest import make_model_file

    first = weights.import_model(make_model_file(tmp_path / "family.safetensors"))
    with pytest.raises(ModelError, match="named 'family' exists already"):
        weights.import_model(make_model_file(tmp_path / "Family.safetensors"))
    with pytest.raises(ModelError, match="shipped model"):
        weights.check_model_name("AUTOCHROME-DEFAULT")
    for bad in ("a/b", "..", "con", "x:y", "tab\tname"):
        with pytest.raises(ModelError):
            weights.check_model_name(bad)
    assert [p.name for p in paths.user_models_dir().iterdir()] == [first.name]
