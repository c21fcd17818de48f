"""Fitting the damage network's mark filter (issue 25)."""

import numpy as np
import torch

from autochrome.engine.networks.marks import MARK_FEATURES
from autochrome.engine.weights import load_damage_net
from autochrome.trainer.mark_training import (MARK_RECIPE, MarkExamples, choose_cut, fit_mark_filter, gather_marks,
                                              joined, photo_pair)
from tests.conftest import write_colour_photos


def test_marks_are_gathered_from_damaged_photos_seeded(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 4, 200, 150)
    net = load_damage_net()
    examples = gather_marks(net, sorted(folder.glob("*.png")), seed=1)
    assert examples.features.shape == (len(examples), MARK_FEATURES) and np.isfinite(examples.features).all()
    assert (examples.damage <= examples.areas).all() and examples.is_damage.any()
    files = sorted(folder.glob("*.png"))
    again = joined([gather_marks(net, files[:3], seed=1), gather_marks(net, files[3:], seed=1, first_index=3)])
    assert np.array_equal(again.features, examples.features)  # seeded by each photo's place: parts join to the whole
    assert np.array_equal(again.damage, examples.damage)


def test_the_photos_from_smooth_from_on_are_learned_from_smoothed_and_parts_still_join(tmp_path):
    files = sorted(write_colour_photos(tmp_path / "photos", 3, 160, 120).glob("*.png"))
    plain, smooth = (photo_pair(files[0], 1, 0, MARK_RECIPE, smooth=flag)[0] for flag in (False, True))
    assert plain.shape == smooth.shape
    detail = [np.abs(np.diff(lightness, axis=1)).mean() for lightness in (plain, smooth)]
    assert detail[1] < 0.5 * detail[0]
    net = load_damage_net()
    whole = gather_marks(net, files, seed=1, smooth_from=2)
    again = joined([gather_marks(net, files[:2], seed=1), gather_marks(net, files[2:], seed=1, first_index=2,
                                                                      smooth_from=2)])
    assert np.array_equal(again.features, whole.features)
    unsmoothed = gather_marks(net, files[2:], seed=1, first_index=2)
    assert not np.array_equal(unsmoothed.features, whole.features[len(whole) - len(unsmoothed):])


def separable(count: int, seed: int) -> MarkExamples:
    """Marks whose first feature says whether they are damage, with noise in the rest."""
    rng = np.random.default_rng(seed)
    features = rng.normal(0, 1, (count, MARK_FEATURES)).astype(np.float32)
    areas = rng.integers(20, 400, count).astype(np.float64)
    damage = np.where(features[:, 0] > 0, areas, 0.0)
    return MarkExamples(features, areas, damage)


def test_the_filter_learns_what_tells_damage_apart_and_its_cut_keeps_the_share_asked_for():
    learn, held_out = separable(600, 0), separable(300, 1)
    marks_filter = fit_mark_filter(learn, hidden=8, steps=300)
    cut = choose_cut(marks_filter, held_out, keep=0.9)
    with torch.no_grad():
        scores = marks_filter(torch.from_numpy(held_out.features)).numpy()
    kept = scores >= 0  # the cut is the filter's own 0 now
    assert held_out.damage[kept].sum() / held_out.damage.sum() >= 0.9
    assert abs(cut["chosen"]["damage_kept"] - held_out.damage[kept].sum() / held_out.damage.sum()) < 1e-9
    false = held_out.areas - held_out.damage
    assert false[kept].sum() / false.sum() < 0.3  # most of the false marks' pixels are judged so
    assert cut["chosen"]["precision"] > cut["precision_before"]


def test_beyond_the_range_it_learned_on_the_filter_answers_as_at_its_edge():
    learn = separable(300, 2)
    marks_filter = fit_mark_filter(learn, hidden=8, steps=50)
    edge = learn.features[:1].copy()
    edge[0, 1] = learn.features[:, 1].max()
    beyond = edge.copy()
    beyond[0, 1] = 1e6  # a mark far longer than any it learned from
    with torch.no_grad():
        assert torch.equal(marks_filter(torch.from_numpy(beyond)), marks_filter(torch.from_numpy(edge)))


def test_an_ensemble_filter_is_the_mean_of_its_members_fitted_from_their_own_seeds_and_its_cut_keeps_the_share():
    learn, held_out = separable(600, 0), separable(300, 1)
    ensemble = fit_mark_filter(learn, hidden=8, steps=100, seed=4, members=3)
    alone = [fit_mark_filter(learn, hidden=8, steps=100, seed=seed) for seed in (4, 5, 6)]
    features = torch.from_numpy(held_out.features)
    with torch.no_grad():
        each = torch.stack([member(features) for member in alone])
        assert torch.allclose(ensemble(features), each.mean(0), atol=1e-5)
        assert not torch.allclose(each[0], each[1])  # the members differ: their first weights did
    choose_cut(ensemble, held_out, keep=0.9)
    with torch.no_grad():
        kept = ensemble(features).numpy() >= 0
    assert held_out.damage[kept].sum() / held_out.damage.sum() >= 0.9
