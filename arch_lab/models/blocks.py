"""A residual block built from its description, with torchvision's module names (conv1, bn1, …,
downsample, se) so its weights load.

The branch runs one described step per statement, ``out = relu(bn(conv(out)))`` or ``out = se(out)``,
exactly as torchvision writes it: the memory model (:mod:`arch_lab.analysis.memory`) counts the tensors
alive under that layout, and the tests hold it against a real forward pass.
"""

from __future__ import annotations

import torch
from torch import nn

from arch_lab.models.layers import make
from arch_lab.network import Block, SqueezeExcitation, Unit


class ResidualBlock(nn.Module):
    """``relu(branch(x) + shortcut(x))`` for any block kind of :data:`arch_lab.network.BLOCKS`."""

    def __init__(self, node: Block) -> None:
        super().__init__()
        self.kind = node.kind
        channels = node.in_channels
        program: list[tuple[str, ...]] = []
        for step in node.steps:
            if isinstance(step, Unit):
                conv, channels = make(step.conv, channels)
                self.add_module(step.conv.name, conv)
                self.add_module(step.bn.name, make(step.bn, channels)[0])
                program.append(("unit", step.conv.name, step.bn.name, "relu" if step.relu else ""))
            else:
                self.add_module(step.name, _squeeze_excitation(step))
                program.append(("se", step.name))
        self.relu = nn.ReLU(inplace=True)
        self.downsample = make(node.shortcut, node.in_channels)[0] if node.shortcut is not None else None
        self.program = tuple(program)
        self.last_bn_name = node.last_bn.name

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        """The BN closing the residual branch, zeroed by ``zero_init_residual``."""
        return getattr(self, self.last_bn_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = x
        for step in self.program:
            out = self._statement(step, out)
        return self.relu(out + identity)

    def _statement(self, step: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
        """One step: ``se(x)``, or ``relu(bn(conv(x)))`` whose intermediates die inside this call."""
        if step[0] == "se":
            return getattr(self, step[1])(x)
        _, conv, bn, relu = step
        out = getattr(self, bn)(getattr(self, conv)(x))
        return self.relu(out) if relu else out


def _squeeze_excitation(step: SqueezeExcitation) -> nn.Module:
    # Imported on first use: torchvision.ops costs about 1.5 s of every start-up otherwise.
    from torchvision.ops import SqueezeExcitation as TorchvisionSE

    return TorchvisionSE(step.channels, step.hidden)
