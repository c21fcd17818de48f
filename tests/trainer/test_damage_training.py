"""The damage simulator and the damage network's training (issue 25)."""

import cv2
import numpy as np
import pytest
import torch

from autochrome.engine.image_io import load_image
from autochrome.engine.networks.damage import DamageConfig, DamageNet
from autochrome.trainer.damage import MASK_THRESHOLD, DamageRecipe, nuisance_only, simulate_damage
from autochrome.trainer.damage_training import DamageTrainer, PhotoCrops, calibrate_operating_point, turned_by
from autochrome.trainer.training import TrainSettings
from tests.conftest import gradient_grey, write_colour_photos


def _clean(width=200, height=150, seed=0):
    return (gradient_grey(width, height, seed) * 70 + 15).astype(np.float32)


def test_the_mask_is_exactly_where_the_damage_moved_the_lightness_and_it_is_seeded():
    clean = _clean()
    no_texture = DamageRecipe(grain=0.0, halftone=0.0, fading=0.0, clean=0.0)
    damaged, mask = simulate_damage(clean, 3, no_texture)
    moved = np.abs(damaged - clean)
    assert mask.any() and (moved[mask] >= MASK_THRESHOLD - 1e-4).all() and (moved[~mask] < MASK_THRESHOLD).all()
    again, same = simulate_damage(clean, 3, no_texture)
    assert np.array_equal(again, damaged) and np.array_equal(same, mask)
    assert not np.array_equal(simulate_damage(clean, 4, no_texture)[1], mask)


def test_grain_halftone_and_fading_change_the_photo_but_never_enter_the_mask():
    clean = _clean()
    textured = nuisance_only(clean, 5, DamageRecipe(grain=1.0, halftone=1.0, fading=1.0))
    assert np.abs(textured - clean).mean() > 1.0
    kinds = [simulate_damage(clean, seed, DamageRecipe(grain=1.0, halftone=1.0, fading=1.0, clean=1.0))[1]
             for seed in range(5)]
    assert not any(mask.any() for mask in kinds)


def test_a_few_training_steps_resume_and_the_operating_point_moves_the_bias(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 4, 240, 200)
    torch.manual_seed(0)
    net = DamageNet(DamageConfig())
    settings = TrainSettings(stage1_steps=6, batch_size=2, learning_rate=3e-3, warmup_steps=0, checkpoint_every=3)
    trainer = DamageTrainer(net, PhotoCrops(folder), settings, tmp_path / "damage.ckpt")
    losses = [record.losses["mask"] for record in trainer.run()]
    assert len(losses) == 6 and all(np.isfinite(losses))
    resumed = DamageTrainer(DamageNet(DamageConfig()), PhotoCrops(folder), settings, tmp_path / "damage.ckpt")
    assert resumed.step == 6
    before = float(net.head[2].bias.detach())
    calibration = calibrate_operating_point(net, sorted(folder.glob("*.png"))[:2])
    chosen = calibration["threshold"]
    assert chosen in [row["threshold"] for row in calibration["table"]]
    assert abs(float(net.head[2].bias.detach()) - (before - np.log(chosen / (1 - chosen)))) < 1e-5


def test_turned_crops_keep_their_mask_on_their_damage_and_the_unturned_crop_is_the_old_one(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 3, 240, 200)
    plain, turned = PhotoCrops(folder, seed=2), PhotoCrops(folder, seed=2, turned=True)
    turns = set()
    for index in range(12):
        damaged, mask = plain.sample(index)
        turned_damaged, turned_mask = turned.sample(index)
        matches = [turn for turn in range(8) if np.array_equal(turned_by(damaged, turn), turned_damaged)]
        assert len(matches) >= 1  # the same crop and damage, turned (a symmetric crop may match several)
        assert any(np.array_equal(turned_by(mask, turn), turned_mask) for turn in matches)
        turns.add(matches[0])
    assert len(turns) >= 4  # turns of every kind are drawn, not one


