"""The builder against independent references: torchvision's models, the seed's d2l ResNet-18, hand
arithmetic for the CIFAR ResNets of He et al. (2016) and the ResNet-D/SE variants."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn

from arch_lab import LimitError, Limits, ResNetSpec, build_model, load_preset
from arch_lab.models import model as model_module

TORCHVISION = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
               "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", TORCHVISION)
def test_torchvision_weights_load_strictly_and_give_identical_outputs(name):
    torch.manual_seed(0)
    reference = getattr(tvm, name)().eval()
    ours = build_model(load_preset(name)).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    assert count(ours) == count(reference)
    x = torch.randn(2, 3, 64, 80)
    with torch.inference_mode():
        assert torch.equal(ours(x), reference(x))


def test_zero_init_residual_matches_torchvision():
    ours = build_model(load_preset("resnet50").replace(zero_init_residual=True))
    reference = tvm.resnet50(zero_init_residual=True)
    zeroed = {k for k, v in reference.state_dict().items() if k.endswith("weight") and v.abs().sum() == 0}
    assert zeroed == {k for k, v in ours.state_dict().items() if k.endswith("weight") and v.abs().sum() == 0}
    assert len(zeroed) == 16


# --------------------------------------------------------------------------------------------------
# d2l ResNet-18, written out as in the seed document (seeds/003: Residual + resnet_block + ResNet)
# --------------------------------------------------------------------------------------------------
class Residual(nn.Module):
    def __init__(self, in_channels, out_channels, use_1x1conv=False, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride) if use_1x1conv else None
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        return F.relu(Y + X)


def resnet_block(in_channels, out_channels, num_residuals, first_block=False):
    return nn.Sequential(*[
        Residual(in_channels, out_channels, use_1x1conv=True, stride=2) if i == 0 and not first_block
        else Residual(out_channels, out_channels) for i in range(num_residuals)])


class D2LResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential()
        self.conv.add_module("block", nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3), nn.BatchNorm2d(64), nn.ReLU(),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
        self.conv.add_module("resnet_block1", resnet_block(64, 64, 2, first_block=True))
        self.conv.add_module("resnet_block2", resnet_block(64, 128, 2))
        self.conv.add_module("resnet_block3", resnet_block(128, 256, 2))
        self.conv.add_module("resnet_block4", resnet_block(256, 512, 2))
        self.fc = nn.Linear(512, 1000)

    def forward(self, img):
        feature = self.conv(img)
        feature = F.avg_pool2d(feature, kernel_size=feature.shape[2:])
        return self.fc(feature.view(img.shape[0], -1))


def d2l_to_ours(key: str) -> str:
    key = key.replace("conv.block.0.", "conv1.").replace("conv.block.1.", "bn1.")
    for stage in range(1, 5):
        key = key.replace(f"conv.resnet_block{stage}.", f"layer{stage}.")
    return key.replace(".conv3.", ".downsample.0.")


def test_d2l_resnet18_is_the_seed_network():
    torch.manual_seed(0)
    reference = D2LResNet18().eval()
    ours = build_model(load_preset("d2l_resnet18")).eval()
    ours.load_state_dict({d2l_to_ours(k): v for k, v in reference.state_dict().items()}, strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-5)


def test_d2l_resnet18_parameters_by_hand():
    stem = 3 * 64 * 49 + 64 + 2 * 64

    def residual(cin, cout, use_1x1):
        return (cin * cout * 9 + cout) + (cout * cout * 9 + cout) + 4 * cout + (cin * cout + cout if use_1x1 else 0)

    blocks = 2 * residual(64, 64, False)
    for cin, cout in [(64, 128), (128, 256), (256, 512)]:
        blocks += residual(cin, cout, True) + residual(cout, cout, False)
    fc = 512 * 1000 + 1000
    assert count(build_model(load_preset("d2l_resnet18"))) == stem + blocks + fc == 11_692_520


# --------------------------------------------------------------------------------------------------
# CIFAR ResNets, He et al. 2016 section 4.2: 6n+2 layers, 16/32/64 filters, option A shortcuts
# --------------------------------------------------------------------------------------------------
def cifar_params_by_hand(n: int) -> int:
    total = 3 * 16 * 9 + 2 * 16  # 3x3 stem conv (no bias) + BN
    cin = 16
    for width in (16, 32, 64):
        total += cin * width * 9 + width * width * 9 + 4 * width  # first block (option A adds nothing)
        total += (n - 1) * (2 * width * width * 9 + 4 * width)
        cin = width
    return total + 64 * 10 + 10


@pytest.mark.parametrize(("depth", "paper_millions", "digits"), [
    (20, 0.27, 2), (32, 0.46, 2), (44, 0.66, 2), (56, 0.85, 2), (110, 1.7, 1)])
def test_cifar_resnets_match_the_paper(depth, paper_millions, digits):
    model = build_model(load_preset(f"resnet{depth}"))
    n = (depth - 2) // 6
    assert count(model) == cifar_params_by_hand(n)
    assert round(count(model) / 1e6, digits) == paper_millions
    convs_and_fc = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    assert convs_and_fc == depth  # 6n + 2 weighted layers, no projection convs
    with torch.inference_mode():
        assert model.eval()(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_zero_pad_shortcut_is_identity_plus_zero_channels():
    model = build_model(load_preset("resnet20"))
    shortcut = model.layer2[0].downsample
    x = torch.randn(1, 16, 8, 8)
    y = shortcut(x)
    assert y.shape == (1, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert not y[:, 16:].any()


def test_resnet50d_differs_from_resnet50_by_the_deep_stem_only():
    stem_7x7 = 3 * 64 * 49
    deep_stem = 3 * 32 * 9 + 32 * 32 * 9 + 32 * 64 * 9 + 2 * (2 * 32)
    expected = 25_557_032 - stem_7x7 + deep_stem
    model = build_model(load_preset("resnet50d"))
    assert count(model) == expected
    assert round(expected / 1e6, 2) == 25.58  # timm resnet50d
    pools = [m for name, m in model.named_modules() if name.endswith("downsample.0")]
    assert sum(isinstance(p, nn.AvgPool2d) for p in pools) == 3  # layers 2-4; layer1 has stride 1


def test_se_resnet50_matches_senet_paper():
    se = sum(2 * c * (c // 16) + c // 16 + c for c, blocks in [(256, 3), (512, 4), (1024, 6), (2048, 3)]
             for _ in range(blocks))
    model = build_model(load_preset("se_resnet50"))
    assert count(model) == 25_557_032 + se
    assert round(count(model) / 1e6, 2) == 28.09  # Hu et al. 2018, Table 1


def test_more_than_four_stages_continue_the_names():
    model = build_model(ResNetSpec(depths=(1, 1, 1, 1, 1), input_size=64))
    assert "layer5.0.conv1.weight" in model.state_dict()
    assert model.fc.in_features == 1024


def test_meta_device_allocates_no_storage():
    model = build_model(load_preset("wide_resnet101_2"), device="meta")
    assert all(p.is_meta for p in model.parameters())
    assert count(model) == 126_886_696


def test_limits_refuse_before_building(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a refused spec must not be built")

    monkeypatch.setattr(model_module, "ResNet", fail)
    with pytest.raises(LimitError, match="ARCH_LAB_MAX_PARAMS"):
        build_model(load_preset("resnet50"), limits=Limits(max_params=25_000_000))
    with pytest.raises(LimitError, match="max_macs"):
        build_model(load_preset("resnet50"), limits=Limits(max_macs=4_000_000_000))
    with pytest.raises(LimitError, match="max_blocks"):
        build_model(ResNetSpec(depths=(600, 600), input_size=64))


def test_limits_lift_with_environment(monkeypatch):
    spec = ResNetSpec(depths=(600, 600), widths=(4, 4), input_size=32)
    monkeypatch.setenv("ARCH_LAB_MAX_BLOCKS", "2000")
    assert sum(spec.depths) == len(build_model(spec, device="meta").layer1) + 600
