"""Fitting the damage network's speck filter (issue 25)."""

import numpy as np
import torch

from autochrome.engine.networks.specks import SPECK_FEATURES
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.speck_training import (SpeckExamples, choose_speck_cut, fit_speck_filter, gather_specks,
                                               joined_specks)
from tests.conftest import write_colour_photos


def test_specks_are_gathered_seeded_with_what_filling_each_does(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 4, 200, 150)
    files = sorted(folder.glob("*.png"))
    net = load_damage_net()
    examples = gather_specks(net, files, seed=1)
    assert len(examples) and examples.features.shape == (len(examples), SPECK_FEATURES)
    assert np.isfinite(examples.features).all() and np.isfinite(examples.gains).all()
    assert (examples.damage <= examples.areas).all() and (examples.areas < 20).all()
    assert examples.is_damage.any() and (examples.gains[examples.is_damage] > 0).mean() > 0.5  # filling dust helps
    again = joined_specks([gather_specks(net, files[:1], seed=1), gather_specks(net, files[1:], seed=1, first_index=1)])
    assert np.array_equal(again.features, examples.features) and np.array_equal(again.gains, examples.gains)


def specks_whose_first_feature_says(count: int, seed: int, false_gain: float = -1.0) -> SpeckExamples:
    rng = np.random.default_rng(seed)
    features = rng.normal(0, 1, (count, SPECK_FEATURES)).astype(np.float32)
    areas = rng.integers(1, 20, count).astype(np.float64)
    damage = features[:, 0] > 0
    gains = np.where(damage, rng.uniform(0.5, 2.0, count), false_gain * rng.uniform(0.5, 2.0, count))
    return SpeckExamples(features, areas, np.where(damage, areas, 0.0), gains)


def test_the_cut_keeps_the_specks_whose_filling_does_good():
    learn, held_out = specks_whose_first_feature_says(600, 0), specks_whose_first_feature_says(300, 1)
    judge = fit_speck_filter(learn, hidden=8, steps=300)
    cut = choose_speck_cut(judge, held_out)
    with torch.no_grad():
        kept = judge(torch.from_numpy(held_out.features)).numpy() >= 0  # the cut is the filter's own 0 now
    assert cut["kept"] == kept.sum() and abs(cut["gain_kept"] - held_out.gains[kept].sum()) < 1e-6
    assert cut["gain_kept"] > cut["gain_all"] and cut["gain_kept"] > 0.9 * held_out.gains[held_out.is_damage].sum()
    assert cut["damage_pixels_kept"] > 0.9 and cut["false_pixels_kept"] < 0.1


def test_where_filling_any_speck_does_harm_the_cut_keeps_none():
    learn = specks_whose_first_feature_says(300, 2)
    held_out = specks_whose_first_feature_says(200, 3)
    held_out.gains = -np.abs(held_out.gains)
    judge = fit_speck_filter(learn, hidden=8, steps=100)
    cut = choose_speck_cut(judge, held_out)
    with torch.no_grad():
        assert (judge(torch.from_numpy(held_out.features)).numpy() < 0).all()
    assert cut["kept"] == 0 and cut["gain_kept"] == 0
