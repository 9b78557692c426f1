"""Block kinds and shortcuts: how a residual block of each kind lays out its branch.

One registry each: :data:`BLOCKS` (block name -> :class:`BlockKind`) and :data:`SHORTCUTS`. Their keys are
the spec's allowed values. A block kind is a function from a :class:`BlockShape` to the branch's steps;
both interpreters read the steps, so a new block type is one entry here (and a new *kind of step*, a node in
:mod:`arch_lab.network.nodes` with its counting, module and memory rules).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from arch_lab.network.nodes import (
    Block,
    Conv,
    Identity,
    Leaf,
    Pool,
    PoolStep,
    Res2Split,
    SelectiveKernel,
    Sequential,
    SplitAttention,
    Step,
    Unit,
    ZeroPad,
)
from arch_lab.network.style import Style, make_divisible


@dataclass(frozen=True)
class BlockShape:
    """What a block kind needs to lay out its branch: its channels, the width of its 3x3 convs
    (``inner``), stride, groups of the 3x3 convs, and the network's :class:`Style`."""

    in_channels: int
    out_channels: int
    inner: int
    stride: int
    groups: int
    style: Style

    @property
    def changes_shape(self) -> bool:
        return self.stride != 1 or self.in_channels != self.out_channels


def _unit(index: int, channels_in: int, out: int, kernel: int, s: BlockShape, act: bool, stride: int = 1,
          groups: int = 1) -> Unit:
    """``conv{index}`` and ``bn{index}`` (and an activation), the stride-2 conv anti-aliased if the style
    says so (timm: the conv runs at stride 1, the ``aa`` layer downsamples after the activation). A
    pre-activation unit normalises what it takes (``channels_in``), not what its conv makes."""
    style = s.style
    aa = style.downsampler("aa", out) if stride == 2 and not style.preact else None
    conv = style.conv_node(f"conv{index}", out, kernel, 1 if aa else stride, groups)
    norm = style.norm_node(f"bn{index}", channels_in if style.preact else out)
    return Unit(conv, norm, style.act_node() if act or style.preact else None, aa, style.preact)


def _units(s: BlockShape, *layout: tuple[int, int, int, bool, int, int]) -> tuple[Unit, ...]:
    """Units from ``(index, out, kernel, act, stride, groups)``, each taking the previous one's output."""
    units, channels = [], s.in_channels
    for index, out, kernel, act, stride, groups in layout:
        units.append(_unit(index, channels, out, kernel, s, act, stride, groups))
        channels = out
    return tuple(units)


def _basic(s: BlockShape) -> tuple[Step, ...]:
    """Two 3x3 convs; the first carries the stride (ResNet-18/34)."""
    first = s.inner // s.style.reduce_first
    return (*_units(s, (1, first, 3, True, s.stride, 1), (2, s.out_channels, 3, False, 1, 1)),
            *s.style.attention_step(s.out_channels))


def _bottleneck(s: BlockShape) -> tuple[Step, ...]:
    """1x1 reduce, 3x3 (stride and groups here, "ResNet v1.5"), 1x1 expand; SENet's first 1x1 makes
    ``inner / reduce_first`` channels."""
    first = s.inner // s.style.reduce_first
    return (*_units(s, (1, first, 1, True, 1, 1), (2, s.inner, 3, True, s.stride, s.groups),
                    (3, s.out_channels, 1, False, 1, 1)),
            *s.style.attention_step(s.out_channels))


def _res_bottleneck(s: BlockShape) -> tuple[Step, ...]:
    """RegNet's X block (pycls ``res_bottleneck_block``, torchvision ``ResBottleneckBlock``, timm
    ``regnet.Bottleneck``): 1x1 to the inner width, grouped 3x3 with the stride, SE there (RegNetY: its
    width from the block's *input* channels), 1x1 to the output width."""
    conv1, conv2, conv3 = _units(s, (1, s.inner, 1, True, 1, 1), (2, s.inner, 3, True, s.stride, s.groups),
                                 (3, s.out_channels, 1, False, 1, 1))
    return conv1, conv2, *s.style.attention_step(s.inner, hidden_from=s.in_channels), conv3


