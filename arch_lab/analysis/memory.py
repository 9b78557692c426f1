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

from collections.abc import Callable, Sequence
from math import prod

from arch_lab.analysis.structure import Block, split
from arch_lab.plan import Layer

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

    def branch(self, layers: Sequence[Layer], source: str) -> str:
        """The residual branch as :mod:`arch_lab.models.blocks` writes it, one statement per conv+BN:
        ``out = relu(bn(conv(out)))`` keeps ``out`` alive until the BN's output replaces it."""
        out = source
        for conv, bn in zip(layers[0::2], layers[1::2], strict=True):
            conv_out, bn_out = self.output(conv), self.output(bn)
            self.free(conv_out)
            if out != source:
                self.free(out)
            out = bn_out
        return out


def inference_activation_elements(layers: Sequence[Layer], input_elements: int) -> int:
    """Peak activation elements alive at once in one image's no-grad forward (see module docstring)."""
    net = split(layers)
    live = _Live()
    x = live.chain(net.stem, live.alloc("input", input_elements))
    stage_input = x
    for i, block in enumerate(net.blocks):
        if i and block.stage != net.blocks[i - 1].stage:  # ResNet.forward held the stage's input until now
            live.free(stage_input)
            stage_input = x
        identity = live.chain(block.shortcut, x)
        out = live.branch(block.branch, x)
        if block.se:
            scale = live.chain(block.se, out)
            scaled = live.alloc(f"{block.name}.se.mul", prod(block.output_shape))
            live.free(scale, out)
            out = scaled
        total = live.alloc(f"{block.name}.add", prod(block.output_shape))
        live.free(out, *(key for key in (identity, x) if key != stage_input))
        x = total
    live.free(stage_input)
    live.chain(net.head, x)
    return live.peak


def saved_activation_bytes(layers: Sequence[Layer], input_elements: int, batch_size: int) -> int:
    """Bytes autograd saves for backward in an fp32 training forward of ``batch_size`` images of
    ``input_elements`` each (see module docstring)."""
    bn_channels = sum(layer.output_shape[0] for layer in layers if layer.type == "BatchNorm2d")
    bn_statistics = 2 * bn_channels * FP32_BYTES  # the batch mean and inverse std of every BN, per batch
    return batch_size * _saved_per_image(layers, input_elements) + bn_statistics


def _saved_per_image(layers: Sequence[Layer], input_elements: int) -> int:
    net = split(layers)
    saved = input_elements * FP32_BYTES  # the first conv's input
    # every stem BN is followed by a ReLU; the stem's output is the first block's input, which its conv saves
    saved += _chain_saved(net.stem, relu_after=lambda layer: layer.type == "BatchNorm2d", last_output_saved=True)
    for block in net.blocks:
        saved += _block_saved(block)
    saved += _chain_saved(net.head, relu_after=lambda layer: False)
    return saved


def _chain_saved(layers: Sequence[Layer], relu_after: Callable[[Layer], bool], last_output_saved: bool = False) -> int:
    """Bytes of the outputs in a chain that some later op saves: the next layer saves its input, a
    ReLU follows it, or (``last_output_saved``) the chain's consumer saves it."""
    saved = 0
    for i, layer in enumerate(layers):
        consumer_saves = layers[i + 1].type in _SAVES_INPUT if i + 1 < len(layers) else last_output_saved
        if consumer_saves or relu_after(layer):
            saved += numel(layer) * FP32_BYTES
        if layer.type == "MaxPool2d":
            saved += numel(layer) * INDEX_BYTES
    return saved


def _block_saved(block: Block) -> int:
    last_bn = block.branch[-1]
    # In the branch every BN but the last is followed by a ReLU; the last feeds SE (which saves it) or
    # the residual add (which saves nothing).
    saved = _chain_saved(block.branch, relu_after=lambda layer: layer.type == "BatchNorm2d" and layer is not last_bn,
                         last_output_saved=bool(block.se))
    saved += _chain_saved(block.shortcut, relu_after=lambda layer: False)
    if block.se:
        pool, fc1, fc2 = block.se
        # pooled vector (fc1's input), ReLU output (fc2's input), sigmoid output (the product's operand)
        saved += (numel(pool) + numel(fc1) + numel(fc2)) * FP32_BYTES
    return saved + numel(last_bn) * FP32_BYTES  # the residual sum, saved by the in-place ReLU after it

