import csv
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine.networks import GeneratorConfig, build_generator
from autochrome.engine.weights import load_generator
from autochrome.trainer.crop_sampler import CropSampler
from autochrome.trainer.feature_cache import FeatureCache
from autochrome.trainer.objective import Objective
from autochrome.trainer.photos import load_photo_set
from autochrome.trainer.training import Trainer, TrainSettings

TINY = GeneratorConfig(encoder="resnet18", decoder_channels=(16, 16, 8, 8, 8))


def photo_folder(tmp_path, count=6, size=(40, 50), seed=0):
    rng = np.random.default_rng(seed)
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True, exist_ok=True)
    for index in range(count):
        rgb = (rng.random((size[0], size[1], 3)) * 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / ("nested" if index % 2 else "") / f"p{index}.jpg")
    Image.fromarray(np.full(size, 90, np.uint8), "L").save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"nope")
    return folder


def test_photo_set_skips_and_counts_unusable_files(tmp_path):
    photos, scan = load_photo_set(photo_folder(tmp_path), size=32, min_side=32)
    assert photos.shape == (6, 32, 32, 3)
    assert len(scan.monochrome) == 1 and len(scan.unreadable) == 1
    assert "6 usable" in scan.summary()


def _trainer(tmp_path, settings, checkpoint):
    photos, _ = load_photo_set(photo_folder(tmp_path), size=40, min_side=32)
    torch.manual_seed(0)
    sampler = CropSampler(photos, 32, torch.device("cpu"))
    objective = Objective(TINY, torch.device("cpu"), photos)
    return Trainer(build_generator(TINY), TINY, sampler, settings, 32, torch.device("cpu"), objective, checkpoint)


def test_both_stages_change_weights_and_a_stop_leaves_a_resumable_checkpoint(tmp_path):
    settings = TrainSettings(stage1_steps=3, stage2_steps=3, batch_size=2, warmup_steps=1, discriminator_warmup=1,
                             checkpoint_every=2)
    checkpoint = tmp_path / "run.ckpt"
    trainer = _trainer(tmp_path, settings, checkpoint)
    before = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    d_before = {k: v.clone() for k, v in trainer.discriminator.state_dict().items()}
    records = []
    for record in trainer.run():
        records.append(record)
        if record.step == 5:
            break  # a stop request: the checkpoint of step 4 stays valid
    assert [r.stage for r in records] == [1, 1, 1, 2, 2]
    assert all(np.isfinite(v) for r in records for v in r.losses.values())
    assert "gan" in records[-1].losses and "d" in records[-1].losses
    assert any(not torch.equal(before[k], v) for k, v in trainer.generator.state_dict().items())
    assert any(not torch.equal(d_before[k], v) for k, v in trainer.discriminator.state_dict().items())
    assert torch.load(checkpoint, weights_only=True)["step"] == 4

    resumed = _trainer(tmp_path, settings, checkpoint)
    assert resumed.step == 4
    assert [r.step for r in resumed.run()] == [5, 6]
    # After the adversarial stage the EMA generator is what gets exported.
    assert resumed.export_model() is resumed.ema


def test_resume_refuses_another_architecture(tmp_path):
    settings = TrainSettings(stage1_steps=1, batch_size=2, warmup_steps=1)
    checkpoint = tmp_path / "run.ckpt"
    list(_trainer(tmp_path, settings, checkpoint).run())
    photos, _ = load_photo_set(photo_folder(tmp_path / "b"), size=40, min_side=32)
    other = GeneratorConfig(encoder="resnet18", decoder_channels=(8, 8, 8, 8, 8))
    with pytest.raises(ValueError, match="another architecture"):
        Trainer(build_generator(other), other, CropSampler(photos, 32, torch.device("cpu")), settings, 32,
                torch.device("cpu"), Objective(other, torch.device("cpu"), photos), checkpoint)


def test_train_command_end_to_end(tmp_path, capsys):
    data = photo_folder(tmp_path, size=(48, 48))
    out = tmp_path / "model.safetensors"
    args = ["train", str(data), "--out", str(out), "--arch", "unet-lite0", "--encoder-init", "scratch",
            "--stage1-steps", "2", "--stage2-steps", "2", "--d-warmup", "1", "--batch-size", "2", "--crop", "32",
            "--square", "40", "--device", "cpu", "--log-every", "1"]
    assert main(args) == 0
    model, info = load_generator(out)
    assert info.provenance["steps"] == 4 and info.provenance["training_data"].startswith("photos (6 photos")
    rows = list(csv.DictReader(open(out.with_suffix(".csv"))))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    assert main(args) == 2  # the checkpoint exists: no silent restart
    assert "--resume" in capsys.readouterr().err


