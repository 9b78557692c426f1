"""Output stride and theoretical receptive field at the end of the stem and of every stage.

The standard recurrence (Araujo et al., "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019) along the main path: a layer with kernel ``k`` and stride ``s`` grows the receptive field
``r`` by ``(k - 1) * j`` and the jump ``j`` (the output stride, in input pixels) by a factor ``s``.
The main path is the stem followed by every block's residual branch; a shortcut (identity, 1x1 conv or
ResNet-D's 2x2 pool) sees a window inside the branch's, so the branch bounds the block. The sizes are
theoretical: unclipped by the image border, and blind to squeeze-excitation's global pooling (which
lets every output depend on the whole image). The tests check them against the extent of a real
network's input gradient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from arch_lab.plan import CountedNetwork, Layer

_SPATIAL = {"Conv2d", "MaxPool2d", "AvgPool2d"}


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
                size += (layer.kernel - 1) * jump
                jump *= layer.stride
        fields[stage] = Field(jump, size)

    step(net.stem, "stem")
    for _, stage, block in net.blocks:
        step([layer for layers in block.steps for layer in layers], stage)
    return fields
