"""Modules of the steps that are one module each: attention (squeeze-excitation, ECA) and the forking
steps of ResNeSt (split attention) and SKNet (selective kernel). Their forward passes follow timm's
(``SEModule``/torchvision ``SqueezeExcitation``, ``EcaModule``, ``SplitAttn``, ``SelectiveKernel``) op for
op, under timm's parameter names, so timm's weights load and the outputs agree."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from arch_lab.models.layers import make_act, make_norm
from arch_lab.network import EfficientChannelAttention, SelectiveKernel, SplitAttention, SqueezeExcitation


def squeeze_excitation(step: SqueezeExcitation) -> nn.Module:
    """torchvision's ``SqueezeExcitation`` (``avgpool``, ``fc1``, activation, ``fc2``, sigmoid)."""
    # Imported on first use: torchvision.ops costs about 1.5 s of every start-up otherwise.
    from torchvision.ops import SqueezeExcitation as TorchvisionSE

    return TorchvisionSE(step.channels, step.hidden, activation=nn.SiLU if step.act == "silu" else nn.ReLU)


class ECA(nn.Module):
    """ECA-Net's attention: the pooled channels as a sequence, a 1-D conv across them, a sigmoid gate."""

    def __init__(self, step: EfficientChannelAttention) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv = nn.Conv1d(1, 1, step.kernel, padding=(step.kernel - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(self.avgpool(x).view(x.shape[0], 1, -1))
        return x * torch.sigmoid(y).view(x.shape[0], -1, 1, 1).expand_as(x)


class SplitAttn(nn.Module):
    """ResNeSt's split attention (see :class:`arch_lab.network.SplitAttention`)."""

    def __init__(self, step: SplitAttention, in_channels: int) -> None:
        super().__init__()
        self.radix, self.groups = step.radix, step.groups
        mid = step.out_channels * step.radix
        self.conv = nn.Conv2d(in_channels, mid, 3, step.stride, 1, groups=step.groups * step.radix, bias=False)
        self.bn0 = make_norm(step.norm0)
        self.act0 = make_act(step.act)
        self.fc1 = nn.Conv2d(step.out_channels, step.attn_channels, 1, groups=step.groups)
        self.bn1 = make_norm(step.norm1)
        self.act1 = make_act(step.act)
        self.fc2 = nn.Conv2d(step.attn_channels, mid, 1, groups=step.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act0(self.bn0(self.conv(x)))
        b, rc, h, w = x.shape
        if self.radix > 1:
            x = x.reshape((b, self.radix, rc // self.radix, h, w))
            x_gap = x.sum(dim=1)
        else:
            x_gap = x
        x_gap = self.act1(self.bn1(self.fc1(x_gap.mean((2, 3), keepdim=True))))
        x_attn = self.fc2(x_gap)
        if self.radix > 1:
            x_attn = F.softmax(x_attn.view(b, self.groups, self.radix, -1).transpose(1, 2), dim=1).reshape(b, -1)
            out = (x * x_attn.view(b, -1, 1, 1).reshape((b, self.radix, rc // self.radix, 1, 1))).sum(dim=1)
        else:
            out = x * torch.sigmoid(x_attn).view(b, -1, 1, 1)
        return out.contiguous()


class _ConvNormAct(nn.Module):
    """timm's ``ConvNormAct`` names: ``conv``, ``bn`` (then the activation)."""

    def __init__(self, conv: nn.Module, bn: nn.Module, act: nn.Module) -> None:
        super().__init__()
        self.conv, self.bn, self.act = conv, bn, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class _KernelAttention(nn.Module):
    """timm's ``SelectiveKernelAttn``: summed paths pooled, ``fc_reduce``, ``bn``, act, ``fc_select``,
    softmax across the paths."""

    def __init__(self, step: SelectiveKernel) -> None:
        super().__init__()
        self.paths = len(step.dilations)
        self.fc_reduce = nn.Conv2d(step.out_channels, step.attn_channels, 1, bias=False)
        self.bn = make_norm(step.attn_norm)
        self.act = make_act(step.act)
        self.fc_select = nn.Conv2d(step.attn_channels, step.out_channels * self.paths, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.fc_select(self.act(self.bn(self.fc_reduce(x.sum(1).mean((2, 3), keepdim=True)))))
        b, c, h, w = x.shape
        return torch.softmax(x.view(b, self.paths, c // self.paths, h, w), dim=1)


class SelectiveKernelConv(nn.Module):
    """SKNet's selective kernel (see :class:`arch_lab.network.SelectiveKernel`)."""

    def __init__(self, step: SelectiveKernel, in_channels: int) -> None:
        super().__init__()
        paths = len(step.dilations)
        self.split_input = step.split_input
        self.taken = in_channels // paths if step.split_input else in_channels
        self.paths = nn.ModuleList(
            _ConvNormAct(nn.Conv2d(self.taken, step.out_channels, 3, step.stride, dilation, dilation, step.groups,
                                   bias=False), make_norm(step.norm), make_act(step.act))
            for dilation in step.dilations)
        self.attn = _KernelAttention(step)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.split_input:
            parts = torch.split(x, self.taken, 1)
            x_paths = [op(parts[i]) for i, op in enumerate(self.paths)]
        else:
            x_paths = [op(x) for op in self.paths]
        x = torch.stack(x_paths, dim=1)
        return torch.sum(x * self.attn(x), dim=1)
