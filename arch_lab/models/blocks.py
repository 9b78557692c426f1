"""A residual block built from its description, under torchvision's and timm's module names (conv1,
bn1, …, downsample, se, convs/bns, conv2.paths) so their weights load.

The branch runs one described step per statement — ``out = aa(act(norm(conv(out))))`` (or its
pre-activation order), ``out = se(out)``, ``out = pool(out)``, or a forking step — exactly as torchvision and
timm write them: the memory model (:mod:`arch_lab.analysis.memory`) counts the tensors alive under that
layout, and the tests hold it against real forward passes.
"""

from __future__ import annotations

import torch
from torch import nn

from arch_lab.models.layers import make, make_act, make_conv, make_norm
from arch_lab.models.steps import ECA, SelectiveKernelConv, SplitAttn, squeeze_excitation
from arch_lab.network import (
    Block,
    EfficientChannelAttention,
    PoolStep,
    Res2Split,
    SelectiveKernel,
    SplitAttention,
    SqueezeExcitation,
    Unit,
)


class ResidualBlock(nn.Module):
    """``act(branch(x) + shortcut(x))`` for any block kind of :data:`arch_lab.network.BLOCKS`."""

    def __init__(self, node: Block) -> None:
        super().__init__()
        self.kind = node.kind
        self.preact, self.residual = node.preact, node.residual
        channels = node.in_channels
        program: list[tuple[str, ...]] = []
        for step in node.steps:
            if isinstance(step, Unit):
                program.append(self._add_unit(step, channels))
                channels = step.conv.out_channels
            elif isinstance(step, Res2Split):
                self._add_res2(step)
                program.append(("res2",))
                channels = step.width * step.scales
            elif isinstance(step, PoolStep):
                self.add_module(step.pool.name, make(step.pool, channels)[0])
                program.append(("module", step.pool.name))
            else:
                self.add_module(step.name, _step_module(step, channels))  # type: ignore[arg-type]
                program.append(("module", step.name))  # type: ignore[union-attr]
                channels = getattr(step, "out_channels", channels)
        self.out_act = node.act.name if node.act else ""
        if node.act and not hasattr(self, node.act.name):
            self.add_module(node.act.name, make_act(node.act.kind))
        self.downsample = make(node.shortcut, node.in_channels)[0] if node.shortcut is not None else None
        self.program = tuple(program)
        last = node.last_norm
        self.last_bn_name = last.name if last else ""
        self.last_conv_name = [step for step in node.steps if isinstance(step, Unit)][-1].conv.name

    def _add_unit(self, step: Unit, channels: int) -> tuple[str, ...]:
        self.add_module(step.conv.name, make_conv(step.conv, channels))
        if step.norm is not None:
            self.add_module(step.norm.name, make_norm(step.norm))
        if step.act is not None and not hasattr(self, step.act.name):
            self.add_module(step.act.name, make_act(step.act.kind))
        if step.aa is not None:
            self.add_module(step.aa.name, make(step.aa, step.conv.out_channels)[0])
        parts = (step.conv.name, step.norm.name if step.norm else "", step.act.name if step.act else "",
                 step.aa.name if step.aa else "")
        return ("preact" if step.preact else "unit", *parts)

    def _add_res2(self, step: Res2Split) -> None:
        """timm ``Bottle2neck``'s own attributes: ``convs``, ``bns``, ``pool`` (one activation module)."""
        self.width, self.first = step.width, step.first
        self.convs = nn.ModuleList(nn.Conv2d(step.width, step.width, 3, step.stride, 1, groups=step.groups, bias=False)
                                   for _ in range(step.scales - 1))
        self.bns = nn.ModuleList(make_norm(step.norm) for _ in range(step.scales - 1))
        self.pool = nn.AvgPool2d(3, step.stride, 1) if step.first else None
        if not hasattr(self, step.act):
            self.add_module(step.act, make_act(step.act))
        self.res2_act = step.act

    @property
    def last_bn(self) -> nn.Module | None:
        """The norm closing the residual branch, zeroed by ``zero_init_residual`` (None in pre-activation
        blocks)."""
        return getattr(self, self.last_bn_name) if self.last_bn_name else None

    @property
    def last_conv(self) -> nn.Module:
        """The branch's last conv (zeroed instead of a norm in pre-activation blocks)."""
        return getattr(self, self.last_conv_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            return self._preact_forward(x)
        identity = x if self.downsample is None else self.downsample(x)
        out = x
        for step in self.program:
            out = self._statement(step, out)
        if self.residual:
            out = out + identity
        return getattr(self, self.out_act)(out) if self.out_act else out

    def _preact_forward(self, x: torch.Tensor) -> torch.Tensor:
        """timm ``PreActBottleneck``: the first norm and activation run on the input, a projection shortcut
        takes their output (an identity shortcut the input itself), then the branch goes on from there."""
        _, conv, norm, act, _ = self.program[0]
        x_preact = getattr(self, act)(getattr(self, norm)(x))
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        out = getattr(self, conv)(x_preact)
        for step in self.program[1:]:
            out = self._statement(step, out)
        return out + shortcut

    def _statement(self, step: tuple[str, ...], x: torch.Tensor) -> torch.Tensor:
        """One step, whose intermediates die inside this call."""
        kind = step[0]
        if kind == "module":
            return getattr(self, step[1])(x)
        if kind == "res2":
            return self._res2(x)
        _, conv, norm, act, aa = step
        if kind == "preact":
            return getattr(self, conv)(getattr(self, act)(getattr(self, norm)(x)))
        out = getattr(self, conv)(x)
        if norm:
            out = getattr(self, norm)(out)
        if act:
            out = getattr(self, act)(out)
        return getattr(self, aa)(out) if aa else out

    def _res2(self, x: torch.Tensor) -> torch.Tensor:
        """timm ``Bottle2neck.forward``'s middle, op for op."""
        act = getattr(self, self.res2_act)
        spx = torch.split(x, self.width, 1)
        spo = []
        sp = spx[0]
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            sp = spx[i] if i == 0 or self.first else sp + spx[i]
            sp = act(bn(conv(sp)))
            spo.append(sp)
        spo.append(self.pool(spx[-1]) if self.pool is not None else spx[-1])
        return torch.cat(spo, 1)


def _step_module(step: SqueezeExcitation | EfficientChannelAttention | SplitAttention | SelectiveKernel,
                 channels: int) -> nn.Module:
    if isinstance(step, SqueezeExcitation):
        return squeeze_excitation(step)
    if isinstance(step, EfficientChannelAttention):
        return ECA(step)
    if isinstance(step, SplitAttention):
        return SplitAttn(step, channels)
    return SelectiveKernelConv(step, channels)
