"""The plan's flat layer list regrouped as the network runs: stem chain, residual blocks, head chain.

Read from each layer's ``role`` and ``block`` (set by the counting interpreter from the network's
description), never from its name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from arch_lab.plan import Layer


@dataclass
class Block:
    """One residual block: ``out = relu(branch(x) + shortcut(x))``, SE somewhere in the branch."""

    name: str
    stage: str
    branch: list[Layer] = field(default_factory=list)
    shortcut: list[Layer] = field(default_factory=list)
    se: list[Layer] = field(default_factory=list)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.branch[0].input_shape

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.branch[-1].output_shape


@dataclass
class Network:
    stem: list[Layer]
    blocks: list[Block]
    head: list[Layer]


def split(layers: Sequence[Layer]) -> Network:
    """Group ``layers`` (in forward order, as ``plan()`` returns them) by stem, block and head."""
    net = Network([], [], [])
    for layer in layers:
        if layer.role == "stem":
            net.stem.append(layer)
        elif layer.role == "head":
            net.head.append(layer)
        else:
            if not net.blocks or net.blocks[-1].name != layer.block:
                net.blocks.append(Block(layer.block, layer.stage))
            getattr(net.blocks[-1], layer.role).append(layer)
    return net
