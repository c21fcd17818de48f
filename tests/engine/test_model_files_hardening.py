"""Odd model files (issue 12, R4, R5, R7): each is named with its reason; nothing crashes."""

import json
import pickle

import pytest
from safetensors.torch import save_file

from autochrome.desktop.cli import main
from autochrome.engine import paths, weights
from autochrome.engine.errors import ModelError
from tests.conftest import TINY_PIX2PIX, make_model_file, write_grey_png


def _odd_file(path, **metadata_changes):
    """A real tiny model file whose metadata is then changed."""
    make_model_file(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = dict(handle.metadata())
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    metadata.update(metadata_changes)
    save_file(tensors, str(path), metadata=metadata)
    return path


def test_odd_user_model_files_are_listed_as_broken_and_the_rest_works(tmp_path, capsys):
    folder = paths.user_models_dir()
    folder.mkdir(parents=True)
    _odd_file(folder / "version.safetensors", format_version="1.5")
    _odd_file(folder / "listy.safetensors", provenance=json.dumps(["a", "list"]))
    _odd_file(folder / "nulls.safetensors", metrics="null")
    make_model_file(folder / "fine.safetensors")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "version  [broken: version.safetensors: format_version '1.5' is not a number]" in out
    assert "listy  [broken:" in out and "fine  [user" in out
    assert "nulls  [user" in out  # null metrics read as none
    photo = write_grey_png(tmp_path / "a.png", 32, 32)
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", "fine"]) == 0


def test_nan_weights_are_refused_at_load(tmp_path):
    path = make_model_file(tmp_path / "nan.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    first = next(key for key, value in tensors.items() if value.is_floating_point() and value.numel() > 1)
    tensors[first][0] = float("nan")
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(ModelError, match="NaN or infinite weights"):
        weights.load_generator(path)


def test_a_pickle_named_safetensors_is_not_a_safetensors_file(tmp_path):
    path = tmp_path / "sneaky.safetensors"
    path.write_bytes(pickle.dumps({"weights": [1, 2, 3]}))
    with pytest.raises(ModelError, match="sneaky.safetensors is not a readable model file \\(not a safetensors file\\)"):
        weights.read_info(path)


@pytest.mark.parametrize("change", [{"decoder_channels": [10**9, 8, 8, 8, 8]}, {"pix2pix_downs": 4000}])
def test_absurd_sizes_in_a_config_are_a_damaged_description(tmp_path, change):
    config = json.loads(TINY_PIX2PIX.to_json()) | change
    if "decoder_channels" in change:
        config.update(architecture="unet", encoder="resnet18")
    path = _odd_file(tmp_path / "absurd.safetensors", config=json.dumps(config))
    with pytest.raises(ModelError, match="absurd.safetensors has a damaged model description"):
        weights.read_info(path)


def test_a_tiny_file_asking_for_a_huge_network_is_refused_before_it_is_built(tmp_path):
    """Issue 19, 2.1: 1 KB of config asked for a 5-billion-parameter pix2pix, and got 20 GB."""
    huge = json.loads(TINY_PIX2PIX.to_json()) | {"pix2pix_downs": 10, "pix2pix_filters": 512}
    path = tmp_path / "huge.safetensors"
    save_file({"w": __import__("torch").zeros(1)}, str(path), metadata={
        "format": weights.FORMAT_NAME, "format_version": "2", "config": json.dumps(huge)})
    with pytest.raises(ModelError, match="damaged model description"):
        weights.load_generator(path)
    bounded = json.loads(TINY_PIX2PIX.to_json()) | {"pix2pix_downs": 9, "pix2pix_filters": 128}
    save_file({"w": __import__("torch").zeros(1)}, str(path), metadata={
        "format": weights.FORMAT_NAME, "format_version": "2", "config": json.dumps(bounded)})
    with pytest.raises(ModelError, match="million parameters"):
        weights.load_generator(path)


def test_tensors_that_do_not_fit_the_config_are_refused_before_building(tmp_path):
    path = _odd_file(tmp_path / "mismatch.safetensors",
                     config=json.dumps(json.loads(TINY_PIX2PIX.to_json()) | {"pix2pix_filters": 8}))
    with pytest.raises(ModelError, match="does not match its own config"):
        weights.load_generator(path)


@pytest.mark.parametrize("change", [{"output_stride": 1.0}, {"pix2pix_downs": 7.0}, {"hint_input": "yes"},
                                    {"decoder_channels": [8.5, 8, 8, 8, 8]}])
def test_decimals_and_strings_where_whole_numbers_belong_are_a_damaged_description(tmp_path, change):
    config = json.loads(TINY_PIX2PIX.to_json()) | change
    path = _odd_file(tmp_path / "typed.safetensors", config=json.dumps(config))
    with pytest.raises(ModelError, match="damaged model description"):
        weights.read_info(path)


def test_a_model_with_absurd_weights_is_named_not_reported_as_a_success(tmp_path, capsys):
    """Issue 19, 3.8: huge finite weights gave a flat grey result reported as success."""
    import torch

    path = make_model_file(tmp_path / "absurd-weights.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    for key, value in tensors.items():
        if value.is_floating_point() and "weight" in key:
            tensors[key] = torch.full_like(value, 6e4)
    save_file(tensors, str(path), metadata=metadata)
    photo = write_grey_png(tmp_path / "a.png", 48, 32)
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--model", str(path)]) == 0
    assert "damaged" in capsys.readouterr().err
