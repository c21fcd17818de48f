"""The damage network's mark filter: marks judged whole, the photo's own left unfilled (issue 25)."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from autochrome.engine.edit import RestoreEdit
from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.engine.networks.marks import (FEATURE_NAMES, MARK_FEATURES, MIN_SCORED_AREA, FilterEnsemble, MarkFilter,
                                              find_marks, mark_features, without_photo_marks)
from autochrome.engine.restore import damage_mask, damage_probability, found_damage
from autochrome.engine.weights import load_damage_net, save_damage_net


def chance_with_marks() -> tuple[np.ndarray, np.ndarray]:
    """A flat photo with a long bright line and a speck, and a chance map that finds both, a
    faint stretch beside the line (joined to it) and a faint patch with no sure pixel."""
    lightness = np.full((80, 120), 40.0, np.float32)
    chance = np.full((80, 120), 0.01, np.float16)
    lightness[10:70, 30:32] = 80.0
    chance[10:70, 30:32] = 0.99
    chance[70:75, 30:32] = 0.6  # faint, joined to the line
    lightness[40:42, 90:92] = 75.0
    chance[40:42, 90:92] = 0.99  # a speck: 4 px, not judged
    chance[5:15, 100:110] = 0.7  # faint everywhere: never a mark
    return lightness, chance


def filter_saying(logit: float) -> MarkFilter:
    marks_filter = MarkFilter(4)
    with torch.no_grad():
        for parameter in marks_filter.mlp.parameters():
            parameter.zero_()
        marks_filter.mlp[-1].bias.fill_(logit)
    return marks_filter.eval()


def test_marks_are_the_regions_at_the_operating_point_that_hold_a_sure_pixel():
    lightness, chance = chance_with_marks()
    marks = find_marks(chance, 0.5, with_stats=True)
    line, speck, patch = marks.labels[40, 30], marks.labels[40, 90], marks.labels[10, 105]
    assert marks.seeded[line] and marks.seeded[speck] and not marks.seeded[patch]
    assert marks.stats[line, 4] == 60 * 2 + 5 * 2  # the faint stretch is part of the line
    assert list(marks.scored()) == [line]  # the speck is under MIN_SCORED_AREA
    assert 4 < MIN_SCORED_AREA
    features = mark_features(lightness, chance, marks, marks.scored())
    assert features.shape == (1, MARK_FEATURES) and np.isfinite(features).all()
    assert np.array_equal(found_damage(chance, 0.5), marks.seeded[marks.labels])


def test_a_mark_judged_the_photos_own_is_never_filled_and_the_others_stay_as_they_were():
    lightness, chance = chance_with_marks()
    kept = without_photo_marks(lightness, chance.copy(), filter_saying(+5.0))
    assert np.array_equal(kept, chance)
    judged = without_photo_marks(lightness, chance.copy(), filter_saying(-5.0))
    assert judged[10:75, 30:32].max() == 0  # the whole mark, its faint stretch too
    outside = np.ones(chance.shape, bool)
    outside[10:75, 30:32] = False
    assert np.array_equal(judged[outside], chance[outside])  # the speck and the faint patch untouched
    for strength in (0.5, 0.98):
        mask = damage_mask(judged, RestoreEdit(enabled=True, strength=strength))
        assert not mask[10:75, 30:32].any() and mask[40, 90]


def test_a_mark_is_described_by_its_own_box_alone():
    lightness, chance = chance_with_marks()
    marks = find_marks(chance, 0.5, with_stats=True)
    before = mark_features(lightness, chance, marks, marks.scored())
    lightness[:, 60:] = np.random.default_rng(0).uniform(0, 100, (80, 60))  # far from the line's box
    assert np.array_equal(mark_features(lightness, chance, marks, marks.scored()), before)


def test_a_network_with_a_filter_saves_loads_and_uses_it_and_one_without_writes_no_marks_field(tmp_path):
    torch.manual_seed(0)
    shipped = load_damage_net()
    net = DamageNet(dataclasses.replace(shipped.config, marks=8, mark_members=0))
    net.load_state_dict({key: value for key, value in shipped.state_dict().items() if not key.startswith("marks.")},
                        strict=False)
    save_damage_net(tmp_path / "with-filter.safetensors", net)
    again = load_damage_net(tmp_path / "with-filter.safetensors")
    assert again.config.marks == 8
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    assert "marks" not in json.loads(DamageConfig().to_json())  # as networks before the filter wrote it
    with pytest.raises(ValueError):
        DamageConfig.from_json('{"marks": -1}')
    # Told that every mark is the photo's own, the network leaves a photo's scratch alone.
    lightness = np.full((96, 96), 45.0, np.float32)
    lightness[:, 47:49] = 90.0
    with torch.no_grad():
        again.marks.mlp[-1].bias.fill_(-100.0)
    unjudged = damage_probability(lightness, again, judge_marks=False)
    judged = damage_probability(lightness, again)
    assert found_damage(unjudged, 0.5)[:, 47:49].sum() >= MIN_SCORED_AREA  # d8 finds it: a mark to judge
    assert not found_damage(judged, 0.5)[:, 47:49].any()
    assert np.array_equal(judged[unjudged.astype(np.float32) < 0.5], unjudged[unjudged.astype(np.float32) < 0.5])


def test_a_line_between_two_regions_differs_on_its_sides_where_a_scratch_over_one_does_not():
    chance = np.full((60, 60), 0.01, np.float16)
    chance[5:55, 29:31] = 0.99
    frame = np.full((60, 60), 30.0, np.float32)
    frame[:, 31:] = 80.0  # a bright frame's edge between a dark shutter and a pane
    frame[:, 29:31] = 95.0
    scratch = np.full((60, 60), 50.0, np.float32)
    scratch[:, 29:31] = 95.0
    differ = FEATURE_NAMES.index("sides differ")
    for lightness, expected in ((frame, 50.0), (scratch, 0.0)):
        marks = find_marks(chance, 0.5, with_stats=True)
        assert mark_features(lightness, chance, marks, marks.scored())[0, differ] == pytest.approx(expected, abs=1.0)


def test_a_network_with_an_ensemble_filter_saves_loads_and_judges_by_its_members_mean(tmp_path):
    torch.manual_seed(0)
    shipped = load_damage_net()
    net = DamageNet(dataclasses.replace(shipped.config, marks=4, mark_members=3))
    assert isinstance(net.marks, FilterEnsemble) and len(net.marks.members) == 3
    net.load_state_dict({key: value for key, value in shipped.state_dict().items() if not key.startswith("marks.")},
                        strict=False)
    with torch.no_grad():
        for member, logit in zip(net.marks.members, (-9.0, 1.0, 2.0)):  # mean -2: the photo's own
            for parameter in member.mlp.parameters():
                parameter.zero_()
            member.mlp[-1].bias.fill_(logit)
    save_damage_net(tmp_path / "ensemble.safetensors", net)
    again = load_damage_net(tmp_path / "ensemble.safetensors")
    assert again.config.mark_members == 3
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), again.state_dict().values()))
    assert "mark_members" not in json.loads(DamageConfig(marks=8).to_json())  # one MLP: saved as before ensembles
    lightness, chance = chance_with_marks()
    judged = without_photo_marks(lightness, chance.copy(), again.marks)
    assert judged[10:75, 30:32].max() == 0
    again.marks.shift(-3.0)  # mean +1: damage
    assert np.array_equal(without_photo_marks(lightness, chance.copy(), again.marks), chance)