def test_train_into_a_missing_folder_and_a_failed_export(tmp_path, capsys, monkeypatch):
    """Issue 19, 2.9: a missing --out folder was a traceback after loading every photo."""
    data = photo_folder(tmp_path, size=(48, 48))
    out = tmp_path / "new" / "deeper" / "model.safetensors"
    args = ["train", str(data), "--out", str(out), "--arch", "unet-lite0", "--encoder-init", "scratch",
            "--stage1-steps", "1", "--batch-size", "2", "--crop", "32", "--square", "40", "--device", "cpu"]
    assert main(args) == 0 and out.is_file()
    from autochrome.trainer import session

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(session, "save_generator", refuse)
    out2 = tmp_path / "new" / "model2.safetensors"
    assert main([*args[:3], str(out2), *args[4:]]) == 1
    err = capsys.readouterr().err
    assert "could not be written" in err and "--resume" in err and "Traceback" not in err
    assert out2.with_suffix(".ckpt").is_file()


def test_pack_writes_small_webp_squares(tmp_path, capsys):
    data = photo_folder(tmp_path, size=(80, 100))
    out = tmp_path / "pack"
    assert main(["pack", str(data), str(out), "--size", "64"]) == 0
    packed = sorted(out.glob("*.webp"))
    assert len(packed) == 6
    with Image.open(packed[0]) as image:
        assert image.size == (64, 64)
    photos, scan = load_photo_set(out, size=64, min_side=32)
    assert len(photos) == 6


def test_distributed_training_with_two_cpu_processes(tmp_path):
    data = photo_folder(tmp_path, size=(48, 48))
    out = tmp_path / "ddp.safetensors"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         "-m", "autochrome.desktop", "train", str(data), "--out", str(out), "--arch", "unet-lite0", "--encoder-init", "scratch",
         "--stage1-steps", "2", "--stage2-steps", "2", "--d-warmup", "1", "--batch-size", "2", "--crop", "32",
         "--square", "40", "--device", "cpu"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    _, info = load_generator(out)
    assert info.provenance["steps"] == 4
    assert "all 2 processes ended with the same weights" in done.stdout


def test_cached_decoder_training_under_torchrun_builds_the_cache_once_and_keeps_the_ranks_in_step(tmp_path):
    """Issues 24 and 27.14: rank 0 alone builds the cache and writes; each rank its own share of
    the photos; gradients and BatchNorm statistics averaged, so both end with the same weights."""
    data = photo_folder(tmp_path, count=8, size=(72, 72))
    out, cache = tmp_path / "ddp-cached.safetensors", tmp_path / "cache"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29534",
         "-m", "autochrome.desktop", "train", str(data), "--out", str(out), "--arch", "hints-lite0-classes",
         "--encoder-init", "scratch", "--feature-cache", str(cache), "--stage1-steps", "3", "--batch-size", "4",
         "--crop", "64", "--device", "cpu", "--checkpoint-every", "1", "--adversarial", "0.1", "--d-warmup", "1",
         "--live-encoder-stages", "1"],
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all 2 processes ended with the same weights" in done.stdout
    assert load_generator(out)[1].provenance["steps"] == 3 and FeatureCache(cache).complete
    assert sorted(p.name for p in tmp_path.glob("ddp-cached*")) == ["ddp-cached.ckpt", "ddp-cached.csv",
                                                                   "ddp-cached.safetensors"]


def test_each_rank_draws_its_own_share():
    from autochrome.trainer.distributed import share

    photos = list(range(10))
    assert share(photos, 0, 2) == [0, 2, 4, 6, 8] and share(photos, 1, 2) == [1, 3, 5, 7, 9]
    assert share(photos, 0, 1) == photos


def test_train_can_start_from_a_model_file_and_calibrate_its_gain(tmp_path, capsys):
    data = photo_folder(tmp_path, size=(48, 48))
    first, second = tmp_path / "first.safetensors", tmp_path / "second.safetensors"
    common = ["--arch", "unet-lite0", "--encoder-init", "scratch", "--batch-size", "2", "--crop", "32",
              "--square", "40", "--device", "cpu"]
    assert main(["train", str(data), "--out", str(first), "--stage1-steps", "2", *common]) == 0
    assert main(["train", str(data), "--out", str(second), "--stage1-steps", "1", "--lr", "0", "--init", str(first),
                 "--calibrate", *common]) == 0
    start, _ = load_generator(first)
    resumed, info = load_generator(second)
    # A learning rate of 0: the weights are the first model's (batch-norm statistics still move).
    resumed_parameters = dict(resumed.named_parameters())
    for key, value in start.named_parameters():
        assert torch.equal(value, resumed_parameters[key]), key
    assert info.config.ab_gain != 1.0 and "training photos" in info.provenance["calibration"]
    assert info.provenance["init_model"] == "first.safetensors"
    resnet = ["--arch", "unet-resnet18", "--stage1-steps", "1", "--batch-size", "2", "--crop", "32", "--device", "cpu"]
    assert main(["train", str(data), "--out", str(tmp_path / "x.safetensors"), "--init", str(first), *resnet]) == 2
    assert "another architecture" in capsys.readouterr().err


