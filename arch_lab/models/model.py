"""The module interpreter: a spec's described network (:func:`arch_lab.network.describe`) as modules
with torchvision's names.

Names follow torchvision (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0``, ``fc``) and,
for the deep stem, timm (``conv1.0`` … ``conv1.6``), so their state dicts load with ``strict=True``.
More than four stages continue the pattern (``layer5``, …).
"""

from __future__ import annotations

import torch
from torch import nn

from arch_lab.errors import SpecError
from arch_lab.limits import Limits, check_limits
from arch_lab.models.blocks import ResidualBlock
from arch_lab.models.layers import make
from arch_lab.network import describe
from arch_lab.spec import ResNetSpec


class ResNet(nn.Module):
    """A ResNet-family network built from a :class:`ResNetSpec` (kept as ``self.spec``)."""

    def __init__(self, spec: ResNetSpec) -> None:
        super().__init__()
        self.spec = spec
        network = describe(spec)
        channels = network.in_channels
        self.stem_names = []
        for node in network.stem:
            module, channels = make(node, channels)
            self.add_module(node.name, module)
            self.stem_names.append(node.name)
        self.stage_names = []
        for stage, blocks in enumerate(network.stages):
            self.add_module(f"layer{stage + 1}", nn.Sequential(*(ResidualBlock(block) for block in blocks)))
            self.stage_names.append(f"layer{stage + 1}")
            channels = blocks[-1].out_channels
        self.head_names = []
        for node in network.head:
            module, channels = make(node, channels)
            self.add_module(node.name, module)
            self.head_names.append(node.name)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(network.features, network.num_classes)
        self._init_weights(spec.zero_init_residual)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """torchvision's init: Kaiming (fan-out) convs, unit norms; optionally a zero last norm per block
        (the last conv of a pre-activation block, as timm zeroes it)."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, ResidualBlock):
                    nn.init.constant_(m.last_bn.weight if m.last_bn is not None else m.last_conv.weight, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.stem_names + self.stage_names + self.head_names:
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
