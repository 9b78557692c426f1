"""The ten torchvision presets against torchvision's published figures (224x224) and torchvision's own
models at another, non-square resolution."""

from __future__ import annotations

import pytest
import torch
import torchvision.models as tvm
from torch.utils.flop_counter import FlopCounterMode

from arch_lab import analyse, load_preset

PUBLISHED = {
    # torchvision 0.29.1 Weights.meta: num_params, "_ops" (shown as "GFLOPS" in its docs; they are GMACs)
    "resnet18": (11_689_512, 1.814),
    "resnet34": (21_797_672, 3.664),
    "resnet50": (25_557_032, 4.089),
    "resnet101": (44_549_160, 7.801),
    "resnet152": (60_192_808, 11.514),
    "resnext50_32x4d": (25_028_904, 4.230),
    "resnext101_32x8d": (88_791_336, 16.414),
    "resnext101_64x4d": (83_455_272, 15.460),
    "wide_resnet50_2": (68_883_240, 11.398),
    "wide_resnet101_2": (126_886_696, 22.753),
}
MIB = 2**20


def test_the_table_is_torchvisions_metadata():
    for name, (params, gmacs) in PUBLISHED.items():
        for weights in tvm.get_model_weights(name):
            assert (weights.meta["num_params"], weights.meta["_ops"]) == (params, gmacs), weights


@pytest.mark.parametrize("name", PUBLISHED)
def test_params_and_macs_match_the_published_figures(name):
    params, gmacs = PUBLISHED[name]
    report = analyse(load_preset(name))
    assert report.input_size == (224, 224)
    assert report.params == params
    assert round(report.macs / 1e9, 3) == gmacs
    assert report.flops == 2 * report.macs


@pytest.mark.parametrize("name", PUBLISHED)
def test_fp32_weights_match_the_published_checkpoint_size(name):
    """The largest checkpoint is fp32 (wide_resnet V1 files are fp16); besides the parameters it holds
    BN running statistics and pickle framing, a fraction of a percent."""
    file_mb = max(weights.meta["_file_size"] for weights in tvm.get_model_weights(name)) * MIB / 1e6
    report = analyse(load_preset(name))
    assert report.weights_fp32_mb < file_mb < 1.01 * report.weights_fp32_mb
    assert report.weights_bf16_mb == report.weights_fp16_mb == report.weights_fp32_mb / 2


@pytest.mark.parametrize("name", PUBLISHED)
def test_torchvision_model_at_another_resolution(name):
    with torch.device("meta"):
        model = getattr(tvm, name)()
        x = torch.zeros(2, 3, 160, 192)
    with FlopCounterMode(display=False) as counter:
        model(x)
    report = analyse(load_preset(name), input_size=(160, 192), batch_size=2)
    assert report.flops == counter.get_total_flops()
    assert report.params == sum(p.numel() for p in model.parameters())
