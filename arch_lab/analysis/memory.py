"""Memory estimates from the layer plan: weights, inference activations, one training step.

All in bytes here (the report turns them into MB = 1e6 bytes). Assumptions, so that the numbers can be
checked against a real run (the tests do, with tensor lifetimes and ``saved_tensors_hooks``):

* **Weights** are the parameters only, at 4 bytes (fp32) or 2 bytes (bf16). BN running statistics
  (buffers, 2 floats per BN channel, < 0.5 % of a ResNet's parameters) are left out, as in torchinfo's
  "Params size".
* **Inference activations** are the peak of activation tensors alive at once during an fp32 forward
  pass without autograd (``torch.no_grad``), following the Python variable lifetimes of
  :mod:`arch_lab.models`: the caller's input batch stays alive; ``ResNet.forward`` holds each stage's
  input until the stage returns; a block holds its input and its shortcut output while the branch runs;
  a branch statement ``out = relu(bn(conv(out)))`` has its input, the conv output and the BN output
  alive at once; a ``Sequential`` only a layer's input and output; in-place ReLUs allocate nothing; SE's
  product and the residual sum are new tensors. Allocator caching and convolution workspaces are not
  counted.
* **Training step** = weights + gradients + Adam's two moments (4 copies of the fp32 parameters) + the
  activations autograd saves for the backward pass in an fp32 forward. Saved are: the input of every
  convolution, BatchNorm, pooling and linear layer (the global average pool is a mean, which saves
  nothing); the output of every ReLU (in-place after BN or after the residual sum); max-pool indices
  (int64); BN's batch mean and inverse std (per channel, per batch); for squeeze-excitation, the
  pooled vector, the ReLU and sigmoid outputs and the branch output it scales. Tensors shared by several
  of these count once. The loss and the transient buffers of the backward pass itself (which raise the
  real peak above this figure) are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import groupby
from math import prod
from operator import itemgetter

from arch_lab.cache import WeightedLRU
from arch_lab.plan import CountedBlock, CountedNetwork, Layer

FP32_BYTES = 4
BF16_BYTES = 2
INDEX_BYTES = 8
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


def _block_saved(block: CountedBlock) -> int:
    """Bytes per image autograd saves in ``block`` (see the module docstring)."""
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
    saved = saved * FP32_BYTES + _chain_saved(block.shortcut)
    return saved + prod(block.output_shape) * FP32_BYTES  # the residual sum, saved by the in-place ReLU after it


_BLOCK_FIGURES: WeightedLRU[tuple[int, int, int]] = WeightedLRU(20_000, lambda figures: 1)


def block_figures(block: CountedBlock) -> tuple[int, int, int]:
    """(peak elements, saved bytes per image, BN channels) of a counted block, cached with it."""
    def figures() -> tuple[int, int, int]:
        channels = sum(layer.output_shape[0] for layer in block.layers if layer.type == "BatchNorm2d")
        return _block_peak(block), _block_saved(block), channels

    return _BLOCK_FIGURES.get(block, figures)


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
    stem = _Live()
    stem.chain(net.stem, stem.alloc("input", image))
    head = _Live()
    head.chain(net.head, head.alloc("features", prod(net.head[0].input_shape)))
    return max(stem.peak, image + head.peak)


def stage_activation_elements(blocks: Sequence[CountedBlock]) -> int:
    """Peak elements alive while one stage's ``blocks`` run, beside the caller's input: ``ResNet.forward``
    holds the stage's input until the stage returns, so every block but the first runs beside it."""
    peak, held, previous, block_peak = 0, 0, None, 0
    for block in blocks:
        if block is not previous:  # a stage repeats one counted block
            previous, block_peak = block, block_figures(block)[0]
        peak = max(peak, held + block_peak)
        held = held or prod(block.input_shape)
    return peak


def peak_of_parts(image: int, ends: int, stages: Iterable[int]) -> int:
    """A network's peak from its parts': the stem's and head's (``ends``, the input included) and each
    stage's (beside the ``image`` elements of the input, which stay alive)."""
    return max((ends, *(image + stage for stage in stages)))


def saved_activation_bytes(net: CountedNetwork, batch_size: int) -> int:
    """Bytes autograd saves for backward in an fp32 training forward of ``batch_size`` images (see
    module docstring)."""
    bn_channels = sum(layer.output_shape[0] for layer in net.stem if layer.type == "BatchNorm2d")
    per_image = prod(net.input_shape) * FP32_BYTES  # the first conv's input
    # the stem's output is the first block's input, which its conv saves
    per_image += _chain_saved(net.stem, last_output_saved=True)
    for _, _, block in net.blocks:
        _, saved, channels = block_figures(block)
        per_image += saved
        bn_channels += channels
    per_image += _chain_saved(net.head)
    return batch_size * per_image + 2 * bn_channels * FP32_BYTES  # BN's batch mean and inverse std, per batch


def _chain_saved(layers: Sequence[Layer], last_output_saved: bool = False) -> int:
    """Bytes of the outputs in a chain that something saves: the next layer saves its input, a ReLU
    follows it, or (``last_output_saved``) the chain's consumer saves it; max-pool also saves indices."""
    saved = 0
    for i, layer in enumerate(layers):
        consumer_saves = layers[i + 1].type in _SAVES_INPUT if i + 1 < len(layers) else last_output_saved
        if consumer_saves or layer.relu_after:
            saved += numel(layer) * FP32_BYTES
        if layer.type == "MaxPool2d":
            saved += numel(layer) * INDEX_BYTES
    return saved
