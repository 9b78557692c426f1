"""Hypothesis strategies aimed at what breaks counters: block shapes that repeat across stages.

A counter that reuses work (a counted block, a stem, a plan) is wrong exactly when two things it takes for
the same differ in something the reuse ignores. So these draw, on purpose: a few distinct widths shared by
many stages (equal consecutive widths), depth-1 stages, every stride pattern, a stem as wide as a stage, every
block type (one for all stages or mixed), stem and shortcut, SE, groups, RegNet's group widths and ratios, 1-8
stages and odd, non-square input sizes just above the smallest the design accepts.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from arch_lab import ResNetSpec, SpecError
from arch_lab.network import BLOCKS, SHORTCUTS, STEMS, stem_strides


def _divisors(n: int, at_most: int) -> list[int]:
    return [d for d in range(1, min(n, at_most) + 1) if n % d == 0]


@st.composite
def specs(draw, max_stages: int = 8, max_extra_side: int = 24) -> ResNetSpec:
    """A valid spec whose stages often repeat a block shape (see the module docstring)."""
    stages = draw(st.integers(1, max_stages))
    kinds = sorted(BLOCKS)
    blocks = draw(st.one_of(st.sampled_from(kinds).map(lambda kind: [kind] * stages),
                            st.lists(st.sampled_from(kinds), min_size=stages, max_size=stages)))
    pool = draw(st.lists(st.integers(4, 24), min_size=1, max_size=3, unique=True))  # few widths: shapes repeat
    widths = draw(st.lists(st.sampled_from(pool), min_size=stages, max_size=stages))
    shortcut = draw(st.sampled_from(sorted(SHORTCUTS)))
    stem_width = draw(st.one_of(st.sampled_from(pool), st.integers(2, 24)))
    if shortcut == "zero_pad":  # it cannot shrink channels: widen in order, from the stem on
        widths = sorted(widths)
        stem_width = min(stem_width, widths[0])
    groups, wpg = 1, 64
    if "bottleneck" in blocks and "basic" not in blocks:
        groups, wpg = draw(st.integers(1, 4)), draw(st.sampled_from([16, 32, 64, 128]))
    ratios = [draw(st.sampled_from([0.25, 0.5, 1.0, 2.0])) if kind == "res_bottleneck" else 1.0 for kind in blocks]
    group_width = [draw(st.sampled_from([None, *_divisors(max(1, round(w * r)), 8)])) if kind == "res_bottleneck"
                   else None for kind, w, r in zip(blocks, widths, ratios, strict=True)]
    strides = draw(st.lists(st.sampled_from([1, 2]), min_size=stages, max_size=stages))
    stem = draw(st.sampled_from(sorted(STEMS)))
    halvings = len(stem_strides(stem)) + strides.count(2)
    smallest = 2 ** (halvings - 1) + 1 if halvings else 1
    side = st.integers(smallest, smallest + max_extra_side)
    fields = {
        "name": draw(st.text(max_size=12)),
        "block": blocks,
        "depths": draw(st.lists(st.one_of(st.just(1), st.integers(1, 3)), min_size=stages, max_size=stages)),
        "widths": widths,
        "strides": strides,
        "groups": groups,
        "width_per_group": wpg,
        "group_width": group_width,
        "bottleneck_ratio": ratios,
        "stem": stem,
        "stem_width": stem_width,
        "shortcut": shortcut,
        "conv_bias": draw(st.booleans()),
        "se_ratio": draw(st.sampled_from([0.0, 0.0625, 0.25, 1.0])),
        "zero_init_residual": draw(st.booleans()),
        "in_channels": draw(st.integers(1, 4)),
        "num_classes": draw(st.integers(1, 12)),
        "input_size": draw(st.one_of(side, st.tuples(side, side).map(list))),
    }
    try:
        return ResNetSpec.from_dict(fields)
    except SpecError:
        assume(False)  # e.g. a bottleneck width with too few channels per group
        raise