def test_the_eight_turns_are_the_square_s_symmetries():
    plane = np.arange(12, dtype=np.float32).reshape(3, 4)
    shapes = {turned_by(plane, turn).shape for turn in range(8)}
    assert shapes == {(3, 4), (4, 3)}
    assert len({turned_by(plane, turn).tobytes() + bytes(turned_by(plane, turn).shape) for turn in range(8)}) == 8
    assert np.array_equal(turned_by(plane, 1), np.rot90(plane)) and np.array_equal(turned_by(plane, 4), plane[:, ::-1])


def test_a_crop_of_a_larger_photo_gets_that_photos_stains_not_specks_the_crops_size():
    flat = np.full((192, 192), 50.0, np.float32)
    stains_only = DamageRecipe(scratches=0.0, dust=0.0, cracks=0.0, folds=0.0, stains=1.0, grain=0.0, halftone=0.0,
                               fading=0.0, clean=0.0)

    def stains(extent):
        """(share of the pixels stained, mean area of one stain) over many crops"""
        masks = [simulate_damage(flat, seed, stains_only, extent=extent)[1] for seed in range(200)]
        areas = [area for mask in masks for area in cv2.connectedComponentsWithStats(mask.astype(np.uint8))[2][1:, 4]]
        return np.mean(masks), np.mean(areas)

    (share_on_crop, area_on_crop), (share_on_scan, area_on_scan) = stains(None), stains(1600)
    assert area_on_scan > 4 * area_on_crop > 0  # larger stains, so fewer crops have any...
    assert abs(share_on_scan - share_on_crop) < 0.3 * share_on_crop  # ...and as much of the photo stained
    # A whole photo is drawn as it always was: the bench's seeded damage stays comparable.
    whole = simulate_damage(flat, 3, stains_only)
    assert all(np.array_equal(a, b) for a, b in zip(whole, simulate_damage(flat, 3, stains_only, extent=192)))


@pytest.mark.parametrize("version", [2, 3])
def test_the_app_finds_damage_band_by_band_exactly_as_training_scores_the_whole_photo(version):
    """Parity: the restore step's inference (bands of rows, the head a few rows at a time, reused
    buffers, OpenCV's resize of the context) against the training path on the same photo, for
    the shipped network's version and the newer one."""
    from autochrome.engine.restore import BAND_ROWS, damage_probability
    from autochrome.trainer.damage_training import batch_tensors, damage_logits

    torch.manual_seed(3)
    net = DamageNet(DamageConfig(hidden=6, version=version)).eval()
    clean = _clean(width=333, height=2 * BAND_ROWS + 91, seed=2)
    damaged, mask = simulate_damage(clean, 8, DamageRecipe(grain=1.0, clean=0.0))
    with torch.no_grad():
        expected = torch.sigmoid(damage_logits(net, *batch_tensors([(damaged, mask)], net.config.version)[:3]))[0, 0].numpy()
    found = damage_probability(damaged, net).astype(np.float32)
    assert found.shape == damaged.shape
    assert np.abs(found - expected).max() < 1e-3  # float16 storage (too narrow a band margin: 2e-3 at the seams)


def test_the_simulator_says_which_kind_of_damage_moved_each_pixel_without_changing_the_damage():
    from autochrome.trainer.damage import KINDS

    clean = _clean()
    every_kind = DamageRecipe(scratches=1.0, dust=1.0, cracks=1.0, folds=1.0, stains=1.0, grain=0.0, halftone=0.0,
                              fading=0.0, clean=0.0)
    drawn = {}
    damaged, mask = simulate_damage(clean, 11, every_kind, kinds=drawn)
    plain = simulate_damage(clean, 11, every_kind)
    assert np.array_equal(plain[0], damaged) and np.array_equal(plain[1], mask)
    assert set(drawn) == set(KINDS) and all(where.any() for where in drawn.values())
    assert np.logical_or.reduce(list(drawn.values()))[mask].mean() > 0.95  # the mask is the kinds' doing


