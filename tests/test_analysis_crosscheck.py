"""The analytic report against independent counters, for every preset: the real built module (forward
hooks), torchinfo's summary and ``torch.utils.flop_counter``, all three on the meta device (fvcore, which
needs real tensors, is in test_analysis_fvcore.py).

The second resolution is a non-square 160x192 for a few ImageNet designs and 40 / 40x48 for CIFAR
ones, at batch 2 so that the batch scaling is checked too.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary

from arch_lab import analyse, build_model, list_presets, load_preset
from arch_lab.plan import CONV_TYPES

CASES = [(name, None, 1) for name in list_presets()] + [
    ("resnet18", (160, 192), 2), ("resnet50d", (160, 192), 2), ("se_resnet50", (160, 192), 2),
    ("resnext50_32x4d", (160, 192), 2), ("d2l_resnet18", (160, 192), 2), ("resnet20", 40, 2),
    ("resnet56", (40, 48), 2),
]
IDS = [f"{name}-{size or 'native'}-b{batch}" for name, size, batch in CASES]
STATELESS = (nn.ReLU, nn.SiLU, nn.Sigmoid, nn.Identity)
"""Leaf modules that hold and count nothing; the report leaves them out."""


def setup(name, size, batch, device="meta"):
    report = analyse(load_preset(name), input_size=size, batch_size=batch)
    model = build_model(report.spec, device=device).eval()
    x = torch.zeros(batch, report.spec.in_channels, *report.input_size, device=device)
    return report, model, x


def record_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """(input shape, output shape) of every module's first call."""
    shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}

    def hook_for(name):
        def hook(module, inputs, output):
            shapes.setdefault(name, (tuple(inputs[0].shape), tuple(output.shape)))
        return hook

    handles = [module.register_forward_hook(hook_for(name)) for name, module in model.named_modules()]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return shapes


def pair(value):
    return value if isinstance(value, tuple) else (value, value)


def check_layers_match_the_module(report, model: nn.Module, x: torch.Tensor) -> None:
    """The report's whole per-layer table (names, types, shapes, params, kernel/stride/groups) against
    the built module's forward hooks; also used by the property tests over random specs."""
    shapes = record_shapes(model, x)
    layers = report.layers
    leaves = {n for n, m in model.named_modules() if not list(m.children()) and not isinstance(m, STATELESS)}
    assert set(layers["name"]) == leaves  # nothing missed, nothing invented
    for row in layers.itertuples():
        module = model.get_submodule(row.name)
        assert type(module).__name__ == row.type, row.name
        assert shapes[row.name] == (row.input_shape, row.output_shape), row.name
        assert sum(p.numel() for p in module.parameters()) == row.params, row.name
        if isinstance(module, nn.Conv2d):
            assert (module.kernel_size, module.stride, module.groups, module.dilation) == (
                pair(row.kernel), pair(row.stride), row.groups, pair(row.dilation)), row.name
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            assert (pair(module.kernel_size), pair(module.stride)) == (pair(row.kernel), pair(row.stride)), row.name
    # model.parameters() yields a tensor shared by several modules once
    assert report.params == report.trainable_params == sum(p.numel() for p in model.parameters())
    assert report.stages["output_shape"].iloc[-1] == shapes[""][1]


def check_flops_match_flop_counter(report, model: nn.Module, x: torch.Tensor) -> None:
    """Total and per-module FLOPs from ``torch.utils.flop_counter`` are 2 x the report's MACs."""
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == report.flops == 2 * report.macs
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    for row in report.layers.itertuples():
        if row.type in CONV_TYPES or row.type == "Linear":
            assert sum(per_module[f"{root}.{row.name}"].values()) == 2 * row.macs, row.name


@pytest.mark.parametrize(("name", "size", "batch"), CASES, ids=IDS)
def test_layers_match_the_built_module(name, size, batch):
    check_layers_match_the_module(*setup(name, size, batch))


@pytest.mark.parametrize(("name", "size", "batch"), CASES, ids=IDS)
def test_flop_counter_mode_counts_two_flops_per_mac(name, size, batch):
    check_flops_match_flop_counter(*setup(name, size, batch))


def qualified_name(info) -> str:
    parts = []
    while info.parent_info is not None:
        parts.append(info.var_name)
        info = info.parent_info
    return ".".join(reversed(parts))


@pytest.mark.parametrize(("name", "size", "batch"), CASES, ids=IDS)
def test_torchinfo_shapes_and_parameter_totals(name, size, batch):
    report, model, x = setup(name, size, batch)
    stats = summary(model, input_data=x, device=torch.device("meta"), verbose=0, mode="eval")
    assert stats.total_params == report.params
    assert stats.trainable_params == report.trainable_params
    rows = {}
    for info in stats.summary_list:
        if info.is_leaf_layer:
            rows.setdefault(qualified_name(info), info)
    for row in report.layers.itertuples():
        info = rows[row.name]
        assert (tuple(info.input_size), tuple(info.output_size), info.num_params) == (
            row.input_shape, row.output_shape, row.params), row.name
