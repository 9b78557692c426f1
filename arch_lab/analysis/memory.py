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
  alive at once; a ``Sequential`` only a layer's input and output; in-place ReLUs allocate nothing; SE's
  product and the residual sum are new tensors. Allocator caching and convolution workspaces are not
  counted.
* **Training step**, in the two precisions of :data:`TRAINING`, = the optimizer's state + what autograd
  saves for the backward pass. The state is 4 fp32 copies of the parameters in both: the weights (in mixed
  precision these are the fp32 master weights), their gradients (autograd accumulates fp32 gradients into
  fp32 leaves) and Adam's two moments. Saved are: the input of every convolution, BatchNorm, pooling and
  linear layer (the global average pool is a mean, which saves nothing); the output of every ReLU
  (in-place after BN or after the residual sum); max-pool indices (int64); BN's batch mean and inverse std
  (fp32, per channel, per batch); for squeeze-excitation, the pooled vector, the ReLU and sigmoid outputs
  and the branch output it scales. Tensors shared by several of these count once. In fp32 every saved
  activation is 4 bytes. Under ``torch.autocast`` to bf16 or fp16 ("mixed"), convolutions and linear
  layers compute in 16 bits, so they save 16-bit inputs (the network's input as its 16-bit cast) and the
  16-bit copy of their weight; BN, ReLU, pooling, SE and the residual add then run on 16-bit tensors and
  save 16-bit tensors too, while BN's statistics stay fp32 and max-pool's indices int64. The loss, the
  transient buffers of the backward pass itself (which raise the real peak above this figure) and
  autocast's unsaved casts (conv biases) are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

from arch_lab.cache import WeightedLRU
from arch_lab.plan import CountedBlock, CountedNetwork, Layer

FP32_BYTES = 4
BF16_BYTES = 2
INDEX_BYTES = 8
WEIGHT_BYTES = {"fp32": FP32_BYTES, "bf16": BF16_BYTES, "fp16": 2, "int8": 1}
"""Storage precision of the weights -> bytes per parameter."""
ADAM_COPIES = 4
"""weights + gradients + exp_avg + exp_avg_sq, all fp32."""

_SAVES_INPUT = {"Conv2d", "BatchNorm2d", "MaxPool2d", "AvgPool2d", "Linear"}


def numel(layer: Layer) -> int:
    return prod(layer.output_shape)


def train_state_bytes(params: int) -> int:
    """Weights, gradients and Adam's two moments at fp32."""
    return ADAM_COPIES * FP32_BYTES * params


class _Live:
    """Activation tensors alive at once, keyed by a name; remembers the largest total seen."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}
        self.peak = 0

    def alloc(self, key: str, elements: int) -> str:
        self.sizes[key] = elements
        self.peak = max(self.peak, sum(self.sizes.values()))
        return key

    def output(self, layer: Layer) -> str:
        return self.alloc(layer.name, numel(layer))

    def free(self, *keys: str) -> None:
        for key in keys:
            self.sizes.pop(key, None)

    def chain(self, layers: Sequence[Layer], source: str) -> str:
        """``for layer in layers: x = layer(x)`` on ``source`` (kept alive by its owner): while a layer
        runs, its input and output are alive; the input goes when the output is bound in its place."""
        current = source
        for layer in layers:
            out = self.output(layer)
            if current != source:
                self.free(current)
            current = out
        return current


def _block_peak(block: CountedBlock) -> int:
    """Peak elements alive while ``block`` runs, its input included (the caller adds what it holds):
    the shortcut first, then the branch one statement at a time as :mod:`arch_lab.models` runs it
    (``out = relu(bn(conv(out)))`` keeps ``out`` alive until the BN's output replaces it; ``out = se(out)``
    makes a new product), then the residual sum."""
    live = _Live()
    x = live.alloc("input", prod(block.steps[0][0].input_shape))
    identity = live.chain(block.shortcut, x)
    out = x
    for i, step in enumerate(block.steps):
        if step[0].role == "se":
            scale = live.chain(step, out)
            result = live.alloc(f"product{i}", prod(step[0].input_shape))
            live.free(scale)
        else:
            conv_out, result = live.output(step[0]), live.output(step[1])
            live.free(conv_out)
        if out != x:
            live.free(out)
        out = result
    live.alloc("sum", prod(block.output_shape))
    del identity  # alive until the sum is made, which the peak above includes
    return live.peak


@dataclass(frozen=True)
class Saved:
    """What autograd saves for the backward pass, in elements by kind, so every precision's bytes follow
    from one count (see the module docstring)."""

    activations: int = 0
    """Per image: tensors in the compute dtype (fp32; bf16 or fp16 under autocast)."""
    indices: int = 0
    """Per image: max-pool indices (int64 in every precision)."""
    bn_channels: int = 0
    """Per batch: BN saves its batch mean and inverse std, 2 fp32 numbers per channel, in every precision."""
    weights: int = 0
    """Conv and linear weight elements: under autocast each layer saves the 16-bit copy it computes with
    (the fp32 parameters themselves are not counted: they are the weights)."""

    def __add__(self, other: Saved) -> Saved:
        return Saved(self.activations + other.activations, self.indices + other.indices,
                     self.bn_channels + other.bn_channels, self.weights + other.weights)

    def nbytes(self, batch_size: int, precision: str) -> int:
        """Bytes saved for ``batch_size`` images in ``precision`` (a key of :data:`TRAINING`)."""
        compute = TRAINING[precision]
        weight_copies = self.weights * compute if compute != FP32_BYTES else 0
        return (batch_size * (self.activations * compute + self.indices * INDEX_BYTES)
                + 2 * self.bn_channels * FP32_BYTES + weight_copies)


TRAINING = {"fp32": FP32_BYTES, "mixed": BF16_BYTES}
"""Training precision -> bytes per activation element: plain fp32, or mixed precision (``torch.autocast``
to bf16 or fp16, the same bytes) with fp32 master weights, gradients and Adam moments."""


def _weights(layers: Sequence[Layer]) -> int:
    """Weight elements (biases excluded) of the conv and linear layers among ``layers``."""
    total = 0
    for layer in layers:
        if layer.type == "Conv2d":
            total += layer.output_shape[0] * (layer.input_shape[0] // layer.groups) * layer.kernel ** 2
        elif layer.type == "Linear":
            total += layer.input_shape[0] * layer.output_shape[0]
    return total


def _bn_channels(layers: Sequence[Layer]) -> int:
    return sum(layer.output_shape[0] for layer in layers if layer.type == "BatchNorm2d")


def _block_saved(block: CountedBlock) -> Saved:
    """What autograd saves in ``block`` (see the module docstring)."""
    saved = 0
    last = len(block.steps) - 1
    for i, step in enumerate(block.steps):
        if step[0].role == "se":
            pool, fc1, fc2 = step
            # pooled vector (fc1's input), ReLU output (fc2's input), sigmoid output (the product's operand);
            # the product is saved when a later conv takes it (RegNetY), not when the residual add does
            saved += numel(pool) + numel(fc1) + numel(fc2) + (prod(pool.input_shape) if i < last else 0)
        else:
            conv, bn = step
            # BN saves the conv's output; its own output is saved by the ReLU after it or by the next step
            saved += numel(conv) + (numel(bn) if bn.relu_after or i < last else 0)
    saved += prod(block.output_shape)  # the residual sum, saved by the in-place ReLU after it
    return Saved(saved, bn_channels=_bn_channels(block.layers), weights=_weights(block.layers)) + _chain_saved(
        block.shortcut)


_BLOCK_FIGURES: WeightedLRU[tuple[int, Saved]] = WeightedLRU(20_000, lambda figures: 1)


def block_figures(block: CountedBlock) -> tuple[int, Saved]:
    """(peak elements, what autograd saves) of a counted block, cached with it (keyed by the counted
    block, whose numbers depend on its node and input shape only)."""
    return _BLOCK_FIGURES.get(block, lambda: (_block_peak(block), _block_saved(block)))


def inference_activation_elements(net: CountedNetwork) -> int:
    """Peak activation elements alive at once in one image's no-grad forward (see module docstring).

    The caller's input stays alive throughout; ``ResNet.forward`` holds each stage's input until the
    stage returns, so every block but a stage's first runs beside it."""
    image = prod(net.input_shape)
    stem = _Live()
    stem.chain(net.stem, stem.alloc("input", image))
    peak, stage, held, previous, block_peak = stem.peak, "", 0, None, 0
    for _, block_stage, block in net.blocks:
        if block_stage != stage:
            stage, held = block_stage, 0
        if block is not previous:  # a stage repeats one counted block
            previous, block_peak = block, block_figures(block)[0]
        peak = max(peak, image + held + block_peak)
        if not held:
            held = prod(block.steps[0][0].input_shape)
    head = _Live()
    head.chain(net.head, head.alloc("features", prod(net.head[0].input_shape)))
    return max(peak, image + head.peak)


def saved_for_backward(net: CountedNetwork) -> Saved:
    """What autograd saves for backward in a training forward (see the module docstring): the first
    conv's input, the stem's saved outputs (its last is the first block's input, which that block's conv
    saves), every block's, and the head's."""
    saved = Saved(prod(net.input_shape), bn_channels=_bn_channels(net.stem), weights=_weights(net.stem + net.head))
    saved += _chain_saved(net.stem, last_output_saved=True) + _chain_saved(net.head)
    for _, _, block in net.blocks:
        saved += block_figures(block)[1]
    return saved


def _chain_saved(layers: Sequence[Layer], last_output_saved: bool = False) -> Saved:
    """The outputs in a chain that something saves: the next layer saves its input, a ReLU follows it,
    or (``last_output_saved``) the chain's consumer saves it; max-pool also saves indices."""
    activations = indices = 0
    for i, layer in enumerate(layers):
        consumer_saves = layers[i + 1].type in _SAVES_INPUT if i + 1 < len(layers) else last_output_saved
        if consumer_saves or layer.relu_after:
            activations += numel(layer)
        if layer.type == "MaxPool2d":
            indices += numel(layer)
    return Saved(activations, indices)