def test_a_model_made_from_another_keeps_its_calibration_unless_calibrated_again(tmp_path):
    # Finding 8: train --init reset the gain to 1 while fine-tuning kept it; one rule for both.
    from dataclasses import replace

    from autochrome.engine.weights import save_generator

    data = photo_folder(tmp_path, size=(48, 48))
    first, second, third = (tmp_path / f"{n}.safetensors" for n in ("first", "second", "third"))
    common = ["--arch", "unet-lite0", "--encoder-init", "scratch", "--batch-size", "2", "--crop", "32",
              "--square", "40", "--device", "cpu", "--stage1-steps", "1"]
    assert main(["train", str(data), "--out", str(first), *common]) == 0
    model, info = load_generator(first)
    save_generator(first, model, replace(info.config, ab_gain=1.4))
    assert main(["train", str(data), "--out", str(second), "--init", str(first), *common]) == 0
    assert load_generator(second)[1].config.ab_gain == 1.4
    # Calibrating again replaces the gain rather than multiplying it: from 1.4 and from 1.0
    # the same weights calibrate to the same gain.
    assert main(["train", str(data), "--out", str(third), "--init", str(first), "--lr", "0", "--calibrate",
                 *common]) == 0
    model, info = load_generator(first)
    save_generator(first, model, replace(info.config, ab_gain=1.0))
    fourth = tmp_path / "fourth.safetensors"
    assert main(["train", str(data), "--out", str(fourth), "--init", str(first), "--lr", "0", "--calibrate",
                 *common]) == 0
    assert load_generator(third)[1].config.ab_gain == pytest.approx(load_generator(fourth)[1].config.ab_gain, abs=0.02)


def test_the_discriminator_sees_outputs_before_the_gain():
    from dataclasses import replace

    from autochrome.trainer.session import PRESET_CONFIGS

    generator = build_generator(replace(PRESET_CONFIGS["unet-lite0"], ab_gain=1.5)).eval()
    raw = torch.randn(1, 2, 8, 8)
    assert torch.equal(generator.to_ab(raw, gain=False), raw)
    assert torch.allclose(generator.to_ab(raw), raw * 1.5)


@pytest.mark.parametrize("device, cuda, backend", [("auto", True, "nccl"), ("cuda", True, "nccl"),
                                                   ("auto", False, "gloo"), ("cpu", True, "gloo")])
def test_distributed_training_binds_each_rank_to_its_gpu(monkeypatch, device, cuda, backend):
    # Finding 15: DDP picked its backend from --device (auto got gloo on GPUs) and never set the device.
    from autochrome.trainer import session

    bound, started = [], []
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setattr(session.torch.cuda, "set_device", bound.append)
    monkeypatch.setattr(session.dist, "init_process_group", lambda backend, **options: started.append(backend))
    assert session.start_distributed(device, cuda_available=cuda) == backend
    assert started == [backend] and bound == ([3] if backend == "nccl" else [])


def test_the_ema_of_a_short_adversarial_stage_follows_it():
    # Finding 15: at a fixed 0.999, 100 updates left the EMA about 90 % the stage-1 weights.
    from autochrome.trainer.training import ema_decay

    stage1_share = float(np.prod([ema_decay(n, 0.999) for n in range(100)]))
    assert stage1_share < 0.01
    assert ema_decay(100_000, 0.999) == 0.999


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path, capsys):
    """Issue 19: `autochrome train --resume` never checked which run a checkpoint belonged to."""
    first = photo_folder(tmp_path / "a", size=(48, 48))
    second = photo_folder(tmp_path / "b", size=(48, 48), seed=5)
    common = ["--arch", "unet-lite0", "--encoder-init", "scratch", "--batch-size", "2", "--crop", "32", "--square",
              "40", "--device", "cpu", "--checkpoint", str(tmp_path / "run.ckpt")]
    assert main(["train", str(first), "--out", str(tmp_path / "a.safetensors"), "--stage1-steps", "1", *common]) == 0
    code = main(["train", str(second), "--out", str(tmp_path / "b.safetensors"), "--stage1-steps", "2", "--resume",
                 *common])
    assert code == 2 and "another run" in capsys.readouterr().err
    # The same run with more steps goes on from its checkpoint.
    assert main(["train", str(first), "--out", str(tmp_path / "a.safetensors"), "--stage1-steps", "2", "--resume",
                 *common]) == 0


@pytest.mark.parametrize("extra, message", [
    (["--checkpoint-every", "0"], "--checkpoint-every must be at least 1"),
    (["--log-every", "0"], "--log-every must be at least 1"),
    (["--feature-cache", "CACHE", "--stage1-steps", "0", "--stage2-steps", "5"], "takes --stage1-steps only"),
    (["--stream", "--no-rebalance", "--stage2-steps", "5"], "takes --stage1-steps only"),
])
def test_options_that_would_divide_by_zero_or_export_an_untrained_decoder_are_refused(tmp_path, capsys, extra,
                                                                                     message):
    """Issue 27.12: ZeroDivisionError tracebacks, and a frozen-encoder run that skipped its only stage."""
    data = photo_folder(tmp_path, size=(48, 48))
    extra = [str(tmp_path / "cache") if part == "CACHE" else part for part in extra]
    code = main(["train", str(data), "--out", str(tmp_path / "m.safetensors"), "--arch", "hints-lite0-classes",
                 "--encoder-init", "scratch", "--crop", "32", "--device", "cpu", *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "m.safetensors").exists()
