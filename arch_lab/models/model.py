"""Compose stem, stages and head into a ResNet with torchvision's module names.

Names follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ``fc``) and,
for the deep stem, timm (``conv1.0`` … ``conv1.6``), so their state dicts load with ``strict=True``.
More than four stages continue the pattern (``layer5``, …).
"""

from __future__ import annotations

import torch
from torch import nn

from arch_lab.models.blocks import BLOCK_CLASSES, ResidualBlock, conv
from arch_lab.models.shortcuts import make_shortcut
from arch_lab.errors import SpecError
from arch_lab.limits import Limits, check_limits
from arch_lab.spec import BLOCKS, ResNetSpec


def stem_modules(spec: ResNetSpec) -> dict[str, nn.Module]:
    """The stem as top-level modules, in forward order."""
    width, bias = spec.stem_width, spec.conv_bias
    if spec.stem == "classic":
        first: nn.Module = nn.Conv2d(spec.in_channels, width, 7, stride=2, padding=3, bias=bias)
    elif spec.stem == "deep":
        half = width // 2
        first = nn.Sequential(
            conv(spec.in_channels, half, 3, 2, bias=bias), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            conv(half, half, 3, bias=bias), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            conv(half, width, 3, bias=bias))
    else:
        first = conv(spec.in_channels, width, 3, bias=bias)
    modules = {"conv1": first, "bn1": nn.BatchNorm2d(width), "relu": nn.ReLU(inplace=True)}
    if spec.stem != "cifar":
        modules["maxpool"] = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
    return modules


def make_stage(spec: ResNetSpec, stage: int, in_channels: int) -> nn.Sequential:
    """One stage: the first block carries the stride and the shortcut where the shape changes."""
    kind = spec.stage_blocks[stage]
    planes, stride = spec.widths[stage], spec.strides[stage]  # type: ignore[index]
    out_channels = planes * BLOCKS[kind]
    extra = {"inner_width": spec.stage_inner_width(stage), "groups": spec.groups} if kind == "bottleneck" else {}
    blocks = []
    for index in range(spec.depths[stage]):
        block_stride = stride if index == 0 else 1
        downsample = None
        if block_stride != 1 or in_channels != out_channels:
            downsample = make_shortcut(spec.shortcut, in_channels, out_channels, block_stride, spec.conv_bias)
        blocks.append(BLOCK_CLASSES[kind](in_channels, planes, block_stride, downsample,
                                          conv_bias=spec.conv_bias, se_ratio=spec.se_ratio, **extra))
        in_channels = out_channels
    return nn.Sequential(*blocks)


class ResNet(nn.Module):
    """A ResNet-family network built from a :class:`ResNetSpec` (kept as ``self.spec``)."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.stem_names = list(stem_modules(spec))
        for name, module in stem_modules(spec).items():
            self.add_module(name, module)
        channels = spec.stem_width
        self.stage_names = []
        for stage in range(spec.num_stages):
            name = f"layer{stage + 1}"
            self.add_module(name, make_stage(spec, stage, channels))
            self.stage_names.append(name)
            channels = spec.stage_out_channels(stage)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(channels, spec.num_classes)
        self._init_weights(spec.zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """torchvision's init: Kaiming (fan-out) convs, unit BN; optionally a zero last BN per block."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    nn.init.constant_(m.last_bn.weight, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.stem_names + self.stage_names:
            x = getattr(self, name)(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def build_model(spec: ResNetSpec, *, device: str | torch.device | None = None,
                limits: Limits | None = None) -> ResNet:
    """Build ``spec`` as a module, after checking it against the request limits (nothing is allocated
    for a refused spec). ``device="meta"`` builds shapes without weights, for counting.

    A wrong argument type or an unknown device is a :class:`SpecError`, like every other bad input.
    """
    if not isinstance(spec, ResNetSpec):
        raise SpecError("spec", f"expected a ResNetSpec (e.g. ResNetSpec.from_dict(data)), got {type(spec).__name__}")
    check_limits(spec, limits)
    with torch.device(_device(device)):
        return ResNet(spec)


def _device(device: str | torch.device | None) -> torch.device:
    """``device`` as a torch device, or a SpecError naming what is allowed."""
    if device is None:
        return torch.device("cpu")
    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError):
        raise SpecError("device", f"{str(device)[:60]!r} is not a device; use e.g. 'cpu', 'cuda', 'cuda:0' or "
                                  "'meta'") from None
    if parsed.type == "cuda" and (parsed.index or 0) >= torch.cuda.device_count():
        raise SpecError("device", f"{str(parsed)!r} is not on this machine, which has "
                                  f"{torch.cuda.device_count()} CUDA GPU(s); use 'cpu' or 'meta'")
    return parsed
