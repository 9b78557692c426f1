"""Property test of the two interpreters of one description: for random specs — every block type mixed
per stage, RegNet's fields, every stem and shortcut, 1 to 6 stages — the counting interpreter's whole
per-layer table equals what the module interpreter builds (hooks on the meta device) and what
``torch.utils.flop_counter`` counts, layer by layer."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_analysis_crosscheck import check_flops_match_flop_counter, check_layers_match_the_module

from arch_lab import ResNetSpec, SpecError, analyse, build_model
from arch_lab.analysis.sweep import SWEEP_METRICS, sweep_metrics
from arch_lab.network import BLOCKS, SHORTCUTS, STEMS


@st.composite
def specs(draw) -> ResNetSpec:
    stages = draw(st.integers(1, 6))
    blocks = draw(st.lists(st.sampled_from(sorted(BLOCKS)), min_size=stages, max_size=stages))
    regnet = [kind == "res_bottleneck" for kind in blocks]
    groups, wpg = 1, 64
    if "bottleneck" in blocks and "basic" not in blocks:
        groups, wpg = draw(st.integers(1, 4)), draw(st.sampled_from([16, 32, 64, 128]))
    fields = {
        "name": draw(st.text(max_size=12)),
        "block": blocks,
        "depths": draw(st.lists(st.integers(1, 2), min_size=stages, max_size=stages)),
        "widths": draw(st.lists(st.integers(2, 24), min_size=stages, max_size=stages)),
        "strides": draw(st.lists(st.sampled_from([1, 2]), min_size=stages, max_size=stages)),
        "groups": groups,
        "width_per_group": wpg,
        "group_width": [draw(st.sampled_from([None, 1, 2, 4, 8])) if r else None for r in regnet],
        "bottleneck_ratio": [draw(st.sampled_from([0.25, 0.5, 1.0, 2.0])) if r else 1.0 for r in regnet],
        "stem": draw(st.sampled_from(sorted(STEMS))),
        "stem_width": draw(st.integers(2, 24)),
        "shortcut": draw(st.sampled_from(sorted(SHORTCUTS))),
        "conv_bias": draw(st.booleans()),
        "se_ratio": draw(st.sampled_from([0.0, 0.0625, 0.25, 1.0])),
        "zero_init_residual": draw(st.booleans()),
        "in_channels": draw(st.integers(1, 4)),
        "num_classes": draw(st.integers(1, 12)),
        "input_size": draw(st.one_of(st.integers(8, 72), st.tuples(st.integers(8, 72), st.integers(8, 72)))),
    }
    try:
        return ResNetSpec.from_dict(fields)
    except SpecError:
        assume(False)  # a group width that does not divide, an input too small for its strides, …


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(specs(), st.integers(1, 2))
def test_counted_layers_equal_the_built_module_and_the_flop_counter(spec, batch):
    report = analyse(spec, batch_size=batch)
    model = build_model(spec, device="meta").eval()
    x = torch.zeros(batch, spec.in_channels, *spec.input_size, device="meta")
    check_layers_match_the_module(report, model, x)
    check_flops_match_flop_counter(report, model, x)
    assert ResNetSpec.from_dict(spec.to_dict()) == spec


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(specs(), st.integers(1, 3))
def test_sweep_metrics_equal_the_report(spec, batch):
    report = analyse(spec, batch_size=batch)
    assert sweep_metrics(spec, batch) == {name: getattr(report, name) for name in SWEEP_METRICS}
