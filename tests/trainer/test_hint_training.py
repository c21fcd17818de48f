"""Training the hint-taking models: simulated hints, the classifier's targets, cached features."""

import numpy as np
import pytest
import torch
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine import color
from autochrome.engine.networks.ab_classes import annealed_mean, in_gamut_ab_bins
from autochrome.engine.weights import load_generator
from autochrome.trainer.colour_classes import rebalance_class_weights, soft_targets
from autochrome.trainer.feature_cache import VIEWS_PER_PHOTO, FeatureCache
from autochrome.trainer.hint_simulation import HintPolicy, simulate_hints
from autochrome.trainer.session import ALL_BINS


def test_the_ab_bins_cover_the_srgb_gamut():
    centres = in_gamut_ab_bins()
    assert len(centres) == ALL_BINS  # the presets' classifier size
    assert np.all(centres % 10 == 0)
    assert [0.0, 0.0] in centres.tolist() and [80.0, 70.0] in centres.tolist()  # grey and an sRGB red
    assert [-100.0, -100.0] not in centres.tolist()  # no sRGB colour is that blue-green


def test_simulated_hints_carry_the_patch_mean_and_some_photos_get_none():
    torch.manual_seed(0)
    ab = torch.rand(64, 2, 32, 32) * 2 - 1
    hints = simulate_hints(ab, HintPolicy(no_hint_share=0.5), torch.Generator().manual_seed(1))
    mask = hints[:, 2]
    without = (mask.flatten(1).sum(1) == 0).float().mean()
    assert 0.3 < without < 0.7
    assert torch.all(hints[:, :2] * (1 - mask[:, None]) == 0)  # colour only where the mask is
    n, y, x = (mask > 0).nonzero()[0].tolist()
    assert hints[n, :2, y, x].abs().sum() > 0
    always = simulate_hints(ab, HintPolicy(no_hint_share=0.0, geometric_p=1.0), torch.Generator().manual_seed(2))
    counts = always[:, 2].flatten(1).sum(1)
    assert torch.all((counts >= 1) & (counts <= 81))  # exactly one patch of 1 to 9 px a side


def test_soft_targets_peak_at_the_true_colour_and_rare_colours_weigh_more():
    centres = torch.tensor(in_gamut_ab_bins())
    ab = color.normalize_ab(torch.tensor([[20.0, -30.0]]).view(1, 2, 1, 1))
    target, nearest = soft_targets(ab, centres)
    assert target.sum() == pytest.approx(1.0)
    assert centres[nearest.item()].tolist() == [20.0, -30.0]
    decoded = color.denormalize_ab(annealed_mean(torch.log(target + 1e-9), centres, 1.0))
    assert decoded.flatten().tolist() == pytest.approx([20.0, -30.0], abs=1.0)
    prior = np.zeros(len(centres))
    prior[nearest.item()] = 0.9
    prior[0] = 0.1
    weights = rebalance_class_weights(prior, centres.numpy())
    assert weights[0] > weights[nearest.item()]