def test_faint_damage_moves_the_lightness_less_and_marks_only_what_it_still_moves_by_the_threshold():
    clean = _clean()
    loud = DamageRecipe(grain=0.0, halftone=0.0, fading=0.0, clean=0.0)
    damaged, mask = simulate_damage(clean, 5, loud)
    faint_damaged, faint_mask = simulate_damage(clean, 5, DamageRecipe(**{**loud.__dict__, "faint": 1.0}))
    assert np.abs(faint_damaged - clean).max() < np.abs(damaged - clean).max()
    assert faint_mask.sum() <= mask.sum() and not (faint_mask & ~mask).any()
    faint = DamageRecipe(**{**loud.__dict__, "faint": 1.0})
    assert sum(simulate_damage(clean, seed, faint)[1].sum() for seed in range(6)) < \
        sum(simulate_damage(clean, seed, loud)[1].sum() for seed in range(6))  # the faintest edges drop out
    moved = np.abs(faint_damaged - clean)
    assert (moved[faint_mask] >= MASK_THRESHOLD - 1e-4).all() and (moved[~faint_mask] < MASK_THRESHOLD).all()


def test_soft_damage_has_gentler_edges_and_its_mask_is_what_it_moves_by_the_threshold():
    from autochrome.trainer.damage import KINDS

    flat = np.full((160, 160), 50.0, np.float32)  # no photo edges: every edge is the damage's
    sharp = DamageRecipe(grain=0.0, halftone=0.0, fading=0.0, clean=0.0)
    soft = DamageRecipe(**{**sharp.__dict__, "soft": 1.0})
    assert all(np.array_equal(a, b) for a, b in zip(simulate_damage(flat, 5, sharp),
                                                    simulate_damage(flat, 5, DamageRecipe(**{**sharp.__dict__, "soft": 0.0}))))

    def steepest(photo):
        return max(np.abs(np.diff(photo, axis=0)).max(), np.abs(np.diff(photo, axis=1)).max())

    kinds = {}
    soft_damaged, soft_mask = simulate_damage(flat, 5, soft, kinds=kinds)
    assert steepest(soft_damaged) < 0.8 * steepest(simulate_damage(flat, 5, sharp)[0])
    moved = np.abs(soft_damaged - flat)
    assert (moved[soft_mask] >= MASK_THRESHOLD - 1e-4).all() and (moved[~soft_mask] < MASK_THRESHOLD).all()
    assert set(kinds) <= set(KINDS) and not (np.logical_or.reduce(list(kinds.values())) & ~soft_mask).any()


def test_a_version_3_network_sees_a_blotch_too_wide_for_version_2s_filters_and_keeps_their_layout():
    from autochrome.engine.networks.damage import context_features, context_lightness, local_planes, pool_features

    photo = np.full((400, 400), 60.0, np.float32)
    photo[172:228, 172:228] -= 20.0  # a stain 56 px across: 14 cells at the context's quarter size
    small = context_lightness(photo)
    pooled = pool_features(local_planes(photo))
    older, newer = context_features(small, pooled, 2), context_features(small, pooled, 3)
    assert older.shape[-1] == DamageConfig(version=2).pooled_channels
    assert newer.shape[-1] == DamageConfig(version=3).pooled_channels == older.shape[-1] + 2
    wide = older.shape[-1] - 2  # the 36 px hats come before the two line channels
    assert np.array_equal(newer[..., :wide], older[..., :wide])  # a version 2 file's weights still read the same
    assert np.array_equal(newer[..., -2:], older[..., -2:])
    centre = (50, 50)
    assert abs(older[centre][wide - 1]) < 1e-6  # the 9-cell black-hat misses the stain's middle...
    assert newer[centre][wide + 1] > 0.5  # ...the 17-cell one sees it: 20 L, as the full-size filters scale it


