"""The network described once, as data: what every layer is, in forward order, and what role it plays.

``describe(spec)`` turns a spec into a :class:`Network` of small frozen nodes (:mod:`arch_lab.network.nodes`:
conv, norm, activation, pools, attention, the forking steps of ResNeSt, Res2Net and SKNet, residual blocks
made of steps). Two interpreters read it and nothing else: :mod:`arch_lab.models` makes modules under the
nodes' names (torchvision's and timm's, so their weights load) and :mod:`arch_lab.plan` does the arithmetic,
recording each layer's role (stem, branch, shortcut, SE, head) so that no analyser parses a dotted name. The
input-size check, the memory model and the receptive field read the same structure.

One registry per component: :data:`STEMS`, :data:`STEM_POOLS`, :data:`BLOCKS`, :data:`SHORTCUTS`, plus the
choices of :mod:`arch_lab.network.style`. Their keys are the spec's allowed values, so validation, building
and counting cannot disagree on what exists. Torch-free; the spec imports the registries' keys from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from arch_lab.network.blocks import BLOCKS, SHORTCUTS, BlockKind, BlockShape, block, split_attention_channels
from arch_lab.network.nodes import (
    ACTIVATIONS,
    ATTENTION_STEPS,
    NORM_TYPES,
    Act,
    Block,
    BlurPool,
    Conv,
    EfficientChannelAttention,
    Identity,
    Leaf,
    Network,
    Norm,
    Pad,
    Pool,
    PoolStep,
    Res2Split,
    SelectiveKernel,
    Sequential,
    SplitAttention,
    SqueezeExcitation,
    Step,
    Unit,
    ZeroPad,
)
from arch_lab.network.stems import DEFAULT_POOL, STEM_POOLS, STEMS, stem
from arch_lab.network.style import ANTI_ALIAS, ATTENTION, AVD, NORMS, Style, eca_kernel, make_divisible

if TYPE_CHECKING:
    from arch_lab.spec import ResNetSpec

__all__ = ["ACTIVATIONS", "ANTI_ALIAS", "ATTENTION", "ATTENTION_STEPS", "AVD", "BLOCKS", "DEFAULT_POOL", "NORMS",
           "NORM_TYPES", "SHORTCUTS", "STEMS", "STEM_POOLS", "Act", "Block", "BlockKind", "BlockShape", "BlurPool",
           "Conv", "EfficientChannelAttention", "Identity", "Leaf", "Network", "Norm", "Pad", "Pool", "PoolStep",
           "Res2Split", "SelectiveKernel", "Sequential", "SplitAttention", "SqueezeExcitation", "Step", "Style",
           "Unit", "ZeroPad", "attention_kind", "block", "describe", "eca_kernel", "make_divisible", "stem",
           "split_attention_channels", "stem_halvings", "stem_pool_kind", "style_of"]


def style_of(spec: ResNetSpec) -> Style:
    """The network-wide choices of ``spec``."""
    return Style(norm=spec.norm, norm_groups=spec.norm_groups, norm_group_width=spec.norm_group_width,
                 act=spec.activation, anti_alias=spec.anti_alias, attention=attention_kind(spec),
                 se_ratio=spec.se_ratio, se_divisor=spec.se_divisor, bias=spec.conv_bias,
                 standardized=spec.weight_standardization,
                 preact=spec.preact, reduce_first=spec.reduce_first, linear_out=spec.linear_out, radix=spec.radix,
                 avd=spec.avd, scales=spec.scales, sk_ratio=spec.sk_ratio, sk_divisor=spec.sk_divisor,
                 sk_split_input=spec.sk_split_input)


def attention_kind(spec: ResNetSpec) -> str:
    """Squeeze-excitation when ``se_ratio > 0`` (torchvision's convention), else the spec's ``attention``
    (``"eca"``) or none."""
    return "se" if spec.se_ratio > 0 else spec.attention or "none"


def stem_pool_kind(spec: ResNetSpec) -> str:
    """The spec's ``stem_pool``, or its stem's own (:data:`DEFAULT_POOL`) when that is None."""
    return spec.stem_pool or DEFAULT_POOL[spec.stem]


def describe(spec: ResNetSpec) -> Network:
    """The network ``spec`` describes. A stage's blocks after the first are one and the same node."""
    style = style_of(spec)
    stages = []
    channels = spec.stem_width
    for stage, kind in enumerate(spec.stage_blocks):
        out, inner, groups = spec.stage_out_channels(stage), spec.stage_inner_width(stage), spec.stage_groups(stage)
        first = block(kind, BlockShape(channels, out, inner, spec.strides[stage], groups, style),  # type: ignore[index]
                      spec.shortcut, spec.shortcut_kernel)
        rest = block(kind, BlockShape(out, out, inner, 1, groups, style), spec.shortcut, spec.shortcut_kernel)
        stages.append((first,) + (rest,) * (spec.depths[stage] - 1))
        channels = out
    head, features = _head(spec, style, channels)
    return Network(stem(spec.stem, stem_pool_kind(spec), spec.stem_width, style), tuple(stages), head,
                   spec.in_channels, spec.num_classes, features)


def _head(spec: ResNetSpec, style: Style, channels: int) -> tuple[tuple[Leaf, ...], int]:
    """The layers between the last stage and the global pool, and the channels they leave: a final norm
    and activation after pre-activation blocks (timm ``ResNetV2.norm``); RegNetZ's 1x1 conv, norm and
    activation to ``head_width`` (timm ``final_conv``), or its activation alone after linear-output blocks."""
    if style.preact:
        return (style.norm_node("final_bn", channels), style.act_node("final_act")), channels
    if spec.head_width:
        conv = style.conv_node("final_conv", spec.head_width, 1)
        return (conv, style.norm_node("final_bn", spec.head_width), style.act_node("final_act")), spec.head_width
    if style.linear_out:
        return (style.act_node("final_act"),), channels
    return (), channels


def stem_halvings(kind: str, pool: str, style: Style) -> tuple[tuple[str, bool], ...]:
    """Where the stem halves the input, in words, and whether it rounds down (an un-padded 2x2 average
    pool) rather than up, read from its description (for the input-size check)."""
    steps = []
    for node in stem(kind, pool, 2, style):
        leaves = node.items if isinstance(node, Sequential) else (node,)
        for leaf in leaves:
            if getattr(leaf, "stride", 1) == 2:
                steps.append((_HALVING_WORDS.get(getattr(leaf, "kind", type(leaf).__name__), "the stem") if
                              node.name == "maxpool" else "the stem",
                              isinstance(leaf, Pool) and leaf.kernel == 2 and not leaf.ceil))
    return tuple(steps)


_HALVING_WORDS = {"MaxPool2d": "the stem's max-pool", "AvgPool2d": "the stem's average pool",
                  "BlurPool": "the stem's blur pool", "Conv": "the stem's pool conv"}
