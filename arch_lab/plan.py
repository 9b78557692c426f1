"""The counting interpreter of :func:`arch_lab.network.describe`: every layer's shapes, parameters and
MACs from the description alone, each with its role.

In the pycls ``complexity()`` style: no torch, no weights, microseconds per layer. This is what makes the
analysers instant and lets the request limits be checked before anything is allocated. The layer names
are the built module's names (both interpreters read them from the same description); the tests hold
every number against the real module, fvcore, torchinfo and ``torch.utils.flop_counter``.

Blocks are counted once per (block, input shape) and reused: a network repeats a few distinct blocks
many times, and a design-space sweep repeats them across designs.

Conventions: MACs are the multiply-accumulates of conv and linear layers (torchvision's published
"GFLOPS"); BN, ReLU, pooling and the residual add count none. Parameters include conv/linear biases and
BN's affine weights, not BN's running statistics (buffers).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from arch_lab.cache import WeightedLRU
from arch_lab.network import (
    BN,
    Block,
    Conv,
    Identity,
    Leaf,
    Network,
    Pool,
    ReLU,
    Sequential,
    SqueezeExcitation,
    Unit,
    ZeroPad,
    describe,
)
from arch_lab.spec import ResNetSpec

Shape = tuple[int, int, int]
"""(channels, height, width) of one image."""

ROLES = ("stem", "branch", "shortcut", "se", "head")
"""What a layer does: part of the stem, of a block's residual branch, of its shortcut, of its
squeeze-excitation, or of the classifier head."""


@dataclass(frozen=True)
class Layer:
    """One module of the built network, as the analysers see it. ``block`` names the residual block it
    belongs to (empty in the stem and head); ``relu_after`` says an in-place ReLU follows it."""

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
    relu_after: bool = False

    @property
    def activations(self) -> int:
        """Output elements of conv and linear layers (what fvcore's ActivationCountAnalysis counts)."""
        if self.type in ("Conv2d", "Linear"):
            c, h, w = self.output_shape
            return c * h * w
        return 0


@dataclass(frozen=True, eq=False)
class CountedBlock:
    """A block counted at one input shape. Layer names are relative to the block; ``steps`` are the
    branch's statements in order (a unit's conv and BN, or SE's pool and two convs).

    Its numbers depend on the block and on the input shape, and on nothing else: ``(node, input_shape)``
    is the whole key under which it may be reused."""

    node: Block
    input_shape: Shape
    steps: tuple[tuple[Layer, ...], ...]
    shortcut: tuple[Layer, ...]
    output_shape: Shape
    params: int
    macs: int
    activations: int

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Forward order as the tables show it: the shortcut first, then the branch."""
        return self.shortcut + tuple(layer for step in self.steps for layer in step)


# ---- leaves ---------------------------------------------------------------------------------------------
def _conv(node: Conv, name: str, shape: Shape, role: str, relu_after: bool = False) -> Layer:
    c, h, w = shape
    k, s, pad = node.kernel, node.stride, node.kernel // 2
    out = (node.out_channels, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1)
    weights = node.out_channels * (c // node.groups) * k * k
    return Layer(name, "Conv2d", "", shape, out, k, s, node.groups, weights + (node.out_channels if node.bias else 0),
                 weights * out[1] * out[2], role, relu_after=relu_after)


def _leaf(node: Leaf, name: str, shape: Shape, role: str, relu_after: bool) -> Layer | None:
    """The counted layer of one leaf (None for a ReLU or an identity, which count nothing)."""
    if isinstance(node, Conv):
        return _conv(node, name, shape, role, relu_after)
    if isinstance(node, BN):
        return Layer(name, "BatchNorm2d", "", shape, shape, params=2 * shape[0], role=role, relu_after=relu_after)
    if isinstance(node, Pool):
        c, h, w = shape

        def side(n: int) -> int:
            span = n + 2 * node.padding - node.kernel
            return (-(-span // node.stride) if node.ceil else span // node.stride) + 1

        return Layer(name, node.kind, "", shape, (c, side(h), side(w)), node.kernel, node.stride, role=role,
                     relu_after=relu_after)
    if isinstance(node, ZeroPad):
        c, h, w = shape
        out = (node.out_channels, -(-h // node.stride), -(-w // node.stride))
        return Layer(name, "ZeroPadShortcut", "", shape, out, 1, node.stride, role=role)
    assert isinstance(node, (ReLU, Identity)), node
    return None


def _chain(nodes: tuple[Leaf | Sequential, ...], shape: Shape, role: str, prefix: str = "") -> Iterator[Layer]:
    """The layers of leaves and containers run in order, each named as the module interpreter names it."""
    flat: list[tuple[str, Leaf]] = []
    for node in nodes:
        if isinstance(node, Sequential):
            flat += [(f"{prefix}{node.name}.{i}", item) for i, item in enumerate(node.items)]
        else:
            flat.append((f"{prefix}{node.name}", node))
    for i, (name, node) in enumerate(flat):
        relu_after = i + 1 < len(flat) and isinstance(flat[i + 1][1], ReLU)
        layer = _leaf(node, name, shape, role, relu_after)
        if layer is not None:
            yield layer
            shape = layer.output_shape


# ---- blocks ---------------------------------------------------------------------------------------------
def _step(step: Unit | SqueezeExcitation, shape: Shape) -> tuple[Layer, ...]:
    if isinstance(step, Unit):
        conv = _conv(step.conv, step.conv.name, shape, "branch")
        bn = Layer(step.bn.name, "BatchNorm2d", "", conv.output_shape, conv.output_shape,
                   params=2 * conv.output_shape[0], role="branch", relu_after=step.relu)
        return conv, bn
    pooled = (step.channels, 1, 1)
    pool = Layer(f"{step.name}.avgpool", "AdaptiveAvgPool2d", "", shape, pooled, role="se")
    fc1 = _conv(Conv(f"{step.name}.fc1", step.hidden, 1, bias=True), f"{step.name}.fc1", pooled, "se", True)
    fc2 = _conv(Conv(f"{step.name}.fc2", step.channels, 1, bias=True), f"{step.name}.fc2", fc1.output_shape, "se")
    return pool, fc1, fc2


def _count_block(node: Block, shape: Shape) -> CountedBlock:
    shortcut = tuple(_chain((node.shortcut,), shape, "shortcut")) if node.shortcut is not None else ()
    steps = []
    current = shape
    for step in node.steps:
        layers = _step(step, current)
        steps.append(layers)
        if isinstance(step, Unit):
            current = layers[-1].output_shape  # SE keeps the shape of what it scales
    every = shortcut + tuple(layer for layers in steps for layer in layers)
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
    features = shape[0]
    head = (Layer("avgpool", "AdaptiveAvgPool2d", "head", shape, (features, 1, 1), role="head"),
            Layer("fc", "Linear", "head", (features, 1, 1), (network.num_classes, 1, 1),
                  params=features * network.num_classes + network.num_classes,
                  macs=features * network.num_classes, role="head"))
    totals = [sum(getattr(layer, name) for layer in stem + head) for name in ("params", "macs", "activations")]
    for _, _, block in blocks:
        totals[0] += block.params
        totals[1] += block.macs
        totals[2] += block.activations
    return CountedNetwork(stem, tuple(blocks), head, (spec.in_channels, *spec.input_size),  # type: ignore[arg-type]
                          *totals)


_STEMS: WeightedLRU[tuple[Layer, ...]] = WeightedLRU(2_000, lambda layers: 1)


def _placed(layer: Layer, prefix: str, stage: str) -> Layer:
    """A block's layer under its full name and stage."""
    return Layer(f"{prefix}.{layer.name}", layer.type, stage, layer.input_shape, layer.output_shape, layer.kernel,
                 layer.stride, layer.groups, layer.params, layer.macs, layer.role, prefix, layer.relu_after)


def _plan(spec: ResNetSpec) -> tuple[Layer, ...]:
    counted = count(spec)
    layers = [Layer(layer.name, layer.type, "stem", layer.input_shape, layer.output_shape, layer.kernel, layer.stride,
                    layer.groups, layer.params, layer.macs, "stem", "", layer.relu_after) for layer in counted.stem]
    for prefix, stage, block in counted.blocks:
        layers += [_placed(layer, prefix, stage) for layer in block.layers]
    return (*layers, *counted.head)


CACHED_LAYERS = 100_000
"""Plans kept in memory, counted in layers (~310 bytes each: about 30 MB); resnet50's plan has 126."""
_PLANS: WeightedLRU[tuple[Layer, ...]] = WeightedLRU(CACHED_LAYERS, len)


def plan(spec: ResNetSpec) -> tuple[Layer, ...]:
    """Every counted layer of ``spec``'s network in forward order (ReLUs, which hold and compute
    nothing, are left out). Cached by the network, not its name: designs that differ only by name share
    one plan."""
    return _PLANS.get(spec.network(), lambda: _plan(spec))


def clear_plans() -> None:
    """Forget the cached plans and counted blocks (for cold-start timing)."""
    _PLANS.clear()
    _BLOCKS.clear()
    _STEMS.clear()
