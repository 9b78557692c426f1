"""Stems and stem pools: the layers before the first stage, one registry each (:data:`STEMS`,
:data:`STEM_POOLS`), whose keys are the spec's ``stem`` and ``stem_pool`` values."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from arch_lab.network.nodes import Leaf, Pad, Pool, Sequential
from arch_lab.network.style import Style

StemLayers = tuple[Leaf | Sequential, ...]


def _close(style: Style, width: int) -> StemLayers:
    """The stem's last norm and activation (``bn1``, ``relu``); none before pre-activation blocks, whose
    first norm takes the stem's output (timm ``ResNetV2``)."""
    return () if style.preact else (style.norm_node("bn1", width), style.act_node("relu"))


def _classic(width: int, style: Style) -> StemLayers:
    """torchvision's 7x7/2 conv."""
    return style.conv_node("conv1", width, 7, 2), *_close(style, width)


def _three_convs(widths: tuple[int, int, int], style: Style) -> StemLayers:
    """Three 3x3 convs, the first at stride 2, in timm's ``conv1`` Sequential."""
    a, b, c = widths
    convs = Sequential("conv1", (
        style.conv_node("", a, 3, 2), style.norm_node("", a), style.act_node(""),
        style.conv_node("", b, 3), style.norm_node("", b), style.act_node(""),
        style.conv_node("", c, 3)))
    return convs, *_close(style, c)


def _deep(width: int, style: Style) -> StemLayers:
    """ResNet-C (Bag of Tricks; timm ``stem_type='deep'``): 3x3 convs of width/2, width/2, width."""
    return _three_convs((width // 2, width // 2, width), style)


def _deep_tiered(width: int, style: Style) -> StemLayers:
    """timm's tiered stem (``stem_type='deep_tiered'``, the resnet*t models): 3x3 convs of
    3 * (width/2 // 4), width/2, width (24, 32, 64 for width 64)."""
    return _three_convs((3 * (width // 2 // 4), width // 2, width), style)


def _cifar(width: int, style: Style) -> StemLayers:
    return style.conv_node("conv1", width, 3), *_close(style, width)


def _simple(width: int, style: Style) -> StemLayers:
    """RegNet's ``SimpleStemIN``: one 3x3 conv at stride 2, norm, activation."""
    return style.conv_node("conv1", width, 3, 2), *_close(style, width)


STEMS: dict[str, Callable[[int, Style], StemLayers]] = {
    "classic": _classic, "deep": _deep, "deep_tiered": _deep_tiered, "cifar": _cifar, "simple": _simple}
"""Stem name -> its layers (stem_width, style), before the stem pool."""
DEFAULT_POOL = {"classic": "max", "deep": "max", "deep_tiered": "max", "cifar": "none", "simple": "none"}
"""Each stem's pool when the spec names none (torchvision, timm, He et al.'s CIFAR nets, RegNet)."""


def _max(width: int, style: Style) -> StemLayers:
    """3x3/2 max-pool; anti-aliased as timm does: ``nn.AvgPool2d(2)`` in its place, or a 3x3/1 max-pool
    then a blur pool."""
    if style.anti_alias == "avg":
        return (Pool("maxpool", "AvgPool2d", 2, 2, count_include_pad=True),)
    if style.anti_alias == "blur":
        return (Sequential("maxpool", (Pool("", "MaxPool2d", 3, 1, 1), style.downsampler("", width))),)  # type: ignore[arg-type]
    return (Pool("maxpool", "MaxPool2d", 3, 2, padding=1),)


def _conv_pool(width: int, style: Style) -> StemLayers:
    """ResNet-RS (timm ``replace_stem_pool``): a 3x3/2 conv, norm and activation in the pool's place (the
    conv at stride 1 and an anti-aliasing layer after it when anti-aliased)."""
    aa = style.downsampler("", width)
    conv = style.conv_node("", width, 3, 1 if aa else 2)
    return (Sequential("maxpool", (conv, *((aa,) if aa else ()), style.norm_node("", width), style.act_node(""))),)


def _zero_pad_max(width: int, style: Style) -> StemLayers:
    """BiT's fixed padding (timm ``stem_type='fixed'``): zero-pad by 1, then a 3x3/2 max-pool without padding
    (a max over zeros, not over -inf, at the border)."""
    return (Sequential("maxpool", (Pad("", 1), Pool("", "MaxPool2d", 3, 2))),)


def _no_pool(width: int, style: Style) -> StemLayers:
    return ()


STEM_POOLS: dict[str, Callable[[int, Style], StemLayers]] = {
    "max": _max, "conv": _conv_pool, "zero_pad_max": _zero_pad_max, "none": _no_pool}
"""Stem pool name -> its layers (stem_width, style)."""


@lru_cache(maxsize=256)
def stem(kind: str, pool: str, width: int, style: Style) -> StemLayers:
    """The stem's layers and its pool (cached, like :func:`arch_lab.network.block`; the key is everything
    they depend on)."""
    return STEMS[kind](width, style) + STEM_POOLS[pool](width, style)
