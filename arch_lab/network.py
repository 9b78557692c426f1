"""The network described once, as data: what every layer is, in forward order, and what role it plays.

``describe(spec)`` turns a spec into a :class:`Network` of small frozen nodes (conv, BN, pool, squeeze-
excitation, residual blocks made of steps). Two interpreters read it and nothing else: :mod:`arch_lab.models`
makes modules under the nodes' names (torchvision's and timm's, so their weights load) and
:mod:`arch_lab.plan` does the arithmetic, recording each layer's role (stem, branch, shortcut, SE, head) so
that no analyser parses a dotted name. The input-size check, the memory model and the receptive field
read the same structure.

One registry per component: :data:`STEMS`, :data:`BLOCKS`, :data:`SHORTCUTS`. Their keys are the spec's
allowed values, so validation, building and counting cannot disagree on what exists. This module is
torch-free; the spec imports the registries' keys from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arch_lab.spec import ResNetSpec


# ---- leaves ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conv:
    """A square conv, padded so that stride 1 keeps the size (``padding = kernel // 2``)."""

    name: str
    out_channels: int
    kernel: int
    stride: int = 1
    groups: int = 1
    bias: bool = False


@dataclass(frozen=True)
class BN:
    name: str


@dataclass(frozen=True)
class ReLU:
    """In place: holds and computes nothing the counters count, but has a module (and a name) of its own."""

    name: str


@dataclass(frozen=True)
class Pool:
    """Max or average pooling (``kind`` is "MaxPool2d" or "AvgPool2d"); average pools exclude padding."""

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int = 0
    ceil: bool = False


@dataclass(frozen=True)
class Identity:
    """A placeholder that passes its input through (keeps a container's indices where timm has one)."""

    name: str


@dataclass(frozen=True)
class ZeroPad:
    """He et al.'s parameter-free shortcut: subsample by ``stride``, append zero channels."""

    name: str
    out_channels: int
    stride: int


@dataclass(frozen=True)
class Sequential:
    """Layers run one after the other inside one container named ``name``; each is named by its index
    (the names of ``items`` are ignored), as ``nn.Sequential`` names them."""

    name: str
    items: tuple[Leaf, ...]


Leaf = Conv | BN | ReLU | Pool | Identity | ZeroPad


# ---- residual blocks -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One statement of a residual branch, ``out = relu(bn(conv(out)))`` (the ReLU only if ``relu``):
    the statement's input stays alive until its result replaces it (the memory model relies on this)."""

    conv: Conv
    bn: BN
    relu: bool


@dataclass(frozen=True)
class SqueezeExcitation:
    """torchvision's ``SqueezeExcitation`` on ``channels``: global pool, 1x1 conv to ``hidden``, ReLU,
    1x1 conv back, sigmoid, product with its input (``out = se(out)``)."""

    name: str
    channels: int
    hidden: int


Step = Unit | SqueezeExcitation


@dataclass(frozen=True, eq=False)
class Block:
    """``out = relu(steps(x) + shortcut(x))``; no shortcut means the identity. Names are relative to the
    block (``conv1``, ``downsample.0``); the network places the block at ``layer{s}.{i}``.

    Compared by identity: :func:`block` makes one object per distinct block, so caches keyed by blocks
    hash in constant time."""

    kind: str
    in_channels: int
    out_channels: int
    stride: int
    steps: tuple[Step, ...]
    shortcut: Sequential | ZeroPad | None

    @property
    def last_bn(self) -> BN:
        """The BN closing the branch, which ``zero_init_residual`` zeroes."""
        return [step for step in self.steps if isinstance(step, Unit)][-1].bn


@dataclass(frozen=True)
class Network:
    """Stem (top-level leaves and containers, run in order), stages of blocks, and the classifier."""

    stem: tuple[Leaf | Sequential, ...]
    stages: tuple[tuple[Block, ...], ...]
    in_channels: int
    num_classes: int

    @property
    def features(self) -> int:
        """Channels reaching the classifier."""
        return self.stages[-1][-1].out_channels


# ---- stems ---------------------------------------------------------------------------------------------
def _classic_stem(in_channels: int, width: int, bias: bool) -> tuple[Leaf | Sequential, ...]:
    return (Conv("conv1", width, 7, 2, bias=bias), BN("bn1"), ReLU("relu"),
            Pool("maxpool", "MaxPool2d", 3, 2, padding=1))


def _deep_stem(in_channels: int, width: int, bias: bool) -> tuple[Leaf | Sequential, ...]:
    """ResNet-C (Bag of Tricks): three 3x3 convs, the first at stride 2, in timm's ``conv1`` Sequential."""
    half = width // 2
    convs = Sequential("conv1", (Conv("", half, 3, 2, bias=bias), BN(""), ReLU(""), Conv("", half, 3, bias=bias),
                                 BN(""), ReLU(""), Conv("", width, 3, bias=bias)))
    return convs, BN("bn1"), ReLU("relu"), Pool("maxpool", "MaxPool2d", 3, 2, padding=1)


def _cifar_stem(in_channels: int, width: int, bias: bool) -> tuple[Leaf | Sequential, ...]:
    return Conv("conv1", width, 3, bias=bias), BN("bn1"), ReLU("relu")


def _simple_stem(in_channels: int, width: int, bias: bool) -> tuple[Leaf | Sequential, ...]:
    """RegNet's ``SimpleStemIN``: one 3x3 conv at stride 2, BN, ReLU, no pool."""
    return Conv("conv1", width, 3, 2, bias=bias), BN("bn1"), ReLU("relu")


STEMS: dict[str, Callable[[int, int, bool], tuple[Leaf | Sequential, ...]]] = {
    "classic": _classic_stem, "deep": _deep_stem, "cifar": _cifar_stem, "simple": _simple_stem}
"""Stem name -> its layers (in_channels, stem_width, conv_bias)."""


def stem_strides(stem: str) -> tuple[str, ...]:
    """Where the stem halves the input, in words, read from its description (for the input-size check)."""
    steps = []
    for node in STEMS[stem](1, 2, False):
        leaves = node.items if isinstance(node, Sequential) else (node,)
        steps += ["the stem's max-pool" if isinstance(leaf, Pool) else "the stem"
                  for leaf in leaves if getattr(leaf, "stride", 1) == 2]
    return tuple(steps)


# ---- shortcuts -----------------------------------------------------------------------------------------
def _projection(in_channels: int, out_channels: int, stride: int, bias: bool) -> Sequential | ZeroPad:
    return Sequential("downsample", (Conv("", out_channels, 1, stride, bias=bias), BN("")))


def _avg_down(in_channels: int, out_channels: int, stride: int, bias: bool) -> Sequential | ZeroPad:
    """ResNet-D: a 2x2 average pool (ceil mode) does the stride, then a 1x1 conv and BN (timm's layout:
    an identity at index 0 when there is no stride)."""
    first: Leaf = Pool("", "AvgPool2d", 2, stride, ceil=True) if stride > 1 else Identity("")
    return Sequential("downsample", (first, Conv("", out_channels, 1, bias=bias), BN("")))


def _zero_pad(in_channels: int, out_channels: int, stride: int, bias: bool) -> Sequential | ZeroPad:
    return ZeroPad("downsample", out_channels, stride)


def _conv(in_channels: int, out_channels: int, stride: int, bias: bool) -> Sequential | ZeroPad:
    """The d2l ``Residual`` block's biased 1x1 conv, without a norm."""
    return Sequential("downsample", (Conv("", out_channels, 1, stride, bias=True),))


SHORTCUTS: dict[str, Callable[[int, int, int, bool], Sequential | ZeroPad]] = {
    "projection": _projection, "avg_down": _avg_down, "zero_pad": _zero_pad, "conv": _conv}
"""Shortcut name -> the downsample branch used where a block changes shape (in, out, stride, conv_bias)."""


# ---- block kinds ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockShape:
    """What a block kind needs to lay out its branch."""

    in_channels: int
    out_channels: int
    inner: int
    stride: int
    groups: int
    se_ratio: float
    bias: bool


def squeeze_channels(channels: int, se_ratio: float) -> int:
    """SE hidden width: ``round(channels * se_ratio)``, at least 1 (SENet uses ratio 1/16)."""
    return max(1, round(channels * se_ratio))


def _unit(index: int, out: int, kernel: int, s: BlockShape, relu: bool, stride: int = 1, groups: int = 1) -> Unit:
    return Unit(Conv(f"conv{index}", out, kernel, stride, groups, s.bias), BN(f"bn{index}"), relu)


def _se_on_output(s: BlockShape) -> tuple[Step, ...]:
    """SENet: SE on the block's output channels, after the last BN, before the residual add."""
    if s.se_ratio <= 0:
        return ()
    return (SqueezeExcitation("se", s.out_channels, squeeze_channels(s.out_channels, s.se_ratio)),)


def _basic(s: BlockShape) -> tuple[Step, ...]:
    """Two 3x3 convs; the first carries the stride (ResNet-18/34)."""
    return (_unit(1, s.inner, 3, s, True, s.stride), _unit(2, s.out_channels, 3, s, False), *_se_on_output(s))


def _bottleneck(s: BlockShape) -> tuple[Step, ...]:
    """1x1 reduce, 3x3 (stride and groups here, "ResNet v1.5"), 1x1 expand."""
    return (_unit(1, s.inner, 1, s, True), _unit(2, s.inner, 3, s, True, s.stride, s.groups),
            _unit(3, s.out_channels, 1, s, False), *_se_on_output(s))


def _res_bottleneck(s: BlockShape) -> tuple[Step, ...]:
    """RegNet's X block (pycls ``res_bottleneck_block``, torchvision ``ResBottleneckBlock``): 1x1 to the
    inner width, grouped 3x3 with the stride, SE there (RegNetY: its width from the block's *input*
    channels), 1x1 to the output width."""
    se: tuple[Step, ...] = ()
    if s.se_ratio > 0:
        se = (SqueezeExcitation("se", s.inner, squeeze_channels(s.in_channels, s.se_ratio)),)
    return (_unit(1, s.inner, 1, s, True), _unit(2, s.inner, 3, s, True, s.stride, s.groups), *se,
            _unit(3, s.out_channels, 1, s, False))


@dataclass(frozen=True)
class BlockKind:
    """A block type: how many times its ``widths`` entry it outputs, and its branch's layout."""

    expansion: int
    steps: Callable[[BlockShape], tuple[Step, ...]]


BLOCKS: dict[str, BlockKind] = {
    "basic": BlockKind(1, _basic), "bottleneck": BlockKind(4, _bottleneck),
    "res_bottleneck": BlockKind(1, _res_bottleneck)}
"""Block name -> kind. ``res_bottleneck`` is RegNet's; its width per group is the spec's ``group_width``."""


@lru_cache(maxsize=4096)
def block(kind: str, shape: BlockShape, shortcut: str) -> Block:
    """One block (cached: a network repeats a handful of distinct blocks many times, and sweeps repeat
    them across designs)."""
    down = None
    if shape.stride != 1 or shape.in_channels != shape.out_channels:
        down = SHORTCUTS[shortcut](shape.in_channels, shape.out_channels, shape.stride, shape.bias)
    return Block(kind, shape.in_channels, shape.out_channels, shape.stride, BLOCKS[kind].steps(shape), down)


def describe(spec: ResNetSpec) -> Network:
    """The network ``spec`` describes. A stage's blocks after the first are one and the same node."""
    stages = []
    channels = spec.stem_width
    for stage, kind in enumerate(spec.stage_blocks):
        out, inner, groups = spec.stage_out_channels(stage), spec.stage_inner_width(stage), spec.stage_groups(stage)
        first = block(kind, BlockShape(channels, out, inner, spec.strides[stage], groups,  # type: ignore[index]
                                       spec.se_ratio, spec.conv_bias), spec.shortcut)
        rest = block(kind, BlockShape(out, out, inner, 1, groups, spec.se_ratio, spec.conv_bias), spec.shortcut)
        stages.append((first,) + (rest,) * (spec.depths[stage] - 1))
        channels = out
    return Network(stem(spec.stem, spec.in_channels, spec.stem_width, spec.conv_bias), tuple(stages),
                   spec.in_channels, spec.num_classes)


@lru_cache(maxsize=256)
def stem(kind: str, in_channels: int, width: int, bias: bool) -> tuple[Leaf | Sequential, ...]:
    """The stem's layers (cached, like :func:`block`)."""
    return STEMS[kind](in_channels, width, bias)
