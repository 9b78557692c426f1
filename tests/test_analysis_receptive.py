"""Receptive field and output stride per stage, measured on real networks: with positive weights every
input pixel a feature depends on gets a nonzero gradient, so the gradient of one central output pixel
w.r.t. the input is nonzero exactly on its receptive field; moving the output pixel by one moves that
window by the output stride. Max-pools are swapped for average pools of the same geometry (a max-pool
passes gradient to one pixel per window only)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from arch_lab import ResNetSpec, analyse, build_model

DESIGNS = {
    # geometry of resnet18 (classic stem, basic blocks, four stages): RF 435 px
    "resnet18-geometry": (ResNetSpec(block="basic", depths=(2, 2, 2, 2), widths=(2, 2, 2, 2), stem_width=4,
                                     in_channels=1, num_classes=1), 512),
    # deep stem, ResNet-D average-pool shortcuts, bottlenecks
    "deep-avg_down-bottleneck": (ResNetSpec(block="bottleneck", depths=(1, 1, 1, 1), widths=(1, 1, 1, 1),
                                            stem="deep", stem_width=4, shortcut="avg_down", in_channels=1,
                                            num_classes=1), 192),
    # geometry of the CIFAR resnet20: 3x3 stem without pooling, zero-padding shortcuts
    "resnet20-geometry": (ResNetSpec(block="basic", depths=(3, 3, 3), widths=(2, 4, 8), strides=(1, 2, 2),
                                     stem="cifar", stem_width=2, shortcut="zero_pad", in_channels=1,
                                     num_classes=1), 128),
    # mixed blocks and strides
    "mixed": (ResNetSpec(block=("basic", "bottleneck", "basic"), depths=(1, 2, 1), widths=(2, 1, 4),
                         strides=(2, 1, 2), stem="cifar", stem_width=2, in_channels=1, num_classes=1), 96),
    # timm's family: a tiered stem with ResNet-RS's conv pool, blur-pooled stride-2 blocks
    "tiered-conv_pool-blur": (ResNetSpec(block="basic", depths=(1, 1, 1), widths=(2, 2, 2), stem="deep_tiered",
                                         stem_width=8, stem_pool="conv", anti_alias="blur", in_channels=1,
                                         num_classes=1), 256),
    # Res2Net's chain of 3x3s (its second block's hierarchical splits), SKNet's dilated path (on an input of ones
    # its two paths agree away from the border, so no gradient flows through the attention's global pool at the
    # tested pixels; ResNeSt's split attention has no such symmetry: every output depends on the whole image)
    "res2net": (ResNetSpec(block="res2net", depths=(2, 2), widths=(4, 4), width_per_group=32, scales=4,
                           stem="cifar", stem_width=4, in_channels=1, num_classes=1), 96),
    "sknet": (ResNetSpec(block=("sk_basic", "sk_bottleneck"), depths=(1, 1), widths=(4, 4), stem="cifar",
                         stem_width=4, sk_split_input=False, strides=(1, 2), in_channels=1, num_classes=1), 64),
    # pre-activation, BiT's zero-padded pool
    "preact-bit_pool": (ResNetSpec(block="bottleneck", depths=(1, 1), widths=(2, 2), preact=True,
                                   stem_pool="zero_pad_max", stem_width=4, in_channels=1, num_classes=1), 96),
}


def positive_network(spec: ResNetSpec) -> nn.Module:
    model = build_model(spec).double().eval()  # eval BN: x / sqrt(1 + eps), positive stays positive
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.constant_(module.weight, 1.0 / module.weight[0].numel())
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.MaxPool2d):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, nn.AvgPool2d(module.kernel_size, module.stride,
                                                                     module.padding))
    return model


def extent(gradient: torch.Tensor, axis: int) -> tuple[int, int]:
    """First and last index along ``axis`` (0 rows, 1 columns) where the gradient is nonzero."""
    hits = (gradient != 0).any(dim=1 - axis).nonzero().flatten()
    return int(hits.min()), int(hits.max())


@pytest.mark.parametrize("design", DESIGNS)
def test_receptive_field_and_output_stride_match_the_input_gradient(design):
    spec, side = DESIGNS[design]
    spec = spec.replace(input_size=side)
    model = positive_network(spec)
    ends = {"stem": "maxpool" if spec.pool != "none" else "conv1" if spec.preact else "bn1"}
    ends.update({f"layer{i + 1}": f"layer{i + 1}" for i in range(spec.num_stages)})
    outputs = {}
    for stage, module_name in ends.items():
        model.get_submodule(module_name).register_forward_hook(
            lambda module, inputs, output, stage=stage: outputs.setdefault(stage, output))
    x = torch.ones(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    model(x)
    stages = analyse(spec).stages.set_index("stage")
    for stage, y in outputs.items():
        row, col = y.shape[-2] // 2, y.shape[-1] // 2
        windows = []
        for out_row, out_col in ((row, col), (row + 1, col + 1)):
            (gradient,) = torch.autograd.grad(y[0, :, out_row, out_col].sum(), x, retain_graph=True)
            windows.append([extent(gradient[0, 0], axis) for axis in (0, 1)])
        for axis in (0, 1):
            first, last = windows[0][axis]
            assert 0 < first and last < side - 1, f"{stage}: window clipped by the border; use a larger input"
            assert last - first + 1 == stages.loc[stage, "receptive_field"], (stage, axis)
            assert windows[1][axis][0] - first == stages.loc[stage, "output_stride"], (stage, axis)
    assert stages.loc["head", "receptive_field"] is pd.NA  # global pooling: the whole image