def split_attention_channels(inner: int, radix: int) -> int:
    """ResNeSt's attention width (timm ``SplitAttn``: ``make_divisible(in * radix * 0.25, 8, 32)``), which the
    spec's validation checks against the groups."""
    return make_divisible(inner * radix * 0.25, 8, min_value=32)


def _split_attention(s: BlockShape) -> tuple[Step, ...]:
    """ResNeSt's bottleneck (timm ``ResNestBottleneck``): the 3x3 is a split-attention conv of
    ``radix`` groups; with ``avd`` a 3x3 average pool (padding counted) does the stride before it
    (``first``) or after it (``last``)."""
    style = s.style
    avd = style.avd != "none" and s.stride > 1
    attn = split_attention_channels(s.inner, style.radix)
    split = SplitAttention("conv2", s.inner, 1 if avd else s.stride, s.groups, style.radix, attn,
                           style.norm_node("bn0", s.inner * style.radix), style.norm_node("bn1", attn), style.act)
    middle: tuple[Step, ...] = (split,)
    if avd:
        pool = PoolStep(Pool(f"avd_{style.avd}", "AvgPool2d", 3, s.stride, 1, count_include_pad=True))
        middle = (pool, split) if style.avd == "first" else (split, pool)
    return (*_units(s, (1, s.inner, 1, True, 1, 1)), *middle, _unit(3, s.inner, s.out_channels, 1, s, False),
            *style.attention_step(s.out_channels))


def _res2net(s: BlockShape) -> tuple[Step, ...]:
    """Res2Net's bottleneck (timm ``Bottle2neck``): the 1x1 makes ``scales`` splits of ``inner`` channels,
    the hierarchical 3x3s of :class:`Res2Split` follow, then the 1x1 expand."""
    style = s.style
    split = Res2Split(s.inner, style.scales, s.stride, s.groups, s.changes_shape, style.norm_node("bns", s.inner),
                      style.act)
    return (*_units(s, (1, s.inner * style.scales, 1, True, 1, 1)), split,
            _unit(3, s.inner * style.scales, s.out_channels, 1, s, False), *style.attention_step(s.out_channels))


def _selective_kernel(name: str, s: BlockShape, out: int, groups: int) -> SelectiveKernel:
    """timm's ``SelectiveKernel`` with its default kernels [3, 5], the 5x5 as a 3x3 of dilation 2."""
    style = s.style
    attn = make_divisible(out * style.sk_ratio, style.sk_divisor)
    return SelectiveKernel(name, out, s.stride, min(out, groups), (1, 2), style.sk_split_input, attn,
                           style.norm_node("bn", out), style.norm_node("bn", attn), style.act)


def _sk_basic(s: BlockShape) -> tuple[Step, ...]:
    """SKNet's basic block (timm ``SelectiveKernelBasic``): a selective-kernel 3x3 with the stride, then a
    3x3 conv and norm."""
    first = s.inner // s.style.reduce_first
    return (_selective_kernel("conv1", s, first, 1), _unit(2, first, s.out_channels, 3, s, False),
            *s.style.attention_step(s.out_channels))


def _sk_bottleneck(s: BlockShape) -> tuple[Step, ...]:
    """SKNet's bottleneck (timm ``SelectiveKernelBottleneck``): 1x1, a selective-kernel 3x3 with the stride
    and groups, 1x1 expand."""
    first = s.inner // s.style.reduce_first
    return (*_units(s, (1, first, 1, True, 1, 1)), _selective_kernel("conv2", s, s.inner, s.groups),
            _unit(3, s.inner, s.out_channels, 1, s, False), *s.style.attention_step(s.out_channels))


@dataclass(frozen=True)
class BlockKind:
    """A block type: how many times its ``widths`` entry it outputs, its branch's layout, and whether its
    3x3 width follows torchvision's ``width_per_group``/``groups`` (bottlenecks) or RegNet's
    ``bottleneck_ratio``/``group_width``."""

    expansion: int
    steps: Callable[[BlockShape], tuple[Step, ...]]
    grouped: str = "none"
    """"resnext" (groups and width_per_group), "regnet" (group_width and bottleneck_ratio) or "none"."""
    preact: bool = True
    """Whether the kind has a pre-activation form (timm ``PreActBasic``/``PreActBottleneck``)."""