def test_a_new_part_is_added_blank_to_a_trained_network_whose_weights_and_provenance_stay(tmp_path):
    from autochrome.engine.weights import load_damage_net, save_damage_net
    from autochrome.trainer.damage_training import with_new_part

    shipped = load_damage_net()
    save_damage_net(tmp_path / "base.safetensors", shipped, {"note": "the base"})
    net, provenance = with_new_part(tmp_path / "base.safetensors", stains=8)
    assert net.stains is not None and provenance == {"note": "the base"}
    kept = net.state_dict()
    assert all(torch.equal(value, kept[key]) for key, value in shipped.state_dict().items())


def test_the_base_of_a_fitted_network_is_the_network_it_was_fitted_to(tmp_path):
    from autochrome.engine.weights import save_damage_net
    from autochrome.trainer.damage_training import base_of, move_operating_point, with_new_part

    torch.manual_seed(0)
    base = DamageNet(DamageConfig(hidden=4, lines=4, context_channels=4))
    save_damage_net(tmp_path / "base.safetensors", base, {})
    fitted, _ = with_new_part(tmp_path / "base.safetensors", marks=8, specks=4)
    move_operating_point(fitted, 0.3)
    save_damage_net(tmp_path / "fitted.safetensors", fitted,
                    {"mark_filter": {"operating_chance_of_base": 0.3}})
    recovered = base_of(tmp_path / "fitted.safetensors")
    assert recovered.marks is None and recovered.stains is None and recovered.specks is None
    original = base.state_dict()
    assert set(recovered.state_dict()) == set(original)
    for key, value in recovered.state_dict().items():
        assert torch.allclose(value, original[key], atol=1e-6), key
    assert not torch.allclose(fitted.head[2].bias, base.head[2].bias)  # the move was undone, not absent


def test_a_widened_network_gives_the_same_chances_and_its_new_channels_learn():
    from autochrome.engine.restore import damage_probability
    from autochrome.trainer.damage_training import widened

    torch.manual_seed(4)
    net = DamageNet(DamageConfig(hidden=6, lines=4, context_channels=4)).eval()
    wide = widened(net, lines=7, hidden=9).eval()
    assert wide.config.lines == 7 and wide.config.hidden == 9
    assert wide.lines[0].weight.shape[0] == 7 and wide.head[0].weight.shape[0] == 9
    damaged, mask = simulate_damage(_clean(seed=5), 9, DamageRecipe(clean=0.0))
    before = damage_probability(damaged, net).astype(np.float32)
    assert np.abs(damage_probability(damaged, wide).astype(np.float32) - before).max() < 1e-3
    # the new channels are read by zeros but are alive: a step of training gives those zeros a gradient
    from autochrome.trainer.damage_training import batch_tensors, damage_logits, mask_loss

    small, local, pooled, target = batch_tensors([(damaged, mask)], wide.config.version)[:4]
    mask_loss(damage_logits(wide.train(), small, local, pooled), target).backward()
    assert wide.head[2].weight.grad[:, 6:].abs().sum() > 0
    assert wide.lines[2].weight.grad[:, 4:].abs().sum() > 0


def test_symmetric_training_keeps_the_layers_over_the_filters_the_same_turned(tmp_path):
    from autochrome.engine.networks.damage import context_features, context_lightness, local_planes, pool_features

    folder = write_colour_photos(tmp_path / "photos", 3, 240, 200)
    torch.manual_seed(0)
    net = DamageNet(DamageConfig(hidden=4, lines=4, context_channels=4))
    settings = TrainSettings(stage1_steps=2, batch_size=2, learning_rate=3e-2, warmup_steps=0, checkpoint_every=10)
    list(DamageTrainer(net, PhotoCrops(folder, turned=True), settings, symmetric=True).run())
    for layer in (*net.decoder, *net.lines):
        if isinstance(layer, torch.nn.Conv2d) and layer.kernel_size[0] > 1:
            assert torch.allclose(layer.weight, layer.weight.transpose(-1, -2))
    photo = gradient_grey(96, 96) * 100.0
    photo[:, 40:42] += 20.0  # a vertical scratch, and the same photo turned: a horizontal one
    answers = []
    for lightness in (photo, np.ascontiguousarray(photo.T)):
        pooled = context_features(context_lightness(lightness), pool_features(local_planes(lightness)), 3)
        seen = torch.zeros((1, net.config.context_channels, *pooled.shape[:2]))  # the ImageNet stages left out
        with torch.no_grad():
            answers.append(net.lines(torch.cat([torch.from_numpy(pooled).permute(2, 0, 1)[None], seen], 1))[0])
    assert torch.allclose(answers[0], answers[1].transpose(1, 2), atol=1e-5)


