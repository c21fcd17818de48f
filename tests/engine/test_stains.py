"""The damage network's whole-photo stain branch (issue 25)."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.engine.networks.stains import STAIN_SIDE, StainNet, stain_chance, stain_input, stain_logits
from autochrome.engine.restore import damage_probability, pixel_damage_probability
from autochrome.engine.weights import DAMAGE_FORMAT, load_damage_net, save_damage_net
from tests.conftest import gradient_grey


@pytest.mark.parametrize("height, width", [(37, 53), (256, 171), (15, 1)])
def test_the_branch_gives_a_chance_at_half_its_inputs_size_for_any_size(height, width):
    torch.manual_seed(0)
    logits = StainNet(8)(torch.zeros(1, 2, height, width))
    assert logits.shape == (1, 1, -(-height // 2), -(-width // 2))


def test_the_branch_sees_the_photo_at_its_side_never_enlarged():
    assert stain_input(np.full((900, 600), 50.0, np.float32)).shape == (2, STAIN_SIDE, round(600 * STAIN_SIDE / 900))
    assert stain_input(np.full((120, 80), 50.0, np.float32)).shape == (2, 120, 80)


def test_the_chance_is_resized_to_the_photo_and_the_shift_moves_it():
    logits = np.zeros((4, 6), np.float32)
    logits[:, 3:] = 4.0
    chance = stain_chance(logits, (40, 60)).astype(np.float32)
    assert chance.shape == (40, 60) and chance[:, :20].max() < 0.55 and chance[:, 45:].min() > 0.95
    assert stain_chance(logits, (40, 60), shift=8.0).astype(np.float32).max() < 0.05


def test_a_network_with_a_branch_saves_and_loads_and_a_file_without_one_still_loads(tmp_path):
    shipped = load_damage_net()  # the shipped network has no stain branch (the model card says why)
    torch.manual_seed(1)
    net = DamageNet(dataclasses.replace(shipped.config, stains=8))
    save_damage_net(tmp_path / "with-stains.safetensors", net)
    again = load_damage_net(tmp_path / "with-stains.safetensors")
    assert again.config.stains == 8
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    # A file from before the branch: its config has no "stains" field and no branch's weights.
    older = DamageNet(dataclasses.replace(shipped.config, stains=0))
    config = json.loads(older.config.to_json())
    assert "stains" not in config  # written as before the branch, so older checkpoints still resume
    save_file({key: value.contiguous() for key, value in older.state_dict().items()},
              str(tmp_path / "older.safetensors"), metadata={"format": DAMAGE_FORMAT, "config": json.dumps(config)})
    assert load_damage_net(tmp_path / "older.safetensors").stains is None
    with pytest.raises(ValueError):
        DamageConfig.from_json('{"stains": 6}')


def test_the_damage_chance_is_the_per_pixel_networks_or_the_branchs_where_that_is_higher():
    torch.manual_seed(2)
    net = DamageNet(DamageConfig(stains=8)).eval()
    lightness = (gradient_grey(90, 70, 3) * 80 + 10).astype(np.float32)
    with torch.no_grad():
        net.stains.out.bias.fill_(6.0)  # the branch sure of a stain in one corner only
        net.stains.out.weight.zero_()
    pixel = pixel_damage_probability(lightness, net)
    both = damage_probability(lightness, net)
    branch = stain_chance(stain_logits(lightness, net.stains), lightness.shape)
    assert np.array_equal(both, np.maximum(pixel, branch))
    assert both.astype(np.float32).min() > 0.99 > pixel.astype(np.float32).min()
