"""The module interpreter's leaves: one ``nn.Module`` per described layer (see :mod:`arch_lab.network`)."""

from __future__ import annotations

from math import comb

import torch
import torch.nn.functional as F
from torch import nn

from arch_lab.network import Act, BlurPool, Conv, Identity, Leaf, Norm, Pad, Pool, Sequential, ZeroPad

STD_CONV_EPS = 1e-8
"""BiT's weight-standardisation epsilon (timm builds its BiT models with ``StdConv2d(eps=1e-8)``)."""


class ZeroPadShortcut(nn.Module):
    """Identity that subsamples by ``stride`` and appends zero channels (CIFAR ResNet "option A")."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


class StdConv2d(nn.Conv2d):
    """A conv whose weight is standardised per output channel before every use (Qiao et al. 2019; BiT),
    computed as timm's ``StdConv2d`` computes it: a batch norm over each filter, without affine weights."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True,
                              momentum=0.0, eps=STD_CONV_EPS).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang 2019), as timm's ``BlurPool2d``: reflect padding by 1, then a fixed
    3x3 binomial filter per channel (a non-persistent buffer: nothing in the state dict) at ``stride``."""

    def __init__(self, channels: int, stride: int = 2) -> None:
        super().__init__()
        self.channels, self.stride = channels, stride
        coeffs = torch.tensor([comb(2, k) for k in range(3)], dtype=torch.float32) / 4
        self.register_buffer("filt", (coeffs[:, None] * coeffs[None, :])[None, None].repeat(channels, 1, 1, 1),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), self.filt, stride=self.stride, groups=self.channels)


def make_conv(node: Conv, in_channels: int) -> nn.Conv2d:
    kind = StdConv2d if node.standardized else nn.Conv2d
    return kind(in_channels, node.out_channels, node.kernel, stride=node.stride, padding=node.padding,
                dilation=node.dilation, groups=node.groups, bias=node.bias)


def make_norm(node: Norm) -> nn.Module:
    if node.kind == "groupnorm":
        return nn.GroupNorm(node.groups, node.channels)
    return nn.BatchNorm2d(node.channels)


def make_act(kind: str) -> nn.Module:
    return nn.SiLU(inplace=True) if kind == "silu" else nn.ReLU(inplace=True)


def make(node: Leaf | Sequential, in_channels: int) -> tuple[nn.Module, int]:
    """The module for ``node`` taking ``in_channels``, and the channels it outputs."""
    if isinstance(node, Sequential):
        modules = []
        for item in node.items:
            module, in_channels = make(item, in_channels)
            modules.append(module)
        return nn.Sequential(*modules), in_channels
    if isinstance(node, Conv):
        return make_conv(node, in_channels), node.out_channels
    if isinstance(node, Norm):
        return make_norm(node), in_channels
    if isinstance(node, Act):
        return make_act(node.kind), in_channels
    if isinstance(node, Pool):
        if node.kind == "MaxPool2d":
            return nn.MaxPool2d(node.kernel, node.stride, node.padding, ceil_mode=node.ceil), in_channels
        return nn.AvgPool2d(node.kernel, node.stride, node.padding, ceil_mode=node.ceil,
                            count_include_pad=node.count_include_pad), in_channels
    if isinstance(node, BlurPool):
        return BlurPool2d(node.channels, node.stride), in_channels
    if isinstance(node, Pad):
        return nn.ConstantPad2d(node.padding, 0.0), in_channels
    if isinstance(node, Identity):
        return nn.Identity(), in_channels
    assert isinstance(node, ZeroPad), node
    return ZeroPadShortcut(in_channels, node.out_channels, node.stride), node.out_channels
