"""The counting interpreter of :func:`arch_lab.network.describe`: every layer's shapes, parameters and
MACs from the description alone, each with its role.

In the pycls ``complexity()`` style: no torch, no weights, microseconds per layer. This is what makes the
analysers instant and lets the request limits be checked before anything is allocated. The layer names
are the built module's names (both interpreters read them from the same description); the tests hold
every number against the real module, fvcore, torchinfo, ``torch.utils.flop_counter`` and timm's models.

Blocks are counted once per (block, input shape) and reused: a network repeats a few distinct blocks
many times, and a design-space sweep repeats them across designs.

Conventions: MACs are the multiply-accumulates of convolutions and linear layers (torchvision's published
"GFLOPS"; a blur pool is a depthwise conv with a fixed filter and ECA's 1-D conv a conv, so they count, as
``torch.utils.flop_counter`` counts them); norms, activations, pooling, softmax and the residual add count
none. Parameters include conv/linear biases and the norms' affine weights, not BN's running statistics
(buffers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from math import prod

from arch_lab.cache import WeightedLRU
from arch_lab.network import (
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
    describe,
)
from arch_lab.spec import ResNetSpec

Shape = tuple[int, ...]
"""(channels, height, width) of one image; ``(1, channels)`` for ECA's 1-D conv."""

ROLES = ("stem", "branch", "shortcut", "se", "head")
"""What a layer does: part of the stem, of a block's residual branch, of its shortcut, of its
attention (squeeze-excitation, ECA, and the attention inside split-attention and selective-kernel convs), or
of the classifier head."""
CONV_TYPES = frozenset({"Conv2d", "StdConv2d", "Conv1d", "BlurPool2d"})
"""Layer types that are convolutions (their MACs count; fvcore counts their outputs as activations)."""


@dataclass(frozen=True)
class Layer:
    """One module of the built network, as the analysers see it. ``block`` names the residual block it
    belongs to (empty in the stem and head); ``act_after`` names the in-place activation that follows it
    (empty if none)."""

    name: str
    type: str
    stage: str
    input_shape: Shape
    output_shape: Shape
    kernel: int = 0
    stride: int = 1
    groups: int = 1
    params: int = 0
    macs: int = 0
    role: str = "stem"
    block: str = ""
    act_after: str = ""
    dilation: int = 1
    container: str = ""
    """The ``nn.Sequential`` it runs in, if any (its input stays alive until the container returns)."""

    @property
    def activations(self) -> int:
        """Output elements of conv and linear layers (what fvcore's ActivationCountAnalysis counts)."""
        return prod(self.output_shape) if self.type in CONV_TYPES or self.type == "Linear" else 0


@dataclass(frozen=True, eq=False)
class CountedStep:
    """One step of a branch counted at its input shape: its node and its layers in forward order."""

    node: Step
    layers: tuple[Layer, ...]
    input_shape: Shape
    output_shape: Shape


@dataclass(frozen=True, eq=False)
class CountedBlock:
    """A block counted at one input shape. Layer names are relative to the block; ``steps`` are the
    branch's statements in order.

    Its numbers depend on the block and on the input shape, and on nothing else: ``(node, input_shape)``
    is the whole key under which it may be reused."""

    node: Block
    input_shape: Shape
    steps: tuple[CountedStep, ...]
    shortcut: tuple[Layer, ...]
    output_shape: Shape
    params: int
    macs: int
    activations: int

    @cached_property
    def layers(self) -> tuple[Layer, ...]:
        """Forward order as the tables show it: the shortcut first, then the branch."""
        return self.shortcut + tuple(layer for step in self.steps for layer in step.layers)


# ---- leaves ---------------------------------------------------------------------------------------------
def _side(n: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil: bool = False) -> int:
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


