"""Residual blocks with torchvision's module names (conv1, bn1, …, downsample), so its weights load.

Differences from torchvision are opt-in through the spec: biased convs (d2l), squeeze-excitation on the
block's output channels (SENet; named ``se``, applied after the last BN and before the residual add).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from arch_lab.spec import squeeze_channels


def conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1,
         bias: bool = False) -> nn.Conv2d:
    """A square conv padded so that stride 1 keeps the size (torchvision's conv3x3/conv1x1)."""
    return nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=bias)


class ResidualBlock(nn.Module, ABC):
    """Common forward: residual branch, optional SE, shortcut, add, ReLU."""

    def __init__(self, out_channels: int, se_ratio: float, downsample: nn.Module | None) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        if se_ratio > 0:
            # Imported on first use: torchvision.ops costs about 1.5 s of every start-up otherwise.
            from torchvision.ops import SqueezeExcitation

            self.se = SqueezeExcitation(out_channels, squeeze_channels(out_channels, se_ratio))

    @property
    @abstractmethod
    def last_bn(self) -> nn.BatchNorm2d:
        """The BN closing the residual branch, zeroed by ``zero_init_residual``."""

    @abstractmethod
    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The convolutional branch, up to and including its last BN."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        if hasattr(self, "se"):
            out = self.se(out)
        return self.relu(out + identity)


class BasicBlock(ResidualBlock):
    """Two 3x3 convs; the first carries the stride (ResNet-18/34)."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int, downsample: nn.Module | None,
                 conv_bias: bool = False, se_ratio: float = 0.0) -> None:
        super().__init__(planes, se_ratio, downsample)
        self.conv1 = conv(in_channels, planes, 3, stride, bias=conv_bias)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv(planes, planes, 3, bias=conv_bias)
        self.bn2 = nn.BatchNorm2d(planes)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))


class Bottleneck(ResidualBlock):
    """1x1 reduce, 3x3 (stride and groups here, "ResNet v1.5"), 1x1 expand by 4."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int, downsample: nn.Module | None,
                 conv_bias: bool = False, se_ratio: float = 0.0, inner_width: int = 0, groups: int = 1) -> None:
        out_channels = planes * self.expansion
        super().__init__(out_channels, se_ratio, downsample)
        self.conv1 = conv(in_channels, inner_width, 1, bias=conv_bias)
        self.bn1 = nn.BatchNorm2d(inner_width)
        self.conv2 = conv(inner_width, inner_width, 3, stride, groups=groups, bias=conv_bias)
        self.bn2 = nn.BatchNorm2d(inner_width)
        self.conv3 = conv(inner_width, out_channels, 1, bias=conv_bias)
        self.bn3 = nn.BatchNorm2d(out_channels)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))


BLOCK_CLASSES: dict[str, type[ResidualBlock]] = {"basic": BasicBlock, "bottleneck": Bottleneck}