def _photos(tmp_path, count=6, side=80):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(count):
        base = rng.random(3) * 255
        rgb = np.clip(base + rng.normal(0, 30, (side, side, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / f"p{index}.png")
    return folder


@pytest.mark.parametrize("arch", ["hints-lite0-classes", "hints-lite2-l1"])
def test_end_to_end_training_with_simulated_hints_runs_a_few_steps(tmp_path, arch):
    data = _photos(tmp_path)
    out = tmp_path / "model.safetensors"
    assert main(["train", str(data), "--out", str(out), "--arch", arch, "--encoder-init", "scratch",
                 "--stage1-steps", "2", "--batch-size", "2", "--crop", "64", "--square", "72", "--device", "cpu"]) == 0
    model, info = load_generator(out)
    assert info.config.hint_input and info.provenance["steps"] == 2
    if info.config.ab_classes:
        assert model.ab_centres.abs().sum() > 0  # the bins travel inside the file


def test_decoder_training_on_cached_features_builds_resumes_and_exports(tmp_path, capsys):
    data = _photos(tmp_path)
    out, cache = tmp_path / "cached.safetensors", tmp_path / "cache"
    args = ["train", str(data), "--out", str(out), "--arch", "hints-lite0-classes", "--encoder-init", "scratch",
            "--feature-cache", str(cache), "--stage1-steps", "3", "--batch-size", "4", "--crop", "64",
            "--device", "cpu", "--checkpoint-every", "1", "--calibrate", "--calibrate-share", "0.8", "--calibrate-knob", "temperature"]
    assert main(args) == 0, capsys.readouterr().err
    built = FeatureCache(cache)
    assert built.complete and len(built) == 6 * VIEWS_PER_PHOTO
    assert built.taps[0].shape[1:] == (24, 16, 16)  # stride 4 of a 64 px view
    model, info = load_generator(out)
    assert info.provenance["frozen_encoder"] and "temperature" in info.provenance["calibration"]
    # A second run reuses the cache (it would refuse one built for another encoder).
    other = ["train", str(data), "--out", str(tmp_path / "o.safetensors"), "--arch", "hints-lite2-l1",
             "--encoder-init", "scratch", "--feature-cache", str(cache), "--stage1-steps", "1", "--crop", "64",
             "--device", "cpu"]
    assert main(other) == 2 and "another encoder" in capsys.readouterr().err


def test_cached_training_can_teach_the_encoders_last_stage_and_judge_colour_adversarially(tmp_path, capsys):
    """The encoder's stride-32 stage learns from the cached stride-16 features (the stages
    before it stay as they were), and a PatchGAN's verdict joins the colour loss after its
    warm-up; the run resumes from its checkpoint, discriminator included."""
    data = _photos(tmp_path)
    out, cache, log = tmp_path / "live.safetensors", tmp_path / "cache", tmp_path / "live.csv"
    args = ["train", str(data), "--out", str(out), "--arch", "hints-lite0-classes", "--encoder-init", "scratch",
            "--feature-cache", str(cache), "--batch-size", "4", "--crop", "64", "--device", "cpu",
            "--live-encoder-stages", "1", "--adversarial", "0.1", "--d-warmup", "1", "--log", str(log),
            "--log-every", "1", "--lr", "1e-2"]
    assert main(args + ["--stage1-steps", "2"]) == 0, capsys.readouterr().err
    assert main(args + ["--stage1-steps", "4", "--resume"]) == 0, capsys.readouterr().err
    rows = log.read_text().splitlines()
    assert rows[0].startswith("step") and len(rows) == 5
    assert rows[1].split(",")[6] == "" and float(rows[-1].split(",")[6]) > 0  # loss_gan once D has warmed up
    torch.manual_seed(0)  # the scratch encoder the run started from
    from autochrome.trainer.session import PRESET_CONFIGS, build_initialised_generator

    start = build_initialised_generator(PRESET_CONFIGS["hints-lite0-classes"], "scratch").encoder.state_dict()
    trained = load_generator(out)[0].encoder
    last_stage = trained.taps[3] + 1
    changed = {name.split(".")[1] for name, value in trained.state_dict().items()
               if name.startswith("_blocks.") and not torch.equal(value.float(), start[name].half().float())}
    assert changed and min(int(index) for index in changed) >= last_stage
    assert main(["train", str(data), "--out", str(tmp_path / "x.safetensors"), "--live-encoder-stages", "1",
                 "--stage1-steps", "1", "--device", "cpu"]) == 2
    assert "--feature-cache" in capsys.readouterr().err


def test_the_segment_trained_affinity_head_runs_on_the_trainers_one_loop(tmp_path, monkeypatch):
    """Issue 27 (structure): the shipped head came from a hand-written loop without checkpoints
    or the finite-loss check; it now resumes exactly and a diverging loss stops it."""
    from autochrome.engine.networks import build_generator
    from autochrome.engine.networks.affinity import AffinityConfig, AffinityHead
    from autochrome.trainer.affinity_segments import SegmentAffinityTrainer, encode_segmented_photo
    from autochrome.trainer.training import TrainSettings
    from tests.conftest import TINY_HINTED

    torch.manual_seed(0)
    encoder = build_generator(TINY_HINTED).encoder.eval()
    rng = np.random.default_rng(0)
    items = []
    for _ in range(3):
        segmentation = np.zeros((48, 64), np.float32)
        segmentation[:, 32:] = 1
        items += encode_segmented_photo(rng.random((48, 64, 3)).astype(np.float32), [segmentation], encoder)
    config = AffinityConfig(TINY_HINTED.encoder, tuple(encoder.channels[t] for t in (1, 2, 3)), width=8)
    settings = TrainSettings(stage1_steps=4, batch_size=2, learning_rate=1e-2, warmup_steps=0, checkpoint_every=2)

    def trainer(checkpoint=None):
        torch.manual_seed(1)
        return SegmentAffinityTrainer(AffinityHead(config), items, settings, "coarsest", seed=3, checkpoint=checkpoint)

    whole = trainer()
    assert [record.step for record in whole.run()] == [1, 2, 3, 4]
    checkpoint = tmp_path / "head.ckpt"
    for record in trainer(checkpoint).run():
        if record.step == 3:
            break  # stopped: the checkpoint of step 2 stays
    resumed = trainer(checkpoint)
    assert resumed.step == 2 and [record.step for record in resumed.run()] == [3, 4]
    for (name, value), other in zip(whole.head.state_dict().items(), resumed.head.state_dict().values()):
        assert torch.allclose(value, other), name
    from autochrome.trainer import affinity_segments

    real_loss = affinity_segments.pair_loss
    monkeypatch.setattr(affinity_segments, "pair_loss", lambda *args: real_loss(*args) * float("nan"))
    with pytest.raises(FloatingPointError, match="affinity loss became nan at step 1"):
        list(trainer().run())