def _conv(node: Conv, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    c, h, w = shape
    k, s, pad, d = node.kernel, node.stride, node.padding, node.dilation
    out = (node.out_channels, _side(h, k, s, pad, d), _side(w, k, s, pad, d))
    weights = node.out_channels * (c // node.groups) * k * k
    kind = "StdConv2d" if node.standardized else "Conv2d"
    return Layer(name, kind, "", shape, out, k, s, node.groups, weights + (node.out_channels if node.bias else 0),
                 weights * out[1] * out[2], role, act_after=act_after, dilation=d)


def _norm(node: Norm, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    """A norm layer; a GroupNorm's groups in ``groups`` as the spec asks for them (0 when a group width exceeds
    the channels, which validation refuses), 1 for a BatchNorm."""
    groups = node.groups if node.kind == "groupnorm" else 1
    return Layer(name, NORM_TYPES[node.kind], "", shape, shape, groups=groups, params=2 * shape[0],
                 role=role, act_after=act_after)


def _pool(node: Pool, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    c, h, w = shape
    out = (c, _side(h, node.kernel, node.stride, node.padding, ceil=node.ceil),
           _side(w, node.kernel, node.stride, node.padding, ceil=node.ceil))
    return Layer(name, node.kind, "", shape, out, node.kernel, node.stride, role=role, act_after=act_after)


def _blur(node: BlurPool, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    """Reflect padding by 1, then a depthwise 3x3 conv at ``stride`` with a fixed filter (a buffer)."""
    c, h, w = shape
    out = (c, _side(h, 3, node.stride, 1), _side(w, 3, node.stride, 1))
    return Layer(name, "BlurPool2d", "", shape, out, 3, node.stride, c, 0, 9 * c * out[1] * out[2], role,
                 act_after=act_after)


def _pad(node: Pad, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    c, h, w = shape
    return Layer(name, "ConstantPad2d", "", shape, (c, h + 2 * node.padding, w + 2 * node.padding), role=role,
                 act_after=act_after)


def _zero_pad(node: ZeroPad, name: str, shape: Shape, role: str, act_after: str = "") -> Layer:
    c, h, w = shape
    out = (node.out_channels, -(-h // node.stride), -(-w // node.stride))
    return Layer(name, "ZeroPadShortcut", "", shape, out, 1, node.stride, role=role)


_LEAVES: dict[type, Callable[..., Layer]] = {Conv: _conv, Norm: _norm, Pool: _pool, BlurPool: _blur, Pad: _pad,
                                             ZeroPad: _zero_pad}
"""Leaf type -> its counted layer (activations and identities hold and count nothing: no layer)."""


def _leaf(node: Leaf, name: str, shape: Shape, role: str, act_after: str = "") -> Layer | None:
    if isinstance(node, (Act, Identity)):
        return None
    return _LEAVES[type(node)](node, name, shape, role, act_after)


def _chain(nodes: tuple[Leaf | Sequential, ...], shape: Shape, role: str, prefix: str = "") -> Iterator[Layer]:
    """The layers of leaves and containers run in order, each named as the module interpreter names it."""
    flat: list[tuple[str, Leaf, str]] = []
    for node in nodes:
        if isinstance(node, Sequential):
            flat += [(f"{prefix}{node.name}.{i}", item, node.name) for i, item in enumerate(node.items)]
        else:
            flat.append((f"{prefix}{node.name}", node, ""))
    for i, (name, node, container) in enumerate(flat):
        after = flat[i + 1][1] if i + 1 < len(flat) else None
        layer = _leaf(node, name, shape, role, after.kind if isinstance(after, Act) else "")
        if layer is not None:
            yield replace(layer, container=container) if container else layer
            shape = layer.output_shape


# ---- steps ----------------------------------------------------------------------------------------------
Counted = tuple[tuple[Layer, ...], Shape]
"""A step's layers and the shape it leaves."""


def _unit(step: Unit, shape: Shape) -> Counted:
    act = step.act.kind if step.act else ""
    if step.preact:
        norm = _norm(step.norm, step.norm.name, shape, "branch", act)  # type: ignore[arg-type]
        layers: tuple[Layer, ...] = (norm, _conv(step.conv, step.conv.name, shape, "branch"))
        return layers, layers[-1].output_shape
    conv = _conv(step.conv, step.conv.name, shape, "branch", "" if step.norm else act)
    layers = (conv,)
    if step.norm is not None:
        layers += (_norm(step.norm, step.norm.name, conv.output_shape, "branch", act),)
    if step.aa is not None:
        layers += (_leaf(step.aa, step.aa.name, conv.output_shape, "branch"),)  # type: ignore[operator]
    return layers, layers[-1].output_shape


def _se(step: SqueezeExcitation, shape: Shape) -> Counted:
    pooled = (step.channels, 1, 1)
    pool = Layer(f"{step.name}.avgpool", "AdaptiveAvgPool2d", "", shape, pooled, role="se")
    fc1 = _conv(Conv("", step.hidden, 1, bias=True), f"{step.name}.fc1", pooled, "se")  # its activation is not in place
    fc2 = _conv(Conv("", step.channels, 1, bias=True), f"{step.name}.fc2", fc1.output_shape, "se")
    return (pool, fc1, fc2), shape


def _eca(step: EfficientChannelAttention, shape: Shape) -> Counted:
    """The pooled channels as a 1-channel sequence, a ``kernel``-tap 1-D conv across them (no bias)."""
    c = step.channels
    pool = Layer(f"{step.name}.avgpool", "AdaptiveAvgPool2d", "", shape, (c, 1, 1), role="se")
    conv = Layer(f"{step.name}.conv", "Conv1d", "", (1, c), (1, c), step.kernel, params=step.kernel,
                 macs=step.kernel * c, role="se")
    return (pool, conv), shape


def _pool_step(step: PoolStep, shape: Shape) -> Counted:
    layer = _pool(step.pool, step.pool.name, shape, "branch")
    return (layer,), layer.output_shape


def _split_attention(step: SplitAttention, shape: Shape) -> Counted:
    n = step.name
    mid = step.out_channels * step.radix
    conv = _conv(Conv("", mid, 3, step.stride, step.groups * step.radix), f"{n}.conv", shape, "branch")
    bn0 = _norm(step.norm0, f"{n}.bn0", conv.output_shape, "branch", step.act)
    pooled = (step.out_channels, 1, 1)  # the attention over the radix splits
    fc1 = _conv(Conv("", step.attn_channels, 1, groups=step.groups, bias=True), f"{n}.fc1", pooled, "se")
    bn1 = _norm(step.norm1, f"{n}.bn1", fc1.output_shape, "se", step.act)
    fc2 = _conv(Conv("", mid, 1, groups=step.groups, bias=True), f"{n}.fc2", fc1.output_shape, "se")
    return (conv, bn0, fc1, bn1, fc2), (step.out_channels, *conv.output_shape[1:])


def _res2(step: Res2Split, shape: Shape) -> Counted:
    _, h, w = shape
    split = (step.width, h, w)
    layers: list[Layer] = []
    for i in range(step.scales - 1):
        conv = _conv(Conv("", step.width, 3, step.stride, step.groups), f"convs.{i}", split, "branch")
        layers += [conv, _norm(step.norm, f"bns.{i}", conv.output_shape, "branch", step.act)]
    if step.first:
        layers.append(_pool(Pool("", "AvgPool2d", 3, step.stride, 1, count_include_pad=True), "pool", split,
                            "branch"))
    return tuple(layers), (step.width * step.scales, *layers[0].output_shape[1:])


def _selective_kernel(step: SelectiveKernel, shape: Shape) -> Counted:
    n, paths = step.name, len(step.dilations)
    c, h, w = shape
    taken = (c // paths, h, w) if step.split_input else shape
    layers: list[Layer] = []
    for i, dilation in enumerate(step.dilations):
        conv = _conv(Conv("", step.out_channels, 3, step.stride, step.groups, dilation=dilation), f"{n}.paths.{i}.conv",
                     taken, "branch")
        layers += [conv, _norm(step.norm, f"{n}.paths.{i}.bn", conv.output_shape, "branch", step.act)]
    pooled = (step.out_channels, 1, 1)  # the attention over the paths
    reduce = _conv(Conv("", step.attn_channels, 1), f"{n}.attn.fc_reduce", pooled, "se")
    bn = _norm(step.attn_norm, f"{n}.attn.bn", reduce.output_shape, "se", step.act)
    select = _conv(Conv("", step.out_channels * paths, 1), f"{n}.attn.fc_select", reduce.output_shape, "se")
    return (*layers, reduce, bn, select), layers[0].output_shape


_STEPS: dict[type, Callable[..., Counted]] = {
    Unit: _unit, SqueezeExcitation: _se, EfficientChannelAttention: _eca, PoolStep: _pool_step,
    SplitAttention: _split_attention, Res2Split: _res2, SelectiveKernel: _selective_kernel}
"""Step type -> its counted layers. A new kind of step is one entry here (and one in each interpreter)."""


def _count_block(node: Block, shape: Shape) -> CountedBlock:
    shortcut = tuple(_chain((node.shortcut,), shape, "shortcut")) if node.shortcut is not None else ()
    steps = []
    current = shape
    for step in node.steps:
        layers, output = _STEPS[type(step)](step, current)
        steps.append(CountedStep(step, layers, current, output))
        current = output
    every = shortcut + tuple(layer for step in steps for layer in step.layers)
    return CountedBlock(node, shape, tuple(steps), shortcut, current, sum(layer.params for layer in every),
                        sum(layer.macs for layer in every), sum(layer.activations for layer in every))


CACHED_BLOCKS = 20_000
_BLOCKS: WeightedLRU[CountedBlock] = WeightedLRU(CACHED_BLOCKS, lambda counted: 1)


def count_block(node: Block, shape: Shape) -> CountedBlock:
    """``node`` counted at input ``shape``, cached under both: a block's layers, params and MACs depend on
    the block and its input shape, nothing else (blocks compare by identity, see :func:`network.block`)."""
    return _BLOCKS.get((node, shape), lambda: _count_block(node, shape))


def count_stage(nodes: Sequence[Block], shape: Shape) -> list[CountedBlock]:
    """One stage's blocks counted in order from input ``shape`` (a design-space sweep counts a stage it has
    not met before this way, without the rest of the network)."""
    blocks: list[CountedBlock] = []
    counted = None
    for node in nodes:
        if counted is None or node is not counted.node or shape != counted.input_shape:
            counted = count_block(node, shape)  # else the same block at the same input shape again
        blocks.append(counted)
        shape = counted.output_shape
    return blocks


@dataclass(frozen=True)
class CountedNetwork:
    """The whole network counted: stem and head layers, and every block with its name and stage."""

    stem: tuple[Layer, ...]
    blocks: tuple[tuple[str, str, CountedBlock], ...]
    head: tuple[Layer, ...]
    input_shape: Shape
    params: int
    macs: int
    activations: int
    layers: int
    """Counted layers (the rows of the plan's table)."""
    head_act: str = ""
    """An activation the head applies in place to the last block's output before any layer of its own
    (RegNetZ's final activation): no layer, but it matters to memory."""


def count(spec: ResNetSpec) -> CountedNetwork:
    """``spec``'s network counted block by block (no per-layer names are built: see :func:`plan`)."""
    network: Network = describe(spec)
    shape: Shape = (spec.in_channels, *spec.input_size)  # type: ignore[assignment]
    stem = _STEMS.get((network.stem, shape), lambda: tuple(_chain(network.stem, shape, "stem")))
    shape = stem[-1].output_shape
    blocks = []
    for s, stage_blocks in enumerate(network.stages):
        stage = count_stage(stage_blocks, shape)
        blocks += [(f"layer{s + 1}.{i}", f"layer{s + 1}", counted) for i, counted in enumerate(stage)]
        shape = stage[-1].output_shape
    head = tuple(replace(layer, stage="head") for layer in _chain(network.head, shape, "head"))
    features = network.features
    pooled = head[-1].output_shape if head else shape
    head += (Layer("avgpool", "AdaptiveAvgPool2d", "head", pooled, (features, 1, 1), role="head"),
             Layer("fc", "Linear", "head", (features, 1, 1), (network.num_classes, 1, 1),
                   params=features * network.num_classes + network.num_classes,
                   macs=features * network.num_classes, role="head"))
    totals = [sum(getattr(layer, name) for layer in stem + head) for name in ("params", "macs", "activations")]
    totals.append(len(stem) + len(head))
    for _, _, block in blocks:
        totals[0] += block.params
        totals[1] += block.macs
        totals[2] += block.activations
        totals[3] += len(block.layers)
    head_act = network.head[0].kind if network.head and isinstance(network.head[0], Act) else ""
    return CountedNetwork(stem, tuple(blocks), head, (spec.in_channels, *spec.input_size),  # type: ignore[arg-type]
                          *totals, head_act=head_act)


_STEMS: WeightedLRU[tuple[Layer, ...]] = WeightedLRU(2_000, lambda layers: 1)


def _plan(spec: ResNetSpec) -> tuple[Layer, ...]:
    counted = count(spec)
    layers = [replace(layer, stage="stem") for layer in counted.stem]
    for prefix, stage, block in counted.blocks:  # a block's layers under their full names and stage
        layers += [replace(layer, name=f"{prefix}.{layer.name}", stage=stage, block=prefix) for layer in block.layers]
    return (*layers, *counted.head)


CACHED_LAYERS = 100_000
"""Plans kept in memory, counted in layers (~310 bytes each: about 30 MB); resnet50's plan has 126."""
_PLANS: WeightedLRU[tuple[Layer, ...]] = WeightedLRU(CACHED_LAYERS, len)


def plan(spec: ResNetSpec) -> tuple[Layer, ...]:
    """Every counted layer of ``spec``'s network in forward order (activations, which hold and compute
    nothing, are left out). Cached by the network, not its name: designs that differ only by name share
    one plan."""
    return _PLANS.get(spec.network(), lambda: _plan(spec))


def clear_plans() -> None:
    """Forget the cached plans and counted blocks (for cold-start timing)."""
    _PLANS.clear()
    _BLOCKS.clear()
    _STEMS.clear()
