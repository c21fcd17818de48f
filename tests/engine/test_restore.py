"""Restoring before colorizing (issue 25): the shipped damage network finds a scratch and the
fill removes it; a clean photo is left alone; strokes add and erase; sidecars round-trip."""

import json

import numpy as np
import pytest

from autochrome.engine import sidecar
from autochrome.engine.edit import EditError, PhotoEdit, RestoreEdit, Stroke
from autochrome.engine.restore import damage_mask, damage_masks, damage_probability, fill
from autochrome.engine.weights import load_damage_net, shipped_damage_path
from tests.conftest import gradient_grey


@pytest.fixture(scope="module")
def net():
    return load_damage_net()


def scratched(width=240, height=160, seed=0):
    """A grey photo-like picture with a bright one-pixel scratch and a dark two-pixel one, both
    running along the film as most film scratches do (the shipped network finds a long dark line
    across the film only about half the time: a limit the model card states)."""
    clean = (gradient_grey(width, height, seed) * 60 + 20).astype(np.float32)
    damaged = clean.copy()
    damaged[20:140, 60] = 97.0
    damaged[30:150, 160:162] = 4.0
    truth = np.zeros_like(clean, bool)
    truth[20:140, 60] = True
    truth[30:150, 160:162] = True
    return clean, damaged, truth


def test_the_shipped_damage_network_is_small_and_loads():
    assert shipped_damage_path().is_file() and shipped_damage_path().stat().st_size < 8 * 2**20


def test_a_scratch_on_a_flat_photo_is_found_and_filled(net):
    clean, damaged, truth = scratched()
    mask = damage_mask(damage_probability(damaged, net), RestoreEdit(True))
    found = np.logical_and(mask, truth).sum() / truth.sum()
    false = np.logical_and(mask, ~truth).sum() / (~truth).sum()
    assert found > 0.8 and false < 0.01, (found, false)
    restored = fill(damaged, mask)
    assert np.abs(restored - clean)[truth].mean() < 3.0  # the scratch is gone
    assert np.array_equal(restored[~mask], damaged[~mask])  # nothing outside the mask changed


def test_a_clean_photo_is_left_alone(net):
    clean, _, _ = scratched(seed=3)
    mask = damage_mask(damage_probability(clean, net), RestoreEdit(True))
    restored = fill(clean, mask)
    assert mask.mean() < 0.01 and np.abs(restored - clean).mean() < 0.1


def test_an_erase_stroke_keeps_its_region_untouched_and_an_add_stroke_fills(net):
    clean, damaged, truth = scratched()
    probability = damage_probability(damaged, net)
    erase = Stroke(((60.0, 10.0), (60.0, 150.0)), radius=4.0, add=False)
    mask = damage_mask(probability, RestoreEdit(True, strokes=(erase,)))
    assert not mask[:, 56:65].any() and mask[40:140, 160:162].mean() > 0.8
    restored = fill(damaged, mask)
    assert np.array_equal(restored[:, 56:65], damaged[:, 56:65])
    smudge = np.zeros_like(clean, bool)
    smudge[30:40, 190:200] = True
    stained = np.where(smudge, damaged + 12, damaged)
    add = Stroke(((194.5, 34.5),), radius=8.0, add=True)
    added = damage_mask(damage_probability(stained, net), RestoreEdit(True, strokes=(add,)))
    assert added[smudge].all()
    assert np.abs(fill(stained, added) - clean)[smudge].mean() < np.abs(stained - clean)[smudge].mean() / 2


def test_the_restore_edit_round_trips_through_the_sidecar_and_bad_ones_are_refused(tmp_path):
    photo = tmp_path / "scan.png"
    photo.write_bytes(b"")
    restore = RestoreEdit(True, 0.7, (Stroke(((1.5, 2.0), (30.0, 40.25)), 5.0, True),
                                      Stroke(((10.0, 10.0),), 3.0, False)))
    written = sidecar.write(photo, PhotoEdit(restore=restore))
    read = sidecar.read(written, (100, 100))
    assert read.restore == restore
    document = json.loads(written.read_text())
    assert document["restore"]["strokes"][1] == {"add": False, "radius": 3.0, "points": [[10.0, 10.0]]}
    for bad, reason in (({"strength": 3}, "strength"), ({"strokes": [{"points": [[1, "x"]]}]}, "stroke 1"),
                        ({"strokes": [{"points": [[500, 5]], "radius": 4}]}, "outside"), ([1], "expected"),
                        ({"enabled": "yes"}, "true or false")):
        written.write_text(json.dumps({"hints": [], "restore": bad}))
        with pytest.raises(sidecar.SidecarError, match=reason):
            sidecar.read(written, (100, 100))
    with pytest.raises(EditError):
        RestoreEdit(True, strength=float("nan"))


def test_a_brush_stroke_wider_than_a_missed_scratch_removes_it(net):
    """The user's stroke covers the scratch and the photo either side of it: the fill must not
    keep the scratch as the marked pixels' own detail."""
    clean, _, _ = scratched(seed=5)
    faint = clean.copy()
    faint[100, 40:200] += 8.0  # faint and across the film: the network misses most of it
    stroke = Stroke(((40.0, 100.0), (200.0, 100.0)), radius=4.0, add=True)
    edit = RestoreEdit(True, strokes=(stroke,))
    probability = damage_probability(faint, net)
    mask, marked = damage_masks(probability, edit)
    assert marked is not None and marked[96:105, 45:195].all()
    restored = fill(faint, mask, marked=marked)
    bias_on_the_line = lambda rebuilt: float((rebuilt[100, 45:195] - clean[100, 45:195]).mean())  # noqa: E731
    assert abs(bias_on_the_line(restored)) < 1.5  # new grain differs pixel by pixel; the +8 line is gone
    unmarked = fill(faint, mask)  # what the fill did when it kept the stroke's own detail
    assert bias_on_the_line(unmarked) > 4.0


