"""The damage network's speck filter: marks too small for the mark filter, judged from their patch (issue 25)."""

import dataclasses
import json

import numpy as np
import torch

from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.engine.networks.marks import MarkFilter, find_marks, without_photo_marks
from autochrome.engine.networks.specks import SPECK_FEATURE_NAMES, SPECK_FEATURES, scored_specks, speck_features
from autochrome.engine.restore import damage_probability
from autochrome.engine.weights import load_damage_net, save_damage_net


def speck_filter_saying(logit: float) -> MarkFilter:
    judge = MarkFilter(4, SPECK_FEATURES)
    with torch.no_grad():
        for parameter in judge.mlp.parameters():
            parameter.zero_()
        judge.mlp[-1].bias.fill_(logit)
    return judge.eval()


def photo_with_specks() -> tuple[np.ndarray, np.ndarray]:
    """Dust on a flat sky (left), a bright point among points like it (gravel, right) and a long
    line, each found by the chance map; the line is the mark filter's, the two points specks."""
    lightness = np.full((60, 120), 40.0, np.float32)
    chance = np.full((60, 120), 0.01, np.float16)
    lightness[20:22, 20:22] = 80.0
    chance[20:22, 20:22] = 0.99
    for y in range(12, 48, 5):
        for x in range(72, 108, 5):
            lightness[y : y + 2, x : x + 2] = 80.0  # gravel: only the middle point is found
    chance[32:34, 87:89] = 0.99
    lightness[5:55, 60:62] = 90.0
    chance[5:55, 60:62] = 0.99
    return lightness, chance


def test_dust_on_a_smooth_stretch_stands_alone_where_a_point_of_texture_has_look_alikes():
    lightness, chance = photo_with_specks()
    marks = find_marks(chance, 0.5, with_stats=True)
    dust, gravel, line = marks.labels[20, 20], marks.labels[32, 87], marks.labels[30, 60]
    indices = scored_specks(marks)
    assert sorted(indices) == sorted([dust, gravel]) and line not in indices
    features = speck_features(lightness, chance, marks, indices)
    assert features.shape == (2, SPECK_FEATURES) and np.isfinite(features).all()
    row = {int(index): features[place] for place, index in enumerate(indices)}
    alike, spread = SPECK_FEATURE_NAMES.index("ring look-alikes"), SPECK_FEATURE_NAMES.index("ring spread")
    assert row[dust][alike] == 0 and row[dust][spread] == 0
    assert row[gravel][alike] > 0.05 and row[gravel][spread] > 5
    against = SPECK_FEATURE_NAMES.index("against ring")
    assert row[dust][against] == 40.0


def test_a_speck_judged_the_photos_own_is_never_filled_and_nothing_else_is_touched():
    lightness, chance = photo_with_specks()
    assert np.array_equal(without_photo_marks(lightness, chance.copy(), None, speck_filter_saying(5.0)), chance)
    judged = without_photo_marks(lightness, chance.copy(), None, speck_filter_saying(-5.0))
    assert judged[20:22, 20:22].max() == 0 and judged[32:34, 87:89].max() == 0
    assert np.array_equal(judged[5:55, 60:62], chance[5:55, 60:62])  # the line is the mark filter's to judge
    untouched = np.ones(chance.shape, bool)
    untouched[20:22, 20:22] = untouched[32:34, 87:89] = False
    assert np.array_equal(judged[untouched], chance[untouched])


def test_a_network_with_a_speck_filter_saves_loads_and_uses_it(tmp_path):
    torch.manual_seed(0)
    shipped = load_damage_net()
    net = DamageNet(dataclasses.replace(shipped.config, specks=8))
    missing, _ = net.load_state_dict({key: value for key, value in shipped.state_dict().items()
                                      if not key.startswith("specks.")}, strict=False)
    assert all(key.startswith("specks.") for key in missing)
    save_damage_net(tmp_path / "with-specks.safetensors", net)
    again = load_damage_net(tmp_path / "with-specks.safetensors")
    assert again.config.specks == 8 and json.loads(again.config.to_json())["specks"] == 8
    assert "specks" not in json.loads(DamageConfig().to_json())  # as networks before the filter wrote it
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    # Told every speck is the photo's own, the network leaves a dust speck alone and a scratch not.
    lightness = np.full((96, 96), 45.0, np.float32)
    lightness[30:32, 20:22] = 95.0
    lightness[:, 70:72] = 95.0
    with torch.no_grad():
        again.specks.mlp[-1].bias.fill_(-100.0)
    again.marks.shift(-1000.0)  # every mark damage, whatever the filter's make
    unjudged = damage_probability(lightness, again, judge_marks=False).astype(np.float32)
    judged = damage_probability(lightness, again).astype(np.float32)
    assert (unjudged[29:33, 19:23] >= 0.5).any(), "the shipped network should find the speck"
    assert not (judged[29:33, 19:23] >= 0.5).any()
    assert np.array_equal(judged[:, 60:], unjudged[:, 60:])
