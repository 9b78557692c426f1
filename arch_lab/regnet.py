"""RegNet: the quantized-linear width rule of Radosavovic et al. 2020 as a spec generator, and the key map
that loads torchvision's RegNet weights into :func:`arch_lab.build_model`.

Torch-free. torchvision computes the rule in float32 tensors, and rounding in float32 instead of float64
changes some generated widths (e.g. w0=120, wa=53.3, wm=2.1: 248 vs 256), so every step here is rounded
to float32 exactly as torchvision rounds it; the tests compare against torchvision on random inputs.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.spec import MAX_BOTTLENECK_RATIO, MAX_CHANNELS, MAX_DEPTH, MAX_STAGES, ResNetSpec

QUANT = 8
"""Block widths are multiples of this (and so must be w0)."""
MAX_WA = float(MAX_CHANNELS)
"""Largest slope: with depth <= MAX_DEPTH it keeps every float32 step finite (widths are checked after)."""
MAX_WM = 16.0
"""Largest width multiplier (the paper's design space uses 1.5 to 3); bounds the float32 arithmetic."""


ROUNDINGS = ("torchvision", "pycls")
"""How step 5 makes a stage's 3x3 width a multiple of its group width: torchvision's ``_make_divisible``
(timm's ``*_tv`` models), or the paper's ``quantize_float`` (pycls's model zoo, timm's RegNets)."""


def regnet(w0: int, wa: float, wm: float, depth: int, group_width: int, bottleneck_ratio: float = 1.0,
           se_ratio: float = 0.0, *, name: str = "regnet", stem_width: int = 32, num_classes: int = 1000,
           input_size: int | tuple[int, int] = 224, rounding: str = "torchvision") -> ResNetSpec:
    """The RegNet spec for the design-space parameters (Radosavovic et al. 2020, "Designing Network Design
    Spaces", arXiv 2003.13678, section 3.3), computed exactly as torchvision 0.29.1's
    ``BlockParams.from_init_params`` and ``_adjust_widths_groups_compatibilty`` compute it, or with
    ``rounding="pycls"`` as the paper's code (pycls ``adjust_block_compatibility``, timm's
    ``adjust_widths_groups_comp``) rounds step 5: RegNetX-400MF has 5,495,976 parameters in torchvision's
    rounding and 5,157,512 in the paper's.

    The rule, for blocks ``j = 0 .. depth - 1`` (float32 throughout, rounding half to even, ``q = 8``):

    1. linear widths ``u_j = w0 + wa * j``;
    2. quantized steps ``s_j = round(log(u_j / w0) / log(wm))``, so every width is ``w0`` times a power of
       ``wm``;
    3. block widths ``w_j = q * round(w0 * wm**s_j / q)``;
    4. stages are the runs of equal consecutive ``w_j``: each stage's width is the run's width, its depth
       the run's length, its stride 2;
    5. compatibility: with ``b = bottleneck_ratio`` and ``g`` the requested group width, a stage's
       bottleneck width is ``w_b = int(w * b)``, its group width ``g' = min(g, w_b)``; ``w_b`` is moved to a
       multiple of ``g'`` (torchvision ``_make_divisible``: the nearest multiple, at least ``g'``, bumped by
       ``g'`` if that lost more than 10%; pycls ``quantize_float``: ``int(round(w_b / g') * g')``) and the
       stage width becomes ``int(w_b / b)``.

    The spec has ``block="res_bottleneck"``, the simple stem (3x3/2 conv, BN, ReLU) of ``stem_width`` and
    projection shortcuts; ``se_ratio > 0`` is RegNetY's SE (0.25 in the paper). Each argument is checked
    first: a bad one raises :class:`SpecError` naming it and its range (``w0`` a positive multiple of 8,
    ``wa >= 0``, ``wm > 1``, ``1 <= depth <= MAX_DEPTH``, ...); designs the spec cannot hold (too many
    stages, a width over ``MAX_CHANNELS``, a group width that does not divide the 3x3 width) raise too.
    """
    if rounding not in ROUNDINGS:
        raise SpecError("rounding", f"{str(rounding)[:40]!r} is not allowed; choose one of {', '.join(ROUNDINGS)}")
    w0 = _int("w0", w0, QUANT, MAX_CHANNELS)
    if w0 % QUANT:
        raise SpecError("w0", f"{w0} is not a multiple of {QUANT}; expected a multiple of {QUANT} from {QUANT} to "
                              f"{MAX_CHANNELS:,}")
    wa = _float("wa", wa, 0.0, MAX_WA, "wa >= 0 and at most")
    wm = _float("wm", wm, 1.0, MAX_WM, "wm > 1 and at most")
    if wm <= 1.0:
        raise SpecError("wm", f"{wm} is not above 1; expected wm > 1 and at most {MAX_WM:g}")
    depth = _int("depth", depth, 1, MAX_DEPTH)
    group_width = _int("group_width", group_width, 1, MAX_CHANNELS)
    ratio = _float("bottleneck_ratio", bottleneck_ratio, 0.0, MAX_BOTTLENECK_RATIO, "bottleneck_ratio > 0 and at most")
    if ratio <= 0:
        raise SpecError("bottleneck_ratio", f"{ratio} is not above 0; expected bottleneck_ratio > 0 and at most "
                                            f"{MAX_BOTTLENECK_RATIO:g}")

    blocks = _block_widths(w0, wa, wm, depth)
    widths: list[int] = []
    depths: list[int] = []
    for width in blocks:
        if widths and widths[-1] == width:
            depths[-1] += 1
        else:
            widths.append(width)
            depths.append(1)
    if len(widths) > MAX_STAGES:
        raise SpecError("wm", f"w0={w0}, wa={wa}, wm={wm}, depth={depth} give {len(widths)} stages; a spec has at "
                              f"most {MAX_STAGES}: raise wm, or lower wa or depth")
    widths, group_widths = adjust_widths_groups(widths, [ratio] * len(widths), [group_width] * len(widths), rounding)
    if max(widths) > MAX_CHANNELS:
        raise SpecError("wa", f"w0={w0}, wa={wa}, wm={wm}, depth={depth} reach a stage width of {max(widths):,}; "
                              f"widths are at most {MAX_CHANNELS:,}: lower wa, wm or depth")
    return ResNetSpec(name=name, block="res_bottleneck", depths=tuple(depths), widths=tuple(widths),
                      strides=(2,) * len(widths), stem="simple", stem_width=stem_width, shortcut="projection",
                      se_ratio=se_ratio, num_classes=num_classes, input_size=input_size,
                      group_width=tuple(group_widths), bottleneck_ratio=ratio)


def _block_widths(w0: int, wa: float, wm: float, depth: int) -> list[int]:
    """Steps 1-3 of the rule, each operation rounded to float32 as torch rounds it (``torch.arange(depth) *
    wa + w0`` is a float32 tensor; the Python scalars ``wa``, ``w0``, ``wm`` and ``log(wm)`` are cast to
    float32). The sums, products and quotients of two float32 values, computed in float64 and rounded once,
    equal float32 arithmetic exactly."""
    wa32, wm32, w0_32, log_wm = _f32(wa), _f32(wm), _f32(w0), _f32(math.log(wm))
    widths = []
    for j in range(depth):
        linear = _f32(_f32(j * wa32) + w0_32)
        steps = round(_f32(_f32(math.log(_f32(linear / w0_32))) / log_wm))  # round(): half to even, as torch
        width = _f32(w0_32 * _f32(wm32**steps))
        widths.append(int(round(_f32(width / QUANT))) * QUANT)
    return widths


def adjust_widths_groups(widths: Sequence[int], ratios: Sequence[float], group_widths: Sequence[int],
                         rounding: str = "torchvision") -> tuple[list[int], list[int]]:
    """Step 5, torchvision's ``_adjust_widths_groups_compatibilty`` (Python floats, as there) or pycls's
    (``rounding="pycls"``), per stage: the group width is capped at the 3x3 width ``int(w * b)``, which is
    rounded to a multiple of it, and the stage width follows. AnyNet spaces use it too, as pycls's samplers
    do."""
    adjusted, groups = [], []
    for stage, (width, ratio, group_width) in enumerate(zip(widths, ratios, group_widths, strict=True)):
        bottleneck = int(width * ratio)
        if bottleneck < 1:
            raise SpecError("bottleneck_ratio", f"{ratio} leaves int({width} * {ratio}) = 0 channels in stage "
                                                f"{stage + 1}'s 3x3 conv; raise bottleneck_ratio or the width")
        group = min(group_width, bottleneck)
        rounded = _make_divisible(bottleneck, group) if rounding == "torchvision" else int(round(bottleneck / group)
                                                                                              * group)
        adjusted.append(int(rounded / ratio))
        groups.append(group)
    return adjusted, groups


def _make_divisible(value: int, divisor: int) -> int:
    """torchvision's ``_make_divisible``: the nearest multiple of ``divisor`` (at least ``divisor``), one
    more step up if rounding down lost more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _f32(value: float) -> float:
    """``value`` rounded to the nearest float32."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(name, f"{value!r:.40} is not an integer; expected an integer from {low:,} to {high:,}")
    if not low <= value <= high:
        raise SpecError(name, f"{value!r:.40} is out of range; expected an integer from {low:,} to {high:,}")
    return value


def _float(name: str, value: Any, low: float, high: float, allowed: str) -> float:
    """A finite number in ``[low, high]``; ``allowed`` words the range in the error (the strict bounds are
    checked by the caller with the same words)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise SpecError(name, f"{value!r:.40} is not allowed; expected a number, {allowed} {high:g}")
    return float(value)


# ---- torchvision weights ---------------------------------------------------------------------------------
_TORCHVISION_KEYS = (
    (re.compile(r"^stem\.0\."), "conv1."),
    (re.compile(r"^stem\.1\."), "bn1."),
    (re.compile(r"^fc\."), "fc."),
)
_TORCHVISION_BLOCK = re.compile(r"^trunk_output\.block(\d+)\.block\1-(\d+)\.(.+)$")
_TORCHVISION_BLOCK_PARTS = {
    "f.a.0": "conv1", "f.a.1": "bn1", "f.b.0": "conv2", "f.b.1": "bn2", "f.se.fc1": "se.fc1",
    "f.se.fc2": "se.fc2", "f.c.0": "conv3", "f.c.1": "bn3", "proj.0": "downsample.0", "proj.1": "downsample.1"}


def torchvision_regnet_key(key: str) -> str:
    """The name in :func:`arch_lab.build_model`'s state dict of a torchvision RegNet state-dict key, so
    torchvision's weights load with ``strict=True``::

        torchvision                                      arch_lab
        stem.0.*                                         conv1.*
        stem.1.*                                         bn1.*
        trunk_output.block{s}.block{s}-{i}.f.a.0.*       layer{s}.{i}.conv1.*
        ...f.a.1.*                                       layer{s}.{i}.bn1.*
        ...f.b.0.* / f.b.1.*                             layer{s}.{i}.conv2.* / bn2.*
        ...f.se.fc1.* / f.se.fc2.*                       layer{s}.{i}.se.fc1.* / se.fc2.*
        ...f.c.0.* / f.c.1.*                             layer{s}.{i}.conv3.* / bn3.*
        ...proj.0.* / proj.1.*                           layer{s}.{i}.downsample.0.* / downsample.1.*
        fc.*                                             fc.*

    Stages and blocks keep their numbers (``s`` from 1, ``i`` from 0). A key outside this table raises
    ``KeyError``: it is not a torchvision RegNet key, and silently passing it on would hide the mismatch.
    """
    for pattern, replacement in _TORCHVISION_KEYS:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    match = _TORCHVISION_BLOCK.match(key)
    if match:
        stage, index, rest = match.groups()
        for part, name in _TORCHVISION_BLOCK_PARTS.items():
            if rest.startswith(part + "."):
                return f"layer{stage}.{index}.{name}{rest[len(part):]}"
    raise KeyError(f"{key!r} is not a torchvision RegNet state-dict key")