BLOCKS: dict[str, BlockKind] = {
    "basic": BlockKind(1, _basic),
    "bottleneck": BlockKind(4, _bottleneck, "resnext"),
    "res_bottleneck": BlockKind(1, _res_bottleneck, "regnet", preact=False),
    "split_attention": BlockKind(4, _split_attention, "resnext", preact=False),
    "res2net": BlockKind(4, _res2net, "resnext", preact=False),
    "sk_basic": BlockKind(1, _sk_basic, preact=False),
    "sk_bottleneck": BlockKind(4, _sk_bottleneck, "resnext", preact=False),
}
"""Block name -> kind. ``res_bottleneck`` is RegNet's; ``split_attention`` ResNeSt's; ``res2net`` Res2Net's;
``sk_basic`` and ``sk_bottleneck`` SKNet's."""


# ---- shortcuts -----------------------------------------------------------------------------------------
def _projection(s: BlockShape, kernel: int) -> Sequential | ZeroPad | None:
    """A strided conv (1x1, or ``kernel`` where it strides: SENet-154's 3x3) and a norm (none before a
    pre-activation block's branch, whose first norm the projection already takes)."""
    conv = s.style.conv_node("", s.out_channels, kernel if s.stride > 1 else 1, s.stride)
    norm = () if s.style.preact else (s.style.norm_node("", s.out_channels),)
    return Sequential("downsample", (conv, *norm))


def _avg_down(s: BlockShape, kernel: int) -> Sequential | ZeroPad | None:
    """ResNet-D: a 2x2 average pool (ceil mode) does the stride, then a 1x1 conv and norm (timm's layout:
    an identity at index 0 when there is no stride)."""
    first: Leaf = Pool("", "AvgPool2d", 2, s.stride, ceil=True) if s.stride > 1 else Identity("")
    norm = () if s.style.preact else (s.style.norm_node("", s.out_channels),)
    conv = s.style.conv_node("", s.out_channels, 1)
    return Sequential("downsample", (first, conv, *norm))


def _zero_pad(s: BlockShape, kernel: int) -> Sequential | ZeroPad | None:
    return ZeroPad("downsample", s.out_channels, s.stride)


def _conv(s: BlockShape, kernel: int) -> Sequential | ZeroPad | None:
    """The d2l ``Residual`` block's biased 1x1 conv, without a norm."""
    return Sequential("downsample", (Conv("", s.out_channels, 1, s.stride, bias=True),))


def _none(s: BlockShape, kernel: int) -> Sequential | ZeroPad | None:
    """No skip connection where the shape changes (timm RegNet ``downsample=None``, RegNetZ)."""
    return None


SHORTCUTS: dict[str, Callable[[BlockShape, int], Sequential | ZeroPad | None]] = {
    "projection": _projection, "avg_down": _avg_down, "zero_pad": _zero_pad, "conv": _conv, "none": _none}
"""Shortcut name -> the branch used where a block changes shape (shape, the projection's kernel where it
strides); ``none`` drops the skip connection of those blocks."""


@lru_cache(maxsize=4096)
def block(kind: str, shape: BlockShape, shortcut: str, shortcut_kernel: int = 1) -> Block:
    """One block (cached: a network repeats a handful of distinct blocks many times, and sweeps repeat
    them across designs). The key is everything the block depends on: its kind, shape (style included),
    shortcut and the projection's kernel."""
    style = shape.style
    down = SHORTCUTS[shortcut](shape, shortcut_kernel) if shape.changes_shape else None
    residual = down is not None or not shape.changes_shape
    act = None if style.preact or style.linear_out else style.act_node("relu")
    return Block(kind, shape.in_channels, shape.out_channels, shape.stride, BLOCKS[kind].steps(shape), down, act,
                 residual, style.preact)
