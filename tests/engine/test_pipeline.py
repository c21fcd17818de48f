import numpy as np
import pytest
import torch

from autochrome.engine import pipeline
from autochrome.engine.hints import Hint
from autochrome.engine.edit import ColorizeSettings
from autochrome.engine.pipeline import guided_upsample, render_shape
from autochrome.engine.colorizer import Colorizer
from autochrome.engine.device import DeviceChoice, choose_device, cpu_choice
from autochrome.engine.errors import Cancelled
from autochrome.engine.image_io import LoadedImage
from tests.conftest import gradient_grey


def _image(width, height, alpha=False):
    lightness = (gradient_grey(width, height) * 100).astype(np.float32)
    return LoadedImage(None, lightness, 8, "PNG", alpha=np.ones((height, width), np.float32) if alpha else None)


def test_keeps_size_lightness_and_alpha_and_adds_colour(tiny_model):
    colorizer = Colorizer(tiny_model, "cpu")
    image = _image(301, 177, alpha=True)
    result = colorizer.colorize(image, ColorizeSettings(render_size=96))
    assert result.rgb.shape == (177, 301, 3) and result.alpha.shape == (177, 301)
    np.testing.assert_array_equal(result.lab[..., 0], image.lightness)
    chroma = np.hypot(result.lab[..., 1], result.lab[..., 2])
    assert chroma.mean() > 1.0


def test_saturation_zero_gives_grey_and_two_doubles_chroma(tiny_model):
    colorizer = Colorizer(tiny_model, "cpu")
    image = _image(64, 64)
    plain = colorizer.colorize(image, ColorizeSettings(render_size=64))
    grey = colorizer.colorize(image, ColorizeSettings(render_size=64, saturation=0.0))
    double = colorizer.colorize(image, ColorizeSettings(render_size=64, saturation=2.0))
    assert np.abs(grey.lab[..., 1:]).max() == 0
    np.testing.assert_allclose(double.lab[..., 1:], 2 * plain.lab[..., 1:], rtol=1e-5, atol=1e-4)


def test_render_size_never_upscales():
    assert render_shape(4000, 3000, 256) == (256, 192)
    assert render_shape(100, 50, 256) == (100, 50)


def test_odd_sizes_are_padded_to_the_stride(tiny_model):
    colorizer = Colorizer(tiny_model, "cpu")  # pix2pix with 5 downs: stride 32
    for width, height in ((33, 17), (7, 5), (129, 64)):
        result = colorizer.colorize(_image(width, height), ColorizeSettings(render_size=128))
        assert result.rgb.shape == (height, width, 3)


def test_progress_is_reported_and_cancel_stops(tiny_model):
    colorizer = Colorizer(tiny_model, "cpu")
    seen = []
    colorizer.colorize(_image(64, 48), progress=lambda fraction, message: seen.append(fraction))
    assert seen == sorted(seen) and seen[-1] == 1.0
    calls = []

    def cancel_after_two():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        colorizer.colorize(_image(64, 48), cancel=cancel_after_two)


def test_guided_upsampling_follows_edges_of_the_full_resolution_l():
    # A sharp vertical edge in L; colour on one side only. Bilinear smears it, guided keeps it sharp.
    l_full = np.zeros((64, 64), np.float32)
    l_full[:, 32:] = 80.0
    ab_full = np.zeros((64, 64, 2), np.float32)
    ab_full[:, 32:, 0] = 40.0
    import cv2

    l_small = cv2.resize(l_full, (16, 16), interpolation=cv2.INTER_AREA)
    ab_small = cv2.resize(ab_full, (16, 16), interpolation=cv2.INTER_AREA)
    guided = guided_upsample(ab_small, l_small, l_full)
    bilinear = cv2.resize(ab_small, (64, 64), interpolation=cv2.INTER_LINEAR)
    assert np.abs(guided - ab_full).mean() < 0.5 * np.abs(bilinear - ab_full).mean()


def test_out_of_memory_retries_smaller_then_falls_back_to_cpu(tiny_model, monkeypatch):
    colorizer = Colorizer(tiny_model, "cpu")
    # Pretend the model lives on a GPU that runs out of memory twice.
    colorizer.choice = DeviceChoice(torch.device("cpu"), None)
    object.__setattr__(colorizer.choice, "device", torch.device("meta"))
    colorizer.predictor.choice = colorizer.choice
    real_predict = pipeline.predict_ab
    failures = []

    def flaky_predict(model, lightness, stride, choice, *rest):
        if choice.device.type != "cpu":
            failures.append(lightness.shape)
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real_predict(model, lightness, stride, choice, *rest)

    monkeypatch.setattr(pipeline, "predict_ab", flaky_predict)
    result = colorizer.colorize(_image(512, 256), ColorizeSettings(render_size=256))
    assert result.rgb.shape == (256, 512, 3)
    assert any("render size 128" in note for note in result.notes)
    assert any("CPU" in note for note in result.notes)
    assert colorizer.choice == cpu_choice()
    # Issue 27.10: the rebuilt predictor kept neither the affinity head nor the shared guide.
    assert colorizer.predictor.affinity is not None
    assert colorizer.predictor.guide is not None and next(colorizer.predictor.guide.parameters()).device.type == "cpu"


def test_colorizers_share_one_copy_of_the_default_model_as_their_guide(tiny_model):
    """Issue 27.10: each Colorizer of a model without the head's encoder loaded its own default model."""
    first, second = Colorizer(tiny_model, "cpu"), Colorizer(tiny_model, "cpu")
    assert first.predictor.guide is not None and first.predictor.guide is second.predictor.guide


def test_after_falling_back_to_the_cpu_the_same_photo_renders_again(tiny_hint_model, monkeypatch):
    """The encoder memo held features from the GPU: the next edit of the photo must not use them."""
    colorizer = Colorizer(tiny_hint_model, "cpu")
    image = _image(96, 64)
    colorizer.colorize(image, ColorizeSettings(render_size=64))  # features kept for this photo
    gpu = DeviceChoice(torch.device("cpu"), None)
    object.__setattr__(gpu, "device", torch.device("meta"))
    colorizer.choice = colorizer.predictor.choice = gpu
    for entry in colorizer.memo._entries:  # as if computed on the GPU
        entry[3][:] = [feature.to("meta") for feature in entry[3]]
    real_predict = pipeline.predict_ab

    def oom_off_cpu(model, lightness, stride, choice, *rest):
        if choice.device.type != "cpu":
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real_predict(model, lightness, stride, choice, *rest)

    monkeypatch.setattr(pipeline, "predict_ab", oom_off_cpu)
    result = colorizer.colorize(image, ColorizeSettings(render_size=64), hints=[Hint(10, 10, 30.0, 30.0)])
    assert any("CPU" in note for note in result.notes) and np.isfinite(result.rgb).all()


def test_device_choice():
    assert choose_device("cpu").device.type == "cpu"
    assert choose_device("auto").device.type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            choose_device("cuda")
    assert "CPU" in cpu_choice().describe()
