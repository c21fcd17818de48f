import numpy as np
import torch
from PIL import Image

from engine.networks import build_generator
from trainer.batches import CropSampler
from trainer.l1_training import L1Settings, train_l1
from trainer.photos import load_photo_set
from tests.conftest import TINY_UNET


def _photo_folder(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "photos"
    (folder / "nested").mkdir(parents=True)
    for index in range(6):
        rgb = (rng.random((40, 50, 3)) * 255).astype(np.uint8)
        Image.fromarray(rgb).save(folder / ("nested" if index % 2 else "") / f"p{index}.jpg")
    Image.fromarray(np.full((40, 50), 90, np.uint8), "L").save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"nope")
    return folder


def test_photo_set_skips_and_counts_unusable_files(tmp_path):
    photos, scan = load_photo_set(_photo_folder(tmp_path), size=32, min_side=32)
    assert photos.shape == (6, 32, 32, 3)
    assert len(scan.monochrome) == 1 and len(scan.unreadable) == 1
    assert "6 usable" in scan.summary()


def test_a_few_steps_change_weights_and_resume_from_the_checkpoint(tmp_path):
    photos, _ = load_photo_set(_photo_folder(tmp_path), size=40, min_side=32)
    sampler = CropSampler(photos, 32, torch.device("cpu"))
    torch.manual_seed(0)
    model = build_generator(TINY_UNET)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    checkpoint = tmp_path / "run.pt"
    settings = L1Settings(steps=4, batch_size=2, warmup_steps=1, checkpoint_every=2)
    records = []
    for record in train_l1(model, TINY_UNET, sampler, settings, checkpoint=checkpoint):
        records.append(record)
        if record.step == 3:
            break  # a stop request: the checkpoint from step 2 stays valid
    assert all(np.isfinite(r.loss) for r in records)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
    state = torch.load(checkpoint, weights_only=True)
    assert state["step"] == 2
    resumed = build_generator(TINY_UNET)
    steps = [r.step for r in train_l1(resumed, TINY_UNET, sampler, settings, checkpoint=checkpoint)]
    assert steps == [3, 4]
    assert torch.load(checkpoint, weights_only=True)["step"] == 4
