import numpy as np
import pytest
from PIL import Image

from autochrome.desktop.cli import main
from autochrome.engine import paths, weights
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.image_io import LoadedImage
from tests.conftest import TINY_UNET, gradient_grey, make_model_file


def warm_photos(folder, count, size=100, seed=0):
    """Photos with one dominant warm colour, like a film stock or a sepia archive would have."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        grey = rng.random((size, size)) * 0.6 + 0.2
        rgb = np.stack([grey * 1.0, grey * 0.65, grey * 0.35], -1)
        Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"warm{index}.jpg", quality=92)
    return folder


@pytest.fixture
def base_model(tmp_path):
    return make_model_file(tmp_path / "base.safetensors", TINY_UNET, bias=0.0)


def test_finetune_command_end_to_end(tmp_path, base_model, capsys):
    folder = warm_photos(tmp_path / "archive", 12)
    code = main(["finetune", str(folder), "--name", "Family archive", "--base", str(base_model), "--steps", "4",
                 "--crop", "64", "--holdout", "0.2", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "held-out photos" in captured.out
    path = paths.user_models_dir() / "Family archive.safetensors"
    assert path.is_file()
    info = weights.read_info(path)
    assert info.provenance["base_model"] == "base" and info.provenance["steps"] == 4
    assert info.provenance["photos"] == 9 and info.provenance["held_out"] == 3
    assert "base" in info.metrics["holdout"] and "new" in info.metrics["holdout"]
    assert "Family archive" in [i.name for i in weights.list_models()]
    # The new model colorizes differently from the one it started from.
    image = LoadedImage(None, (gradient_grey(64, 64) * 100).astype(np.float32), 8, "PNG")
    before = Colorizer(base_model, "cpu").colorize(image, ColorizeSettings(render_size=64)).rgb
    after = Colorizer("Family archive", "cpu").colorize(image, ColorizeSettings(render_size=64)).rgb
    assert np.abs(after - before).mean() > 1e-3
    # The same name again is refused rather than overwritten.
    assert main(["finetune", str(folder), "--name", "Family archive", "--base", str(base_model), "--steps", "2",
                 "--device", "cpu"]) == 2
    assert "exists already" in capsys.readouterr().err


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda f: f.mkdir(), "holds no photos"),
        (lambda f: [f.mkdir(), *[Image.fromarray(np.full((120, 120), 80 + i, np.uint8), "L").save(f / f"g{i}.png")
                                 for i in range(12)]], "0 usable"),
        (lambda f: warm_photos(f, 5), "at least 10"),
        (lambda f: [warm_photos(f, 4), *[(f / f"bad{i}.jpg").write_bytes(b"junk") for i in range(8)]], "8 unreadable"),
    ],
    ids=["empty", "greyscale", "too-few", "unreadable"],
)
def test_faulty_folders_are_refused_before_training(tmp_path, base_model, capsys, make, message):
    folder = tmp_path / "photos"
    make(folder)
    code = main(["finetune", str(folder), "--name", "x", "--base", str(base_model), "--steps", "2", "--device", "cpu"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not list(paths.user_models_dir().glob("*.safetensors")) if paths.user_models_dir().exists() else True


def test_unwritable_models_folder_is_refused(tmp_path, base_model, capsys, monkeypatch):
    folder = warm_photos(tmp_path / "photos", 12)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setattr(paths, "user_models_dir", lambda: blocker / "models")
    code = main(["finetune", str(folder), "--name", "x", "--base", str(base_model), "--steps", "2", "--device", "cpu"])
    assert code == 2 and "cannot write to the models folder" in capsys.readouterr().err


def test_a_failed_save_leaves_no_model_in_the_picker(tmp_path, base_model, monkeypatch):
    from autochrome.trainer import finetune

    folder = finetune.scan_folder(warm_photos(tmp_path / "photos", 12), holdout_share=0.2)
    run = finetune.Finetune(folder, finetune.FinetuneOptions(name="full-disk", base_model=str(base_model), steps=2,
                                                             crop=64, device="cpu"))
    list(run.steps())

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(finetune, "save_generator", disk_full)
    with pytest.raises(finetune.FinetuneError, match="No space"):
        run.finish()
    assert "full-disk" not in [i.name for i in weights.list_models()]
    assert not list(paths.user_models_dir().glob("*"))


def test_pause_and_stop_between_steps(tmp_path, base_model):
    import threading

    from autochrome.trainer import finetune

    folder = finetune.scan_folder(warm_photos(tmp_path / "photos", 12), holdout_share=0.2)
    run = finetune.Finetune(folder, finetune.FinetuneOptions(name="p", base_model=str(base_model), steps=50,
                                                             crop=64, device="cpu"))
    stop = threading.Event()
    steps = []
    for record in run.steps(should_stop=stop.is_set):
        steps.append(record.step)
        if record.step == 2:
            run.gate.pause()
            threading.Timer(0.3, stop.set).start()
    assert steps == [1, 2]
    assert run.gate.paused
    run.trainer.save_checkpoint()
    assert run.checkpoint.is_file()


def test_crops_above_the_scan_size_train(tmp_path, base_model):
    # Finding 3: any crop above 128 crashed at step 1 (photos scanned as 144 px squares).
    from autochrome.trainer.finetune import Finetune, FinetuneOptions, scan_folder

    folder = scan_folder(warm_photos(tmp_path / "archive", 12, size=200), holdout_share=0.2)
    options = FinetuneOptions(name="wide", base_model=str(base_model), steps=1, crop=160, device="cpu")
    run = Finetune(folder, options)
    assert run.folder.photos.shape[1] >= 160 and len(run.folder.holdout_paths) == len(folder.holdout_paths)
    assert [record.step for record in run.steps()] == [1]


@pytest.mark.parametrize("args, message", [
    (["--steps", "-5"], "steps must be between"),
    (["--crop", "0"], "crop size must be a multiple of 32"),
    (["--crop", "100"], "crop size must be a multiple of 32"),
    (["--lr", "1e6"], "learning rate"),
    (["--holdout", "0.9"], "held-out share"),
])
def test_out_of_range_options_are_refused_before_any_work(tmp_path, base_model, capsys, args, message):
    folder = warm_photos(tmp_path / "archive", 12)
    code = main(["finetune", str(folder), "--name", "x", "--base", str(base_model), "--device", "cpu", *args])
    assert code == 2 and message in capsys.readouterr().err
    assert not paths.user_models_dir().joinpath("x.safetensors").exists()


def test_a_diverging_run_is_an_error_not_a_traceback(tmp_path, base_model, capsys, monkeypatch):
    from autochrome.trainer import training

    def diverge(self):
        raise FloatingPointError("l1 loss became nan at step 1")
        yield  # a generator, like the real one

    monkeypatch.setattr(training.Trainer, "run", diverge)
    folder = warm_photos(tmp_path / "archive", 12)
    code = main(["finetune", str(folder), "--name", "x", "--base", str(base_model), "--device", "cpu", "--crop", "64"])
    assert code == 1 and "diverged" in capsys.readouterr().err


def test_a_stale_checkpoint_is_refused_not_resumed(tmp_path, base_model, capsys):
    # Finding 6: checkpoints were keyed by name alone, so another folder continued the old weights.
    from autochrome.trainer import finetune

    def stopped_run(folder, **changes):
        options = finetune.FinetuneOptions(name="archive", base_model=str(base_model), steps=50, crop=64,
                                           device="cpu", **changes)
        run = finetune.Finetune(finetune.scan_folder(folder, holdout_share=0.2), options)
        first_step = run.resumed_from
        for record in run.steps():
            if record.step >= first_step + 3:
                break
        run.trainer.save_checkpoint()
        return first_step

    first_folder = warm_photos(tmp_path / "first", 12)
    stopped_run(first_folder)
    # The same photos and options continue where the run stopped, and its random sequence goes on.
    assert stopped_run(first_folder) == 3
    other_folder = warm_photos(tmp_path / "other", 12, seed=5)
    for folder, changes in ((other_folder, {}), (first_folder, {"learning_rate": 1e-4})):
        with pytest.raises(finetune.StaleRunError, match="start it afresh"):
            stopped_run(folder, **changes)
    assert stopped_run(other_folder, fresh_start=True) == 0
    # The command line says so too, with --resume.
    assert main(["finetune", str(first_folder), "--name", "archive", "--base", str(base_model), "--steps", "50",
                 "--crop", "64", "--holdout", "0.2", "--device", "cpu", "--resume"]) == 2
    assert "other photos" in capsys.readouterr().err


def test_a_base_replaced_by_another_architecture_offers_a_fresh_start(tmp_path, base_model):
    """Issue 27.11: a plain ValueError came before the run check, so the dialog could not offer it."""
    from autochrome.trainer import finetune
    from tests.conftest import TINY_HINTED

    folder = warm_photos(tmp_path / "photos", 12)
    options = finetune.FinetuneOptions(name="archive", base_model=str(base_model), steps=50, crop=64, device="cpu")
    run = finetune.Finetune(finetune.scan_folder(folder, holdout_share=0.2), options)
    next(iter(run.steps()))
    run.trainer.save_checkpoint()
    make_model_file(base_model, TINY_HINTED)  # the same name, another architecture
    with pytest.raises(finetune.StaleRunError, match="start it afresh"):
        finetune.Finetune(finetune.scan_folder(folder, holdout_share=0.2), options)
    from dataclasses import replace

    fresh = finetune.Finetune(finetune.scan_folder(folder, holdout_share=0.2), replace(options, fresh_start=True))
    assert fresh.resumed_from == 0


def test_a_resumed_run_does_not_replay_its_first_batches(tmp_path, base_model):
    # Finding 15: the crop sampler's random state was not in the checkpoint.
    import torch

    from autochrome.trainer import finetune

    folder = finetune.scan_folder(warm_photos(tmp_path / "photos", 12), holdout_share=0.2)
    options = finetune.FinetuneOptions(name="rng", base_model=str(base_model), steps=50, crop=64, device="cpu")
    run = finetune.Finetune(folder, options)
    first_batch = run.trainer.sampler.batch(2)[1]
    run.trainer.save_checkpoint()
    resumed = finetune.Finetune(folder, options)
    assert not torch.equal(resumed.trainer.sampler.batch(2)[1], first_batch)


def test_a_pix2pix_base_fine_tunes(tmp_path, capsys):
    # Finding 14: fine-tuning a pix2pix base raised AttributeError on `.encoder`.
    from tests.conftest import TINY_PIX2PIX

    base = make_model_file(tmp_path / "p2p.safetensors", TINY_PIX2PIX)
    folder = warm_photos(tmp_path / "archive", 12, size=160)
    code = main(["finetune", str(folder), "--name", "p2p tuned", "--base", str(base), "--steps", "2",
                 "--crop", "128", "--holdout", "0.2", "--device", "cpu"])
    assert code == 0, capsys.readouterr().err
    assert (paths.user_models_dir() / "p2p tuned.safetensors").is_file()


def test_a_calibrated_base_keeps_its_share_of_colour_after_fine_tuning(tmp_path):
    # The base's output gain on a fine-tuned decoder made colours too strong (measured with the
    # shipped model: a Quick run on street photos ended 5.5 over the photos' colourfulness).
    from dataclasses import replace

    from autochrome.engine.device import choose_device
    from autochrome.engine.weights import load_generator, save_generator
    from autochrome.trainer import finetune
    from autochrome.trainer.calibrate import colourfulness_share

    base_path = make_model_file(tmp_path / "calibrated.safetensors", TINY_UNET, bias=0.3)
    model, info = load_generator(base_path)
    save_generator(base_path, model, replace(info.config, ab_gain=1.3))
    folder = finetune.scan_folder(warm_photos(tmp_path / "photos", 12), holdout_share=0.2)
    run = finetune.Finetune(folder, finetune.FinetuneOptions(name="kept", base_model=str(base_path), steps=20,
                                                             crop=64, learning_rate=3e-3, device="cpu"))
    for _ in run.steps():
        pass
    path, _ = run.finish()
    choice = choose_device("cpu")
    base, base_info = load_generator(base_path)
    new, new_info = load_generator(path)
    assert new_info.config.ab_gain != 1.3
    base_share = colourfulness_share(base, base_info.config, folder.train_paths, choice)
    new_share = colourfulness_share(new, new_info.config, folder.train_paths, choice)
    assert new_share == pytest.approx(base_share, rel=0.05)
