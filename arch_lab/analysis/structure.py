"""The plan's flat layer list regrouped as the network runs: stem chain, residual blocks, head chain.

The memory and receptive-field estimates need to know which layers form the residual branch, which the
shortcut and which the squeeze-excitation of a block; the plan's module names say it
(``layer2.0.conv1``, ``layer2.0.downsample.0``, ``layer2.0.se.fc1``), so nothing else is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from arch_lab.plan import Layer


@dataclass
class Block:
    """One residual block: ``out = relu(se(branch(x)) + shortcut(x))``."""

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
        if layer.stage == "stem":
            net.stem.append(layer)
        elif layer.stage == "head":
            net.head.append(layer)
        else:
            stage, index, part = layer.name.split(".", 2)
            name = f"{stage}.{index}"
            if not net.blocks or net.blocks[-1].name != name:
                net.blocks.append(Block(name, layer.stage))
            block = net.blocks[-1]
            if part.startswith("downsample"):
                block.shortcut.append(layer)
            elif part.startswith("se."):
                block.se.append(layer)
            else:
                block.branch.append(layer)
    return net
