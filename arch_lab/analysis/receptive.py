"""Output stride and theoretical receptive field at the end of the stem and of every stage.

The standard recurrence (Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019) along the main path: a layer with kernel ``k`` and stride ``s`` grows the receptive field
``r`` by ``(k - 1) * j`` and the jump ``j`` (the output stride, in input pixels) by a factor ``s``.
The main path is the stem followed by every block's residual branch; a shortcut (identity, 1x1 conv or
ResNet-D's 2x2 pool) sees a window inside the branch's, so the branch bounds the block. Where a branch forks
the widest path counts: Res2Net's chain of 3x3s (each split's conv takes the previous one's output), SKNet's
dilated path, a dilated conv's ``dilation * (kernel - 1) + 1`` taps. The sizes are theoretical: unclipped by
the image border, and blind to global pooling inside attention (squeeze-excitation, ECA, split attention,
selective kernel), which lets every output depend on the whole image. The tests check them against the extent of a real
network's input gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arch_lab.network import ATTENTION_STEPS, Res2Split, SelectiveKernel, SplitAttention
from arch_lab.plan import CountedNetwork, CountedStep, Layer

_SPATIAL = {"Conv2d", "StdConv2d", "MaxPool2d", "AvgPool2d", "BlurPool2d"}


@dataclass(frozen=True)
class Field:
    """Output stride and receptive field (pixels, per side) of one feature map."""

    output_stride: int
    receptive_field: int


def stage_fields(net: CountedNetwork) -> dict[str, Field]:
    """``{"stem": Field, "layer1": Field, …}`` for the maps ending the stem and each stage."""
    size, jump = 1, 1
    fields: dict[str, Field] = {}

    def step(path: Sequence[Layer], stage: str) -> None:
        nonlocal size, jump
        for layer in path:
            if layer.type in _SPATIAL:
                size += (layer.kernel - 1) * layer.dilation * jump
                jump *= layer.stride
        fields[stage] = Field(jump, size)

    step(net.stem, "stem")
    for _, stage, block in net.blocks:
        step([layer for counted in block.steps for layer in _main_path(counted)], stage)
    return fields


def _main_path(step: CountedStep) -> tuple[Layer, ...]:
    """The layers of a step's widest path (attention steps have none that slide over the image)."""
    node = step.node
    if isinstance(node, ATTENTION_STEPS):
        return ()
    if isinstance(node, SplitAttention):
        return step.layers[:1]
    if isinstance(node, SelectiveKernel):
        return (max(step.layers[:2 * len(node.dilations):2], key=lambda conv: conv.dilation),)
    if isinstance(node, Res2Split):
        convs = step.layers[:2 * (node.scales - 1):2]
        return convs[:1] if node.first else convs
    return step.layers  # a unit, a pool
