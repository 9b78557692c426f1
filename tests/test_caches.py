"""Every cache of the library keys on everything its value depends on.

A cache's key is a claim about what its value depends on. For each cache, two inputs that differ in just one
such thing must get different results, each equal to the result computed with every cache cleared. (The
counter once reused a block counted at another input shape because its key left the input shape out.)

The caches: :func:`arch_lab.network.block` and :func:`~arch_lab.network.stem` (described nodes), the counted
blocks and stems and the plans of :mod:`arch_lab.plan`, the reports of :func:`arch_lab.analyse`, the memory
model's per-block figures, and the explorer's duplicate check (which keys on the network).
"""

from __future__ import annotations

import dataclasses

import pytest

from arch_lab import ResNetSpec, analyse
from arch_lab.analysis import memory
from arch_lab.analysis.report import clear_cache
from arch_lab.network import BlockShape, Style, block, stem
from arch_lab.plan import count, count_block, plan

BASE = {"name": "a", "block": "bottleneck", "depths": [1, 2], "widths": [8, 8], "strides": [1, 2],
        "stem_width": 16, "input_size": 64}
REGNET_BASE = {"name": "r", "block": "res_bottleneck", "depths": [1, 1], "widths": [16, 16], "strides": [2, 2],
               "group_width": 4, "stem": "simple", "stem_width": 16, "input_size": 32}
GN_BASE = {**BASE, "widths": [32, 32], "stem_width": 32, "norm": "groupnorm"}
VARIANTS = [  # (base, field, another value): every field of a spec but its name
    (BASE, "block", "basic"), (BASE, "depths", [2, 2]), (BASE, "widths", [8, 16]), (BASE, "strides", [2, 2]),
    (BASE, "groups", 2), (BASE, "width_per_group", 32), (BASE, "stem", "deep"), (BASE, "stem_width", 32),
    (BASE, "shortcut", "avg_down"), (BASE, "conv_bias", True), (BASE, "se_ratio", 0.25),
    (BASE, "zero_init_residual", True), (BASE, "in_channels", 1), (BASE, "num_classes", 10),
    (BASE, "input_size", 65), (BASE, "input_size", [64, 72]),
    (REGNET_BASE, "group_width", 8), (REGNET_BASE, "bottleneck_ratio", 0.5),
    (BASE, "stem_pool", "conv"), (BASE, "attention", "eca"), (BASE, "anti_alias", "blur"),
    ({**BASE, "widths": [32, 32], "stem_width": 32}, "norm", "groupnorm"),
    (BASE, "activation", "silu"), (BASE, "weight_standardization", True), (BASE, "preact", True),
    (BASE, "shortcut_kernel", 3), (BASE, "reduce_first", 2), ({**BASE, "activation": "silu"}, "linear_out", True),
    (BASE, "head_width", 48),
    ({**BASE, "se_ratio": 0.0625}, "se_divisor", 8),
    (GN_BASE, "norm_groups", 4), (GN_BASE, "norm_group_width", 4),
    ({**BASE, "block": "split_attention"}, "radix", 1), ({**BASE, "block": "split_attention"}, "avd", "last"),
    ({**BASE, "block": "res2net"}, "scales", 2),
    ({**BASE, "block": "sk_bottleneck", "widths": [64, 64]}, "sk_ratio", 0.25),
    ({**BASE, "block": "sk_bottleneck"}, "sk_divisor", 16),
    ({**BASE, "block": "sk_bottleneck"}, "sk_split_input", False),
]
UNCOUNTED = {"zero_init_residual"}
"""Fields that change how weights are initialised, not one count: their plans are equal."""


def fresh(compute):
    """``compute()`` with every cache cleared first (and after: later tests start cold too)."""
    clear_cache()
    try:
        return compute()
    finally:
        clear_cache()


def test_every_spec_field_is_varied():
    assert {field for _, field, _ in VARIANTS} == {f.name for f in dataclasses.fields(ResNetSpec)} - {"name"}


@pytest.mark.parametrize(("base", "field", "value"), VARIANTS, ids=[f"{f}={v}" for _, f, v in VARIANTS])
def test_plans_and_reports_key_on_every_field(base, field, value):
    a, b = ResNetSpec.from_dict(base), ResNetSpec.from_dict({**base, field: value})
    clear_cache()
    warm = plan(a), analyse(a, batch_size=2).to_dict(), count(a).macs
    cached = plan(b), analyse(b, batch_size=2).to_dict(), count(b).macs
    assert cached == fresh(lambda: (plan(b), analyse(b, batch_size=2).to_dict(), count(b).macs))
    if field not in UNCOUNTED:  # the numbers differ (the layers, or at least the memory the layers do not show)
        assert (cached[0], _numbers(cached[1])) != (warm[0], _numbers(warm[1]))
    assert cached[1]["spec"][field] != warm[1]["spec"][field]


def _numbers(report: dict) -> dict:
    return {key: value for key, value in report.items() if key not in ("spec", "name")}


