"""Training the damage network's stain branch (issue 25)."""

import numpy as np
import torch

from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.trainer.stain_training import StainTrainer, WholePhotos, calibrate_stains, stain_target
from autochrome.trainer.training import TrainSettings
from tests.conftest import write_colour_photos


def test_a_cell_is_stain_when_at_least_half_its_pixels_are():
    stains = np.zeros((8, 8), bool)
    stains[:2, :2] = True  # the whole first cell
    stains[2, 2:4] = True  # half of the cell below and to the right
    stains[4, 4] = True  # a quarter of another
    target = stain_target(stains, (8, 8))
    assert target.shape == (4, 4)
    assert target[0, 0] == 1 and target[1, 1] == 1 and target[2, 2] == 0 and target.sum() == 2


def test_only_the_branch_learns_training_resumes_and_calibration_moves_its_bias(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 3, 180, 140)
    torch.manual_seed(0)
    net = DamageNet(DamageConfig(stains=8))
    rest = {key: value.clone() for key, value in net.state_dict().items() if not key.startswith("stains.")}
    branch = {key: value.clone() for key, value in net.stains.state_dict().items()}
    settings = TrainSettings(stage1_steps=4, batch_size=2, learning_rate=3e-3, warmup_steps=0, checkpoint_every=2)
    trainer = StainTrainer(net, WholePhotos(folder), settings, tmp_path / "stains.ckpt")
    losses = [record.losses["stains"] for record in trainer.run()]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert all(torch.equal(value, net.state_dict()[key]) for key, value in rest.items())
    assert any(not torch.equal(value, net.stains.state_dict()[key]) for key, value in branch.items())
    resumed = StainTrainer(DamageNet(DamageConfig(stains=8)), WholePhotos(folder), settings, tmp_path / "stains.ckpt")
    assert resumed.step == 4
    assert all(torch.equal(value, resumed.net.stains.state_dict()[key]) for key, value in net.stains.state_dict().items())
    before = float(net.stains.out.bias.detach())
    calibration = calibrate_stains(net, sorted(folder.glob("*.png"))[:2])
    chosen = calibration["threshold"]
    moved = before - float(net.stains.out.bias.detach())
    assert chosen in [row["threshold"] for row in calibration["table"]]
    assert abs(moved - 1e4) < 1 if chosen == 1.0 else abs(moved - np.log(chosen / (1 - chosen))) < 1e-4
