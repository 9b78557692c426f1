"""Memory estimates from the layer plan: weights, inference activations, one training step.

All in bytes here (the report turns them into MB = 1e6 bytes). Assumptions, so that the numbers can be
checked against a real run (the tests do, with tensor lifetimes and ``saved_tensors_hooks``):

* **Weights** are the parameters only, in each storage precision of :data:`WEIGHT_BYTES`: fp32 (4 bytes),
  bf16 and fp16 (2), int8 (1: every parameter as one byte, the scales and zero points of a real quantised
  model left out). BN running statistics (buffers, 2 floats per BN channel, < 0.5 % of a ResNet's
  parameters) are left out, as in torchinfo's "Params size".
* **Inference activations** are the peak of activation tensors alive at once during an fp32 forward
  pass without autograd (``torch.no_grad``), following the Python variable lifetimes of
  :mod:`arch_lab.models`: the caller's input batch stays alive; ``ResNet.forward`` holds each stage's
  input until the stage returns; a block holds its input and its shortcut output while the branch runs;
  a branch statement ``out = relu(bn(conv(out)))`` has its input, the conv output and the BN output
  alive at once; a ``Sequential`` keeps its input until it returns, and a layer's input and output while it
  runs; in-place activations allocate nothing; SE's product and the residual sum are new tensors; the
  forking steps (split attention, Res2Net's splits, selective kernels) keep what their timm forward keeps
  (:data:`_STEPS` traces each op for op). An op's extra outputs count while it runs: max-pool's int64 indices,
  GroupNorm's per-group statistics, a blur pool's padded map. Allocator caching, convolution workspaces and a
  standardised conv's standardised weight (a copy of that conv's weight while it runs: BiT) are not counted.
* **Training step**, in the two precisions of :data:`TRAINING`, = the optimizer's state + what autograd
  saves for the backward pass. The state is 4 fp32 copies of the parameters in both: the weights (in mixed
  precision these are the fp32 master weights), their gradients (autograd accumulates fp32 gradients into
  fp32 leaves) and Adam's two moments. Saved are: the input of every convolution, BatchNorm, pooling and
  linear layer (the global average pool is a mean, which saves nothing); the output of every ReLU
  (in-place after BN or after the residual sum); max-pool indices (int64); BN's batch mean and inverse std
  (fp32, per channel, per batch); GroupNorm's input and its per-group statistics (fp32, per image); a
  copy of every SiLU's input; for squeeze-excitation and ECA, the pooled vector, the hidden and gate outputs
  and the branch output it scales; a standardised conv's standardised weight and statistics; the softmax and
  weighted maps of the forking steps. Tensors shared by several of these count once. In fp32 every saved
  activation is 4 bytes. Under ``torch.autocast`` to bf16 or fp16 ("mixed"), convolutions and linear
  layers compute in 16 bits, so they save 16-bit inputs (the network's input as its 16-bit cast) and the
  16-bit copy of their weight; BN, ReLU, pooling, SE and the residual add then run on 16-bit tensors and
  save 16-bit tensors too, while BN's statistics stay fp32 and max-pool's indices int64 (a blur pool's reflect
  padding runs in fp32 under CPU autocast: it saves an fp32 copy). The rules are CPU autocast's, which the
  tests measure; CUDA autocast runs a few ops in fp32 that CPU autocast runs in 16 bits (GroupNorm, softmax,
  sum), so for GroupNorm, ResNeSt and SKNet designs the mixed-precision figure is a lower bound on a GPU. The
  loss, the transient buffers of the backward pass itself (which raise the real peak above this figure) and
  autocast's unsaved casts (conv biases) are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from math import prod
from operator import itemgetter

from arch_lab.cache import WeightedLRU
from arch_lab.network import (
    EfficientChannelAttention,
    PoolStep,
    Res2Split,
    SelectiveKernel,
    SplitAttention,
    SqueezeExcitation,
    Unit,
)
from arch_lab.plan import CONV_TYPES, CountedBlock, CountedNetwork, CountedStep, Layer

FP32_BYTES = 4
BF16_BYTES = 2
INDEX_BYTES = 8
WEIGHT_BYTES = {"fp32": FP32_BYTES, "bf16": BF16_BYTES, "fp16": 2, "int8": 1}
"""Storage precision of the weights -> bytes per parameter."""
ADAM_COPIES = 4
"""weights + gradients + exp_avg + exp_avg_sq, all fp32."""


def numel(layer: Layer) -> int:
    return prod(layer.output_shape)


def train_state_bytes(params: int) -> int:
    """Weights, gradients and Adam's two moments at fp32."""
    return ADAM_COPIES * FP32_BYTES * params