def test_reports_key_on_the_batch_size_and_keep_the_name_they_are_asked_for():
    spec = ResNetSpec.from_dict(BASE)
    one, two = analyse(spec, batch_size=1), analyse(spec, batch_size=2)
    assert two.macs == 2 * one.macs == fresh(lambda: analyse(spec, batch_size=2).macs)
    renamed = analyse(spec.replace(name="b"), batch_size=2)
    assert (renamed.name, renamed.macs) == ("b", two.macs)


SHAPE = BlockShape(in_channels=8, out_channels=16, inner=8, stride=2, groups=1, style=Style())
SHAPE_VARIANTS = [("in_channels", 16), ("out_channels", 32), ("inner", 16), ("stride", 1), ("groups", 2),
                  ("style", Style(attention="se", se_ratio=0.25)), ("style", Style(bias=True)),
                  ("style", Style(norm="groupnorm", norm_groups=4)), ("style", Style(act="silu")),
                  ("style", Style(anti_alias="avg")), ("style", Style(preact=True)), ("style", Style(reduce_first=2)),
                  ("style", Style(attention="eca")), ("style", Style(linear_out=True))]


@pytest.mark.parametrize(("field", "value"), SHAPE_VARIANTS, ids=[f"{f}{i}" for i, (f, _) in enumerate(SHAPE_VARIANTS)])
def test_described_blocks_key_on_every_field_of_their_shape(field, value):
    other = dataclasses.replace(SHAPE, **{field: value})
    a, b = block("bottleneck", SHAPE, "projection"), block("bottleneck", other, "projection")
    assert b is not a
    def parts(node):
        return node.in_channels, node.out_channels, node.stride, node.steps, node.shortcut, node.act, node.preact

    assert parts(b) == parts(block.__wrapped__("bottleneck", other, "projection")) != parts(a)


@pytest.mark.parametrize(("kind", "shortcut", "kernel"), [("basic", "projection", 1), ("bottleneck", "avg_down", 1),
                                                          ("bottleneck", "projection", 3)])
def test_described_blocks_key_on_their_kind_shortcut_and_its_kernel(kind, shortcut, kernel):
    a, b = block("bottleneck", SHAPE, "projection"), block(kind, SHAPE, shortcut, kernel)
    assert b is not a and (b.kind, b.steps, b.shortcut) != (a.kind, a.steps, a.shortcut)
    uncached = block.__wrapped__(kind, SHAPE, shortcut, kernel)
    assert (b.kind, b.steps, b.shortcut) == (uncached.kind, uncached.steps, uncached.shortcut)


@pytest.mark.parametrize("args", [("deep", "max", 32, Style()), ("classic", "conv", 32, Style()),
                                  ("classic", "max", 16, Style()), ("classic", "max", 32, Style(bias=True)),
                                  ("classic", "max", 32, Style(anti_alias="blur"))])
def test_described_stems_key_on_kind_pool_width_and_style(args):
    assert stem(*args) == stem.__wrapped__(*args) != stem("classic", "max", 32, Style())


@pytest.mark.parametrize("shape", [(8, 33, 32), (8, 32, 33), (8, 16, 32)])
def test_counted_blocks_key_on_the_input_shape(shape):
    node = block("bottleneck", SHAPE, "projection")
    a, b = count_block(node, (8, 32, 32)), count_block(node, shape)
    assert b.input_shape == shape and b.layers != a.layers
    uncached = fresh(lambda: count_block(node, shape))
    assert (b.layers, b.params, b.macs, b.output_shape) == (uncached.layers, uncached.params, uncached.macs,
                                                            uncached.output_shape)
    # the memory model's per-block figures, keyed by the counted block
    assert memory.block_figures(b) != memory.block_figures(a)
    assert memory.block_figures(b) == memory._block_figures(b)


@pytest.mark.parametrize(("field", "value"), [("in_channels", 1), ("input_size", 65), ("stem_width", 32)])
def test_counted_stems_key_on_the_input_shape_and_the_stem(field, value):
    a, b = ResNetSpec.from_dict(BASE), ResNetSpec.from_dict({**BASE, field: value})
    clear_cache()
    warm, cached = count(a).stem, count(b).stem
    assert cached != warm and cached == fresh(lambda: count(b).stem)


def test_the_explorers_duplicate_check_keys_on_the_network_not_the_name():
    a = ResNetSpec.from_dict(BASE)
    assert a.network() == a.replace(name="b").network()
    for base, field, value in VARIANTS:
        if base is BASE:
            assert a.replace(**{field: value}).network() != a.network(), field


@pytest.mark.parametrize(("base", "field", "value"), VARIANTS, ids=[f"{f}={v}" for _, f, v in VARIANTS])
def test_the_explorers_parts_counter_keys_on_every_field(base, field, value):
    """One counter, one run: a design differing from a counted one in one field gets its own numbers."""
    from arch_lab.analysis.sweep import sweep_metrics
    from arch_lab.explore.counter import PartsCounter

    a, b = ResNetSpec.from_dict(base), ResNetSpec.from_dict({**base, field: value})
    counter = PartsCounter()
    for spec in (a, b, a, b):  # the second time round every part is known
        assert counter.metrics(spec) == fresh(lambda spec=spec: sweep_metrics(spec))
