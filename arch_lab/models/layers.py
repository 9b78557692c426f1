"""The module interpreter's leaves: one ``nn.Module`` per described layer (see :mod:`arch_lab.network`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arch_lab.network import BN, Conv, Identity, Leaf, Pool, ReLU, Sequential, ZeroPad


class ZeroPadShortcut(nn.Module):
    """Identity that subsamples by ``stride`` and appends zero channels (CIFAR ResNet "option A")."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


def make(node: Leaf | Sequential, in_channels: int) -> tuple[nn.Module, int]:
    """The module for ``node`` taking ``in_channels``, and the channels it outputs."""
    if isinstance(node, Sequential):
        modules = []
        for item in node.items:
            module, in_channels = make(item, in_channels)
            modules.append(module)
        return nn.Sequential(*modules), in_channels
    if isinstance(node, Conv):
        return nn.Conv2d(in_channels, node.out_channels, node.kernel, stride=node.stride, padding=node.kernel // 2,
                         groups=node.groups, bias=node.bias), node.out_channels
    if isinstance(node, BN):
        return nn.BatchNorm2d(in_channels), in_channels
    if isinstance(node, ReLU):
        return nn.ReLU(inplace=True), in_channels
    if isinstance(node, Pool):
        if node.kind == "MaxPool2d":
            return nn.MaxPool2d(node.kernel, node.stride, node.padding, ceil_mode=node.ceil), in_channels
        return nn.AvgPool2d(node.kernel, node.stride, node.padding, ceil_mode=node.ceil,
                            count_include_pad=False), in_channels
    if isinstance(node, Identity):
        return nn.Identity(), in_channels
    assert isinstance(node, ZeroPad), node
    return ZeroPadShortcut(in_channels, node.out_channels, node.stride), node.out_channels
