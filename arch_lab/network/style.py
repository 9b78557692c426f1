"""The network-wide choices every stem, block and head reads: norm, activation, anti-aliasing, attention,
pre-activation and the forking blocks' settings. One value per network, taken from the spec.

A :class:`Style` is part of the key of every cached block (see :func:`arch_lab.network.block`), so a block
described under one style is never reused under another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from arch_lab.network.nodes import (
    Act,
    BlurPool,
    Conv,
    Downsampler,
    EfficientChannelAttention,
    Norm,
    Pool,
    SqueezeExcitation,
)

ANTI_ALIAS = ("none", "avg", "blur")
"""timm's ``aa_layer``: ``avg`` = ``nn.AvgPool2d(2)`` (resnetaa*), ``blur`` = ``BlurPool2d`` (resnetblur*)."""
ATTENTION = ("none", "se", "eca")
NORMS = ("batchnorm", "groupnorm")
AVD = ("none", "first", "last")
"""ResNeSt's average-pool downsampling: none, before the split-attention conv (``avd_first``), or after it."""
DEFAULT_GROUPS = 32
"""GroupNorm's groups when neither ``norm_groups`` nor ``norm_group_width`` is given (Wu & He 2018; timm)."""


def make_divisible(value: float, divisor: int, min_value: int | None = None, round_limit: float = 0.9) -> int:
    """timm's ``make_divisible``: ``value`` to the nearest multiple of ``divisor`` (at least ``min_value``,
    default ``divisor``), one ``divisor`` more if that lost more than ``1 - round_limit`` of it."""
    min_value = min_value or divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < round_limit * value else rounded


def eca_kernel(channels: int, gamma: float = 2, beta: float = 1) -> int:
    """ECA's adaptive kernel size: ``t = int(|log2(C) + beta| / gamma)``, made odd, at least 3."""
    t = int(abs(math.log(channels, 2) + beta) / gamma)
    return max(t if t % 2 else t + 1, 3)


@dataclass(frozen=True)
class Style:
    """See the module docstring; the fields mirror the spec's (``act`` is ``activation``)."""

    norm: str = "batchnorm"
    norm_groups: int | None = None
    norm_group_width: int | None = None
    act: str = "relu"
    anti_alias: str = "none"
    attention: str = "none"
    se_ratio: float = 0.0
    se_divisor: int = 1
    bias: bool = False
    standardized: bool = False
    preact: bool = False
    reduce_first: int = 1
    linear_out: bool = False
    radix: int = 2
    avd: str = "none"
    scales: int = 4
    sk_ratio: float = 1 / 16
    sk_divisor: int = 8
    sk_split_input: bool = True

    def conv_node(self, name: str, out: int, kernel: int, stride: int = 1, groups: int = 1) -> Conv:
        """A conv with the network's bias and weight standardisation (every conv but attention's and the
        d2l shortcut's, which always have a bias)."""
        return Conv(name, out, kernel, stride, groups, self.bias, standardized=self.standardized)

    def norm_node(self, name: str, channels: int) -> Norm:
        """The norm of ``channels`` channels; GroupNorm's groups from ``norm_group_width`` (channels per
        group) or ``norm_groups``."""
        if self.norm == "batchnorm":
            return Norm(name, channels)
        if self.norm_group_width:
            return Norm(name, channels, self.norm, channels // self.norm_group_width)
        return Norm(name, channels, self.norm, self.norm_groups or DEFAULT_GROUPS)

    def act_node(self, name: str | None = None) -> Act:
        """The activation, named after its kind unless ``name`` is given (``relu``, as torchvision names it)."""
        return Act(name or self.act, self.act)

    def downsampler(self, name: str, channels: int) -> Downsampler | None:
        """The anti-aliasing layer after a stride-2 conv that then runs at stride 1 (None without)."""
        if self.anti_alias == "avg":
            return Pool(name, "AvgPool2d", 2, 2, count_include_pad=True)
        if self.anti_alias == "blur":
            return BlurPool(name, channels)
        return None

    def attention_step(self, channels: int, hidden_from: int | None = None
                       ) -> tuple[SqueezeExcitation | EfficientChannelAttention, ...]:
        """The attention step on ``channels`` (none, SE or ECA). SE's hidden width is ``se_ratio`` of
        ``hidden_from`` (default ``channels``; RegNetY takes the block's input width), rounded as
        torchvision (``se_divisor`` 1: ``round``, at least 1) or timm (``make_divisible`` to ``se_divisor``)."""
        if self.attention == "eca":
            return (EfficientChannelAttention("se", channels, eca_kernel(channels)),)
        if self.attention != "se":
            return ()
        base = (channels if hidden_from is None else hidden_from) * self.se_ratio
        hidden = max(1, round(base)) if self.se_divisor == 1 else make_divisible(base, self.se_divisor,
                                                                                  round_limit=0.0)
        return (SqueezeExcitation("se", channels, hidden, self.act),)
