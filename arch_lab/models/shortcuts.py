"""Shortcut (downsample) branches used where a block changes shape.

``projection`` is torchvision's 1x1 strided conv + BN, ``avg_down`` is ResNet-D's 2x2 average pool before
a 1x1 conv + BN (timm's layout, so its state dicts load), ``zero_pad`` is He et al.'s parameter-free
"option A", and ``conv`` is the d2l ``Residual`` block's biased 1x1 conv without a norm.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ZeroPadShortcut(nn.Module):
    """Identity that subsamples by ``stride`` and appends zero channels (CIFAR ResNet "option A")."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


def make_shortcut(kind: str, in_channels: int, out_channels: int, stride: int, conv_bias: bool) -> nn.Module:
    """The downsample branch for a block going from ``in_channels`` to ``out_channels`` at ``stride``."""
    if kind == "projection":
        return nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=conv_bias), nn.BatchNorm2d(out_channels))
    if kind == "avg_down":
        pool: nn.Module = (nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False)
                           if stride > 1 else nn.Identity())
        return nn.Sequential(
            pool, nn.Conv2d(in_channels, out_channels, 1, bias=conv_bias), nn.BatchNorm2d(out_channels))
    if kind == "zero_pad":
        return ZeroPadShortcut(in_channels, out_channels, stride)
    if kind == "conv":
        return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=True))
    raise AssertionError(f"unvalidated shortcut {kind!r}")