def test_hard_photos_are_drawn_for_their_share_of_the_crops_at_their_own_size(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 3, 240, 200)
    board = np.where((np.indices((230, 250)).sum(axis=0) % 2) == 0, 40, 200).astype(np.uint8)
    hard = tmp_path / "hard.png"
    cv2.imwrite(str(hard), board)
    levels = np.unique(load_image(hard).lightness)
    undamaged = DamageRecipe(grain=0.0, halftone=0.0, fading=0.0, clean=1.0)

    def from_hard(crops, index):
        # a one-pixel checkerboard keeps exactly its two levels only when cut at its own size
        return bool(np.isin(crops.sample(index)[0], levels).all())

    always = PhotoCrops(folder, seed=1, recipe=undamaged, hard=[hard], hard_share=1.0)
    assert all(from_hard(always, index) for index in range(6))
    half = PhotoCrops(folder, seed=1, recipe=undamaged, hard=[hard], hard_share=0.5)
    drawn = [from_hard(half, index) for index in range(16)]
    assert 0 < sum(drawn) < 16
    assert not any(from_hard(PhotoCrops(folder, seed=1, recipe=undamaged), index) for index in range(6))


def test_film_transport_scratches_run_exactly_along_a_side_and_only_when_asked_for():
    import cv2

    flat = np.full((240, 320), 50.0, np.float32)
    only_film_lines = DamageRecipe(scratches=0.0, dust=0.0, cracks=0.0, folds=0.0, stains=0.0, grain=0.0, halftone=0.0,
                                   fading=0.0, clean=0.0, aligned=1.0)
    for seed in range(6):
        drawn = {}
        _, mask = simulate_damage(flat, seed, only_film_lines, kinds=drawn)
        lines = mask & ~drawn["dust"]  # with no kind drawn, the simulator always adds dust
        assert lines.any() and np.array_equal(lines, drawn["scratches"] & ~drawn["dust"])
        count, _, stats, _ = cv2.connectedComponentsWithStats(lines.view(np.uint8), connectivity=8)
        for left, top, width, height, _ in stats[1:]:
            if width * height > 16:  # a line, not the dust around it
                assert min(width, height) <= 5 and max(width, height) >= 0.3 * 240 - 2
    plain = DamageRecipe(faint=0.2)
    assert plain.aligned == 0.0  # the recipes every network so far learned from draw none


def test_frame_lines_are_painted_edge_to_edge_as_the_photo_s_own_never_in_the_mask(tmp_path):
    folder = write_colour_photos(tmp_path / "photos", 3, 240, 200)
    undamaged = DamageRecipe(clean=1.0, grain=0.0, halftone=0.0, fading=0.0)
    plain = [PhotoCrops(folder, seed=1, recipe=undamaged).sample(i) for i in range(4)]
    framed_crops = [PhotoCrops(folder, seed=1, recipe=DamageRecipe(**{**undamaged.__dict__, "frames": 1.0})).sample(i)
                    for i in range(4)]
    for (before, _), (after, mask) in zip(plain, framed_crops):
        assert not mask.any()  # a frame is the photo's own
        flat_rows = [(row.max() - row.min()) < 1e-4 and (row[0] >= 92 or row[0] <= 8) for row in after]
        flat_cols = [(col.max() - col.min()) < 1e-4 and (col[0] >= 92 or col[0] <= 8) for col in after.T]
        assert any(flat_rows) or any(flat_cols)  # a line edge to edge, one flat value
        assert not np.array_equal(before, after)