def test_a_stroke_refills_only_what_it_touches_and_gives_what_a_whole_fill_gives(net):
    """The preview of a stroke reuses the last fill of the photo (FillCache): the tiles whose
    surroundings did not change are kept, and the result equals a fill from scratch."""
    from autochrome.engine.restore import FillCache

    _, damaged, _ = scratched(width=640, height=400)
    probability = damage_probability(damaged, net)
    cache = FillCache()
    edit = RestoreEdit(True)
    for stroke in (Stroke(((300.0, 50.0), (340.0, 90.0)), 5.0, True), Stroke(((60.0, 0.0), (60.0, 399.0)), 4.0, False),
                   Stroke(((500.0, 300.0),), 9.0, True), Stroke(((500.0, 300.0),), 12.0, False)):
        edit = edit.with_stroke(stroke)
        mask, marked = damage_masks(probability, edit)
        reused = fill(damaged, mask, marked=marked, cache=cache)
        assert np.array_equal(reused, fill(damaged, mask, marked=marked))


def test_a_preview_is_restored_as_the_full_photo_is_with_no_full_size_work_per_stroke(net):
    from autochrome.engine.restore import FillCache, mask_at, restored_view

    _, damaged, _ = scratched(width=640, height=400)
    probability = damage_probability(damaged, net)
    small = np.ascontiguousarray(damaged[::2, ::2])
    cache = FillCache()
    edit = RestoreEdit(True).with_stroke(Stroke(((300.0, 50.0), (340.0, 90.0)), 6.0, True))
    _, overlay = restored_view(small, probability, edit, 4096, cache)
    expected = mask_at(damage_mask(probability, edit), small.shape)
    assert overlay.shape == small.shape
    assert np.logical_and(overlay, expected).sum() / np.logical_or(overlay, expected).sum() > 0.85
    found = cache.found[3]
    restored_view(small, probability, edit.with_stroke(Stroke(((500.0, 300.0),), 9.0, True)), 4096, cache)
    assert cache.found[3] is found  # the found mask is brought down once per strength
    stronger = RestoreEdit(True, strength=0.9, strokes=edit.strokes)
    restored_view(small, probability, stronger, 4096, cache)
    assert cache.found[3] is not found and cache.found[3].sum() >= found.sum()
    full, full_overlay = restored_view(damaged, probability, edit, 320, None)
    assert full.shape == damaged.shape and max(full_overlay.shape) == 320


def test_a_faint_stretch_joined_to_sure_damage_is_found_and_a_lone_faint_mark_is_not():
    from autochrome.engine.restore import found_damage

    chance = np.full((60, 80), 0.1, np.float16)
    chance[5:55, 20] = 0.6  # a scratch the network is unsure of along most of its length...
    chance[30:34, 20] = 0.99  # ...and sure of in one place
    chance[10:14, 60:64] = 0.7  # a faint mark on its own: the photo's texture, most likely
    found = found_damage(chance, 0.5)
    assert found[5:55, 20].all() and not found[10:14, 60:64].any() and found.sum() == 50
    assert found_damage(chance, 0.65)[30:34, 20].all() and not found_damage(chance, 0.65)[5:25, 20].any()
    assert not found_damage(np.zeros((5, 5), np.float16), 0.5).any()


def test_the_fast_threshold_on_float16_chances_is_the_plain_comparison():
    from autochrome.engine.networks.marks import at_least

    chances = np.random.default_rng(0).random(50_000).astype(np.float16)
    chances[:4] = [0.0, 1.0, 0.5, 0.95]
    for value in (0.0, 0.3, 0.5, 0.95, 0.9501, 0.123456, 1.0):
        assert np.array_equal(at_least(chances, value), chances >= value)


def test_filter_planes_written_into_a_used_room_are_those_of_a_fresh_one():
    """A band's room is reused band after band (and a last, shorter band takes part of it): what
    an earlier band left there must not show through."""
    from autochrome.engine.networks.damage import LOCAL_CHANNELS, local_planes

    _, damaged, _ = scratched()
    room = np.full((LOCAL_CHANNELS,) + damaged.shape, 1e9, np.float32)
    written = local_planes(damaged[:97], room[:, :97])
    assert np.shares_memory(written, room)
    assert np.array_equal(written, local_planes(damaged[:97]))
    assert np.array_equal(local_planes(damaged, room), local_planes(damaged.copy()))


def test_the_note_says_how_much_was_filled_or_that_nothing_was_and_what_to_do():
    from autochrome.engine.restore import restore_note

    mask = np.zeros((100, 100), bool)
    assert "no damage found at strength 50 %" in restore_note(mask, RestoreEdit(True))
    assert "higher strength" in restore_note(mask, RestoreEdit(True, 0.7))
    mask[0, :3] = True
    assert restore_note(mask, RestoreEdit(True)) == "restored: 0.03 % of its pixels filled"