@dataclass(frozen=True)
class Saved:
    """Bytes autograd saves for the backward pass in one precision: ``per_image`` grows with the batch,
    ``fixed`` does not (BN's batch statistics, autocast's 16-bit weight copies, standardised weights)."""

    per_image: int = 0
    fixed: int = 0

    def __add__(self, other: Saved) -> Saved:
        return Saved(self.per_image + other.per_image, self.fixed + other.fixed)

    def nbytes(self, batch_size: int) -> int:
        return batch_size * self.per_image + self.fixed


TRAINING = {"fp32": FP32_BYTES, "mixed": BF16_BYTES}
"""Training precision -> bytes per activation element: plain fp32, or mixed precision (``torch.autocast``
to bf16 or fp16, the same bytes) with fp32 master weights, gradients and Adam moments."""


# ---- one image's tensors as a module creates them -----------------------------------------------------------
@dataclass
class _Trace:
    """The activation tensors of one image while a part of the network runs, as :mod:`arch_lab.models`
    creates and drops them (sizes in elements, by id), the largest total alive at once (fp32 elements), and
    what autograd saves of them in ``precision``. ``external`` is the part's input, owned by its caller:
    whether it is saved is reported (``input_saved``) rather than counted, since the part that made it may
    have saved it too."""

    precision: str = "fp32"
    sizes: dict[int, int] = field(default_factory=dict)
    peak: int = 0
    saved: set[int] = field(default_factory=set)
    per_image: int = 0
    fixed: int = 0
    all_sizes: dict[int, int] = field(default_factory=dict)
    external: int = -1

    @property
    def compute(self) -> int:
        """Bytes of an activation element (fp32, or 16 bits under autocast)."""
        return TRAINING[self.precision]

    @property
    def autocast(self) -> bool:
        return self.precision != "fp32"

    def new(self, elements: int) -> int:
        key = len(self.all_sizes)
        self.sizes[key] = self.all_sizes[key] = elements
        self.peak = max(self.peak, sum(self.sizes.values()))
        return key

    def bump(self, elements: int) -> None:
        """Tensors alive for a moment inside an op (statistics, indices, a blur pool's padded input)."""
        self.peak = max(self.peak, sum(self.sizes.values()) + elements)

    def free(self, *keys: int) -> None:
        for key in keys:
            if key != self.external:
                self.sizes.pop(key, None)

    def save(self, *keys: int) -> None:
        self.saved.update(keys)

    @property
    def input_saved(self) -> bool:
        return self.external in self.saved

    def saved_bytes(self, exclude: int = -1) -> Saved:
        """What was saved, leaving out the external input and ``exclude`` (the part's output, whose saving
        the caller reconciles with the next part's)."""
        tensors = sum(self.all_sizes[key] for key in self.saved if key not in (self.external, exclude))
        return Saved(self.per_image + tensors * self.compute, self.fixed)


