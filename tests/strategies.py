"""Hypothesis strategies aimed at what breaks counters: block shapes that repeat across stages, and every
option of the timm family.

A counter that reuses work (a counted block, a stem, a plan) is wrong exactly when two things it takes for
the same differ in something the reuse ignores. So these draw, on purpose: a few distinct widths shared by
many stages (equal consecutive widths), depth-1 stages, every stride pattern, a stem as wide as a stage, every
block type (one for all stages or mixed), stem, stem pool and shortcut, SE and ECA, norms, activations,
anti-aliasing, pre-activation, the forking blocks' settings, groups, RegNet's group widths and ratios, 1-8
stages and odd, non-square input sizes just above the smallest the design accepts.
"""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from arch_lab import ResNetSpec, SpecError
from arch_lab.network import BLOCKS, DEFAULT_POOL, SHORTCUTS, STEM_POOLS, STEMS, Style, stem_halvings

ANTI_ALIASED = ("basic", "bottleneck", "res_bottleneck")
PREACT = tuple(kind for kind, block in BLOCKS.items() if block.preact)


def _divisors(n: int, at_most: int) -> list[int]:
    return [d for d in range(1, min(n, at_most) + 1) if n % d == 0]


@st.composite
def family(draw, kinds: list[str]) -> dict:
    """The timm-family fields, drawn so that most combinations are valid for ``kinds``."""
    fields: dict = {}
    preact = set(kinds) <= set(PREACT) and draw(st.integers(0, 4)) == 0
    if preact:
        fields["preact"] = True
    elif set(kinds) <= set(ANTI_ALIASED):
        fields["anti_alias"] = draw(st.sampled_from(["none", "none", "avg", "blur"]))
    if not preact:
        fields["linear_out"] = draw(st.booleans())
        fields["head_width"] = draw(st.sampled_from([None, None, 8, 24]))
    attention = draw(st.sampled_from(["none", "se", "eca"]))
    if attention == "eca":
        fields["attention"] = "eca"
    fields["se_ratio"] = draw(st.sampled_from([0.0625, 0.25, 1.0])) if attention == "se" else 0.0
    if attention == "se":
        fields["se_divisor"] = draw(st.sampled_from([1, 8]))
    if draw(st.integers(0, 3)) == 0:
        fields["norm"] = "groupnorm"
        fields[draw(st.sampled_from(["norm_groups", "norm_group_width"]))] = draw(st.sampled_from([1, 2]))
    fields["activation"] = draw(st.sampled_from(["relu", "silu"]))
    fields["weight_standardization"] = draw(st.integers(0, 5)) == 0
    fields["stem_pool"] = draw(st.sampled_from([None, None, *sorted(STEM_POOLS)]))
    if set(kinds) <= {"basic", "bottleneck", "sk_basic", "sk_bottleneck"}:
        fields["reduce_first"] = draw(st.sampled_from([1, 1, 2]))
    if "split_attention" in kinds:
        fields["radix"] = draw(st.integers(1, 3))
        fields["avd"] = draw(st.sampled_from(["none", "first", "last"]))
    if "res2net" in kinds:
        fields["scales"] = draw(st.integers(2, 4))
    if {"sk_basic", "sk_bottleneck"} & set(kinds):
        fields["sk_ratio"] = draw(st.sampled_from([0.0625, 0.125, 0.5]))
        fields["sk_divisor"] = draw(st.sampled_from([1, 8, 16]))
        fields["sk_split_input"] = draw(st.booleans())
    return fields


@st.composite
def specs(draw, max_stages: int = 8, max_extra_side: int = 24, timm_family: bool = True) -> ResNetSpec:
    """A valid spec whose stages often repeat a block shape (see the module docstring)."""
    stages = draw(st.integers(1, max_stages))
    kinds = sorted(BLOCKS) if timm_family else ["basic", "bottleneck", "res_bottleneck"]
    blocks = draw(st.one_of(st.sampled_from(kinds).map(lambda kind: [kind] * stages),
                            st.lists(st.sampled_from(kinds), min_size=stages, max_size=stages)))
    pool = draw(st.lists(st.integers(4, 24), min_size=1, max_size=3, unique=True))  # few widths: shapes repeat
    widths = draw(st.lists(st.sampled_from(pool), min_size=stages, max_size=stages))
    extra = draw(family(blocks)) if timm_family else {}
    shortcuts = ["projection", "avg_down"] if extra.get("preact") else sorted(SHORTCUTS)
    shortcut = draw(st.sampled_from(shortcuts))
    stem_width = draw(st.one_of(st.sampled_from(pool), st.integers(8, 24)))
    if shortcut == "zero_pad":  # it cannot shrink channels: widen in order, from the stem on
        widths = sorted(widths)
        stem_width = min(stem_width, widths[0])
    if shortcut == "projection" and timm_family:
        extra["shortcut_kernel"] = draw(st.sampled_from([1, 1, 3]))
    groups, wpg = 1, 64
    if all(BLOCKS[kind].grouped != "none" for kind in blocks) and any(
            BLOCKS[kind].grouped == "resnext" for kind in blocks):
        groups, wpg = draw(st.integers(1, 4)), draw(st.sampled_from([16, 32, 64, 128]))
    ratios = [draw(st.sampled_from([0.25, 0.5, 1.0, 2.0])) if kind == "res_bottleneck" else 1.0 for kind in blocks]
    group_width = [draw(st.sampled_from([None, *_divisors(max(1, round(w * r)), 8)])) if kind == "res_bottleneck"
                   else None for kind, w, r in zip(blocks, widths, ratios, strict=True)]
    strides = draw(st.lists(st.sampled_from([1, 2]), min_size=stages, max_size=stages))
    stem = draw(st.sampled_from(sorted(STEMS)))
    style = Style(anti_alias=extra.get("anti_alias", "none"))
    halvings = len(stem_halvings(stem, extra.get("stem_pool") or DEFAULT_POOL[stem], style)) + strides.count(2)
    if extra.get("anti_alias") == "avg":  # its 2x2 pool floors where the shortcut ceils: even maps only
        side = st.integers(1, 3).map(lambda m: m * 2 ** halvings)
    else:
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
        "zero_init_residual": draw(st.booleans()),
        "in_channels": draw(st.integers(1, 4)),
        "num_classes": draw(st.integers(1, 12)),
        "input_size": draw(st.one_of(side, st.tuples(side, side).map(list))),
        "se_ratio": draw(st.sampled_from([0.0, 0.0625, 0.25, 1.0])),
        **extra,
    }
    try:
        return ResNetSpec.from_dict(fields)
    except SpecError:
        assume(False)  # e.g. a bottleneck width with too few channels per group
        raise
