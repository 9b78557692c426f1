"""Property test of the two interpreters of one description: for random specs aimed at repeated block shapes
(tests/strategies.py) — every block type, one or mixed per stage, RegNet's fields, every stem and shortcut, 1 to
8 stages — the counting interpreter's whole per-layer table equals what the module interpreter builds (hooks
on the meta device) and what ``torch.utils.flop_counter`` counts, layer by layer."""

from __future__ import annotations

import pytest
import torch
from hunting import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from strategies import specs
from test_analysis_crosscheck import check_flops_match_flop_counter, check_layers_match_the_module

from arch_lab import ResNetSpec, analyse, build_model
from arch_lab.analysis.report import Report
from arch_lab.analysis.sweep import SWEEP_METRICS, sweep_metrics

REPEATED_SHAPES = [
    # issue 16's two specs: a stage's first block has the shape of an earlier stage's block
    {"block": "basic", "depths": [1, 1, 1, 1], "widths": [64, 64, 64, 64], "strides": [1, 2, 2, 2]},
    {"block": "bottleneck", "depths": [1, 1, 1, 1, 1, 2], "widths": [16, 16, 16, 16, 16, 32],
     "strides": [2, 2, 2, 2, 2, 2], "groups": 4, "stem": "cifar", "shortcut": "conv", "se_ratio": 0.25,
     "num_classes": 10, "input_size": 96},
    # in their spirit: equal widths at stride 1 after stride 2, a stem as wide as the stages, RegNet, ResNet-D
    {"block": "basic", "depths": [1, 1, 1], "widths": [16, 16, 16], "strides": [2, 1, 2], "stem": "cifar",
     "stem_width": 16, "input_size": 33},
    {"block": "res_bottleneck", "depths": [1, 1, 2], "widths": [24, 24, 24], "strides": [2, 2, 2],
     "group_width": 8, "stem": "simple", "stem_width": 24, "se_ratio": 0.25, "input_size": [41, 37]},
    {"block": ["bottleneck", "basic", "bottleneck"], "depths": [1, 1, 1], "widths": [8, 32, 8],
     "strides": [2, 1, 2], "shortcut": "avg_down", "stem": "deep", "input_size": 65},
]
"""Specs whose blocks repeat a shape across stages; each is counted exactly (the counter once reused a block
counted at another input shape, e.g. layer3.0.downsample.0 at 56x56 where the module sees 28x28)."""


def check_against_the_module(spec: ResNetSpec, batch: int) -> Report:
    """``analyse(spec)`` against the meta-device module and the flop counter; returns the checked report."""
    report = analyse(spec, batch_size=batch)
    model = build_model(spec, device="meta").eval()
    x = torch.zeros(batch, spec.in_channels, *spec.input_size, device="meta")
    check_layers_match_the_module(report, model, x)
    check_flops_match_flop_counter(report, model, x)
    return report


@pytest.mark.parametrize("fields", REPEATED_SHAPES, ids=range(len(REPEATED_SHAPES)))
def test_repeated_block_shapes_are_counted_exactly(fields):
    check_against_the_module(ResNetSpec.from_dict(fields), 2)


@settings(max_examples=examples(80), suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(specs(), st.integers(1, 2))
@example(ResNetSpec.from_dict(REPEATED_SHAPES[0]), 1)
@example(ResNetSpec.from_dict(REPEATED_SHAPES[1]), 1)
def test_counted_layers_equal_the_built_module_and_the_flop_counter(spec, batch):
    check_against_the_module(spec, batch)
    assert ResNetSpec.from_dict(spec.to_dict()) == spec


@settings(max_examples=examples(150), suppress_health_check=[HealthCheck.filter_too_much])
@given(specs(), st.integers(1, 3))
def test_sweep_metrics_equal_the_report(spec, batch):
    report = analyse(spec, batch_size=batch)
    assert sweep_metrics(spec, batch) == {name: getattr(report, name) for name in SWEEP_METRICS}