def _weights(layer: Layer) -> int:
    """Weight elements of a conv or linear layer (biases excluded; a blur pool's fixed filter included,
    which autocast also copies)."""
    if layer.type == "Linear":
        return layer.input_shape[0] * layer.output_shape[0]
    if layer.type == "Conv1d":
        return layer.kernel
    return layer.output_shape[0] * (layer.input_shape[0] // layer.groups) * layer.kernel ** 2


def _act(t: _Trace, kind: str, x: int) -> None:
    """An in-place activation: ReLU saves its output (the same tensor), SiLU a copy of its input (made
    only when autograd records, so no inference memory)."""
    if kind == "relu":
        t.save(x)
    elif kind:
        t.per_image += t.all_sizes[x] * t.compute


def _conv(t: _Trace, layer: Layer, x: int) -> int:
    """A conv saves its input; under autocast also the 16-bit copy of its weight (a standardised conv's
    standardised weight in both precisions, with the standardisation's per-filter statistics)."""
    t.save(x)
    if layer.type == "StdConv2d":
        t.fixed += _weights(layer) * t.compute + 2 * layer.output_shape[0] * FP32_BYTES
    elif t.autocast:
        t.fixed += _weights(layer) * t.compute
    return t.new(numel(layer))


def _blur(t: _Trace, layer: Layer, x: int) -> int:
    """``conv2d(pad(x, reflect))`` with a fixed filter: the reflect pad saves its input (under CPU
    autocast it runs in fp32, saving an fp32 copy), the conv the padded map, which is alive while it runs."""
    c, h, w = layer.input_shape
    if t.autocast:
        t.per_image += t.all_sizes[x] * FP32_BYTES
    else:
        t.save(x)
    padded = t.new(c * (h + 2) * (w + 2))
    y = _conv(t, layer, padded)
    t.free(padded)
    return y


def _leaf(t: _Trace, layer: Layer, x: int) -> int:
    """``y = layer(x)`` (then its in-place activation): the output is new; what the op saves is saved."""
    kind = layer.type
    if kind == "BlurPool2d":
        y = _blur(t, layer, x)
    elif kind in CONV_TYPES or kind == "Linear":
        y = _conv(t, layer, x)
    elif kind in ("BatchNorm2d", "GroupNorm"):
        t.save(x)
        y = t.new(numel(layer))
        if kind == "GroupNorm":  # mean and inverse std per group: outputs of the op, fp32
            t.bump(2 * layer.groups)
            t.per_image += 2 * layer.groups * FP32_BYTES
        else:
            t.fixed += 2 * layer.output_shape[0] * FP32_BYTES
    elif kind in ("MaxPool2d", "AvgPool2d"):
        t.save(x)
        y = t.new(numel(layer))
        if kind == "MaxPool2d":  # int64 indices: an output even without autograd, saved with it
            t.bump(numel(layer) * INDEX_BYTES // FP32_BYTES)
            t.per_image += numel(layer) * INDEX_BYTES
    else:  # AdaptiveAvgPool2d (a mean), ConstantPad2d, ZeroPadShortcut: nothing saved
        y = t.new(numel(layer))
    _act(t, layer.act_after, y)
    return y


def _chain(t: _Trace, layers: Sequence[Layer], x: int, keep: bool = True) -> int:
    """``for layer in layers: x = layer(x)``: while a layer runs, its input and output are alive; the input
    goes when the output is bound in its place, unless its owner keeps it (``keep``; a temporary such as
    ``fc1(x.mean(...))``'s mean goes as soon as the first layer returns). An ``nn.Sequential``'s input
    stays alive until the container returns (its caller holds it)."""
    current, container, container_input = x, "", -1
    for layer in layers:
        if layer.container != container:
            if container_input not in (-1, x):
                t.free(container_input)
            container, container_input = layer.container, current if layer.container else -1
        out = _leaf(t, layer, current)
        if current not in (x, container_input) or (current == x and not keep):
            t.free(current)
        current = out
    if container_input not in (-1, x, current):
        t.free(container_input)
    return current


def _new_act(t: _Trace, kind: str, x: int) -> int:
    """An activation that makes a new tensor (inside torchvision's SE): ReLU saves its output, SiLU its
    input."""
    y = t.new(t.all_sizes[x])
    t.save(y if kind == "relu" else x)
    return y


def _gate(t: _Trace, scores: int, x: int) -> int:
    """``x * sigmoid(scores)``: the sigmoid saves its output, the product both of its operands."""
    gate = t.new(t.all_sizes[scores])
    t.save(gate, x)
    product = t.new(t.all_sizes[x])
    t.free(gate)
    return product


def _se(t: _Trace, step: CountedStep, x: int) -> int:
    """torchvision's ``SqueezeExcitation``: mean, fc1, activation (a new tensor), fc2, sigmoid, product."""
    pool, fc1, fc2 = step.layers
    hidden = _chain(t, (fc1,), _leaf(t, pool, x), keep=False)
    activated = _new_act(t, step.node.act, hidden)  # type: ignore[union-attr]
    t.free(hidden)
    scores = _leaf(t, fc2, activated)
    t.free(activated)
    out = _gate(t, scores, x)
    t.free(scores)
    return out


def _eca(t: _Trace, step: CountedStep, x: int) -> int:
    """:class:`arch_lab.models.steps.ECA`: mean, 1-D conv (its output alive until the product is made),
    sigmoid, product."""
    pool, conv = step.layers
    scores = _chain(t, (conv,), _leaf(t, pool, x), keep=False)
    out = _gate(t, scores, x)
    t.free(scores)
    return out


def _split_attention(t: _Trace, step: CountedStep, x: int) -> int:
    """:class:`arch_lab.models.steps.SplitAttn`, op for op (timm's ``SplitAttn``)."""
    conv, bn0, fc1, bn1, fc2 = step.layers
    node: SplitAttention = step.node  # type: ignore[assignment]
    c, h, w = step.output_shape
    splits = _chain(t, (conv, bn0), x)
    summed = t.new(c * h * w) if node.radix > 1 else splits
    hidden = _chain(t, (fc1, bn1), t.new(c), keep=False)
    if summed != splits:
        t.free(summed)
    scores = _leaf(t, fc2, hidden)
    if node.radix > 1:  # the softmax (saved by itself and by the product; its reshape is a view)
        weights = t.new(t.all_sizes[scores])
        t.free(scores)
        t.save(splits, weights)
        product = t.new(t.all_sizes[splits])
        out = t.new(c * h * w)
        t.free(product, weights)
    else:
        out = _gate(t, scores, splits)
    t.free(splits, hidden, scores)
    return out


def _res2(t: _Trace, step: CountedStep, x: int) -> int:
    """:meth:`arch_lab.models.blocks.ResidualBlock._res2` (timm ``Bottle2neck``): the splits are views of
    ``x`` (saving one saves ``x``'s storage); each split's output stays in a list until the concatenation."""
    node: Res2Split = step.node  # type: ignore[assignment]
    layers = list(step.layers)
    outputs: list[int] = []
    for i in range(node.scales - 1):
        if i == 0 or node.first:
            outputs.append(_chain(t, layers[2 * i:2 * i + 2], x))
        else:  # sp = sp + spx[i], a new tensor, dropped once the conv has taken it
            outputs.append(_chain(t, layers[2 * i:2 * i + 2], t.new(t.all_sizes[outputs[-1]]), keep=False))
    if node.first:
        outputs.append(_leaf(t, layers[-1], x))
    joined = t.new(prod(step.output_shape))
    t.free(*outputs)
    return joined


def _selective_kernel(t: _Trace, step: CountedStep, x: int) -> int:
    """:class:`arch_lab.models.steps.SelectiveKernelConv`, op for op (timm's ``SelectiveKernel``): the
    paths' outputs stay in a list, stacked, scored and weighed, then summed."""
    node: SelectiveKernel = step.node  # type: ignore[assignment]
    layers = step.layers
    paths = len(node.dilations)
    outputs = [_chain(t, layers[2 * i:2 * i + 2], x) for i in range(paths)]
    stacked = t.new(sum(t.all_sizes[out] for out in outputs))
    c, h, w = step.output_shape
    summed = t.new(c * h * w)
    pooled = t.new(c)
    t.free(summed)
    reduce, bn, select = layers[2 * paths:]
    hidden = _chain(t, (reduce, bn), pooled, keep=False)
    scores = _leaf(t, select, hidden)
    t.free(hidden)
    weights = t.new(t.all_sizes[scores])
    t.save(weights)
    t.free(scores)
    t.save(stacked, weights)
    product = t.new(t.all_sizes[stacked])
    out = t.new(c * h * w)
    t.free(product, stacked, weights, *outputs)
    return out


def _unit(t: _Trace, step: CountedStep, x: int) -> int:
    """``out = aa(act(norm(conv(out))))`` or ``out = conv(act(norm(out)))``: a chain."""
    return _chain(t, step.layers, x)


def _pool(t: _Trace, step: CountedStep, x: int) -> int:
    return _leaf(t, step.layers[0], x)


_STEPS: dict[type, Callable[[_Trace, CountedStep, int], int]] = {
    Unit: _unit, SqueezeExcitation: _se, EfficientChannelAttention: _eca, PoolStep: _pool,
    SplitAttention: _split_attention, Res2Split: _res2, SelectiveKernel: _selective_kernel}
"""Step type -> how its module creates, drops and saves tensors (one entry per kind of step)."""


@dataclass(frozen=True)
class BlockFigures:
    """A counted block's memory: the peak of elements alive while it runs (its input included), and per
    training precision what it saves for backward apart from its input and output, and whether it saves
    those two."""

    peak: int
    saved: dict[str, tuple[Saved, bool, bool]]


def _trace_block(block: CountedBlock, precision: str) -> tuple[_Trace, int]:
    """The block's forward as :class:`arch_lab.models.blocks.ResidualBlock` runs it: the shortcut first,
    then the branch one statement at a time (a statement's input alive until its result replaces it),
    then the residual sum and its activation; a pre-activation block normalises its input first and keeps
    that until it returns. Returns the trace and the output's id."""
    t = _Trace(precision)
    x = t.external = t.new(prod(block.input_shape))
    steps = list(block.steps)
    held: list[int] = []
    out = x
    if block.node.preact:
        norm, conv = steps.pop(0).layers
        preactivated = _leaf(t, norm, x)
        held.append(preactivated)
        shortcut = _chain(t, block.shortcut, preactivated) if block.shortcut else x
        out = _leaf(t, conv, preactivated)
    else:
        shortcut = _chain(t, block.shortcut, x) if block.shortcut else x
    held.append(shortcut)
    for step in steps:
        result = _STEPS[type(step.node)](t, step, out)
        if out not in held:
            t.free(out)
        out = result
    if block.node.residual:
        total = t.new(prod(block.output_shape))
        if out not in held:
            t.free(out)
        out = total
    if block.node.act is not None:
        _act(t, block.node.act.kind, out)
    return t, out


def _block_figures(block: CountedBlock) -> BlockFigures:
    saved, peak = {}, 0
    for precision in TRAINING:
        t, out = _trace_block(block, precision)
        saved[precision] = (t.saved_bytes(exclude=out), t.input_saved, out in t.saved)
        peak = t.peak
    return BlockFigures(peak, saved)


_BLOCK_FIGURES: WeightedLRU[BlockFigures] = WeightedLRU(20_000, lambda figures: 1)


def block_figures(block: CountedBlock) -> BlockFigures:
    """The memory figures of a counted block, cached with it (keyed by the counted block, whose numbers
    depend on its node and input shape only)."""
    return _BLOCK_FIGURES.get(block, lambda: _block_figures(block))


def _trace_chain(layers: Sequence[Layer], elements: int, precision: str = "fp32", act: str = ""
                 ) -> tuple[_Trace, int]:
    """A chain of layers on an external input (an activation ``act`` applied to it in place first)."""
    t = _Trace(precision)
    t.external = t.new(elements)
    _act(t, act, t.external)
    return t, _chain(t, layers, t.external)


def inference_activation_elements(net: CountedNetwork) -> int:
    """Peak activation elements alive at once in one image's no-grad forward (see module docstring):
    the largest of the stem's and head's peak and each stage's, computed apart so that a design-space
    sweep can reuse the parts its designs share."""
    return peak_of_parts(prod(net.input_shape), ends_activation_elements(net),
                         map(stage_activation_elements, stage_blocks(net)))


def stage_blocks(net: CountedNetwork) -> list[list[CountedBlock]]:
    """The counted blocks of each stage, in order."""
    return [[block for _, _, block in entries] for _, entries in groupby(net.blocks, key=itemgetter(1))]


def ends_activation_elements(net: CountedNetwork) -> int:
    """Peak elements alive while the stem or the head runs, the caller's input included."""
    image = prod(net.input_shape)
    stem, _ = _trace_chain(net.stem, image)
    head, _ = _trace_chain(net.head, prod(net.head[0].input_shape))
    return max(stem.peak, image + head.peak)


def stage_activation_elements(blocks: Sequence[CountedBlock]) -> int:
    """Peak elements alive while one stage's ``blocks`` run, beside the caller's input: ``ResNet.forward``
    holds the stage's input until the stage returns, so every block but the first runs beside it."""
    peak, held, previous, block_peak = 0, 0, None, 0
    for block in blocks:
        if block is not previous:  # a stage repeats one counted block
            previous, block_peak = block, block_figures(block).peak
        peak = max(peak, held + block_peak)
        held = held or prod(block.input_shape)
    return peak


def peak_of_parts(image: int, ends: int, stages: Iterable[int]) -> int:
    """A network's peak from its parts': the stem's and head's (``ends``, the input included) and each
    stage's (beside the ``image`` elements of the input, which stay alive)."""
    return max((ends, *(image + stage for stage in stages)))


def saved_for_backward(net: CountedNetwork, precision: str) -> Saved:
    """What autograd saves for backward in a training forward in ``precision`` (see the module
    docstring): each part's own saves, plus every tensor passed from one part to the next (the input image,
    the stem's output, each block's output) once if either side saves it."""
    compute = TRAINING[precision]
    stem, stem_out = _trace_chain(net.stem, prod(net.input_shape), precision)
    saved = stem.saved_bytes(exclude=stem_out)
    if stem.input_saved:
        saved += Saved(prod(net.input_shape) * compute)
    passed, passed_saved = prod(net.stem[-1].output_shape), stem_out in stem.saved
    for _, _, block in net.blocks:
        block_saved, saves_input, saves_output = block_figures(block).saved[precision]
        if passed_saved or saves_input:
            saved += Saved(passed * compute)
        saved += block_saved
        passed, passed_saved = prod(block.output_shape), saves_output
    head, _ = _trace_chain(net.head, passed, precision, net.head_act)
    if passed_saved or head.input_saved:
        saved += Saved(passed * compute)
    return saved + head.saved_bytes()
