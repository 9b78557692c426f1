"""Request limits: refuse a design before any memory is allocated for it.

The defaults are generous for real ResNets (wide_resnet101_2 at 1024x1024 fits) and keep one request
safe on a 16 GB machine. Each limit can be lifted with an environment variable (read when ``Limits()``
is created) or by passing a :class:`Limits` explicitly.

What a request costs is bounded, not what it describes. Analysis is arithmetic on one image's counts (a
report at batch 4,096 costs what it costs at batch 1: every per-batch figure is the batch size times one
image's), so an analysis request is bounded by the design — parameters, blocks, layers tabulated, MACs and
activations of one image — and the batch only by ``max_batch_size`` and by what an int64 holds. A request
that *runs* the model (latency, export) also bounds the MACs of one batch, and its memory: :func:`check_memory`
compares the weights plus the plan's peak of activations *alive at once* (from
:mod:`arch_lab.analysis.memory`) with what the device can give.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import prod
from typing import Protocol

from arch_lab.errors import LimitError
from arch_lab.plan import CountedNetwork, count
from arch_lab.spec import ResNetSpec


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(float(value)) if value else default


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one request (see the module docstring for what each bounds)."""

    max_params: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_PARAMS", 2_000_000_000))
    """Enough for timm's largest ResNet-family model (regnety_2560, 1.28 billion)."""
    max_macs: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_MACS", 2_000_000_000_000))
    """MACs of one image for analysis; of one batch for a request that runs the model."""
    max_blocks: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_BLOCKS", 1_000))
    max_layers: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_LAYERS", 50_000))
    """Layers a report tabulates (resnet152 has 516; 1,000 bottleneck blocks about 7,000)."""
    max_activations: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_ACTIVATIONS", 1_000_000_000))
    """Activation elements (conv and linear outputs) of one image."""
    max_batch_size: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_BATCH_SIZE", 4_096))
    max_input_elements: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_INPUT_ELEMENTS", 3 * 4096 * 4096))
    """Elements of one input image (C x H x W): the bound on a module without a spec, whose layers are unknown."""


ENV_NAMES = {
    "max_params": "ARCH_LAB_MAX_PARAMS",
    "max_macs": "ARCH_LAB_MAX_MACS",
    "max_blocks": "ARCH_LAB_MAX_BLOCKS",
    "max_layers": "ARCH_LAB_MAX_LAYERS",
    "max_activations": "ARCH_LAB_MAX_ACTIVATIONS",
    "max_batch_size": "ARCH_LAB_MAX_BATCH_SIZE",
    "max_input_elements": "ARCH_LAB_MAX_INPUT_ELEMENTS",
}


def _refuse(limit: str, what: str, value: int, bound: int) -> LimitError:
    return LimitError(
        limit, f"{value:,} {what} exceed the limit of {bound:,}; lift it with the environment variable "
        f"{ENV_NAMES[limit]}=N or pass Limits({limit}=N)")


def check_batch_size(batch_size: int, limits: Limits | None = None) -> None:
    """Raise :class:`LimitError` for a batch larger than ``limits.max_batch_size`` (any model, spec or not)."""
    limits = limits or Limits()
    if batch_size > limits.max_batch_size:
        raise _refuse("max_batch_size", "images per batch", batch_size, limits.max_batch_size)


def check_input_shape(shape: Sequence[int], limits: Limits | None = None) -> None:
    """Raise :class:`LimitError` for an input image (C, H, W) larger than ``limits.max_input_elements``."""
    limits = limits or Limits()
    elements = prod(shape)
    if elements > limits.max_input_elements:
        raise LimitError(
            "max_input_elements", f"an input of {' x '.join(f'{side:,}' for side in shape)} = {elements:,} elements "
            f"per image is outside the allowed range of 1 to {limits.max_input_elements:,}; lift it with the "
            f"environment variable {ENV_NAMES['max_input_elements']}=N or pass Limits(max_input_elements=N)")


INT64_MAX = 2**63 - 1
"""Largest count a table column holds (pandas' int64)."""


def check_limits(spec: ResNetSpec, limits: Limits | None = None, batch_size: int = 1,
                 running: bool = False) -> CountedNetwork:
    """Raise :class:`LimitError` if analysing ``spec`` at ``batch_size`` (or, with ``running``, running
    it) is too large; else return the counted network the check read (callers that need its numbers do
    not count twice).

    Uses the analytic count, so it costs microseconds and allocates nothing. Analysis bounds one image's
    MACs and activations; ``running=True`` bounds the MACs of the whole batch instead and leaves the
    activations to :func:`check_memory`.
    """
    limits = limits or Limits()
    check_batch_size(batch_size, limits)
    check_blocks(spec.num_blocks, limits)
    counted = count(spec)
    check_counts(counted, limits, batch_size, running)
    return counted


def check_blocks(blocks: int, limits: Limits | None = None) -> None:
    """Raise :class:`LimitError` for more than ``limits.max_blocks`` blocks: checked before counting (a
    design-space explorer checks a draw's depths with it before the draw is even validated)."""
    limits = limits or Limits()
    if blocks > limits.max_blocks:
        raise _refuse("max_blocks", "blocks", blocks, limits.max_blocks)


class Counts(Protocol):
    """What the size limits read of a counted design: a :class:`CountedNetwork`, or a sweep's sum of parts."""

    params: int
    macs: int
    activations: int
    layers: int


def check_counts(counted: Counts, limits: Limits | None = None, batch_size: int = 1, running: bool = False) -> None:
    """Raise :class:`LimitError` if ``counted``'s parameters, layers, MACs or activations exceed ``limits``
    (see :func:`check_limits`), or its counts at ``batch_size`` are more than an int64 holds."""
    limits = limits or Limits()
    checks = [("max_params", "parameters", counted.params, limits.max_params),
              ("max_layers", "layers", counted.layers, limits.max_layers)]
    if running:
        checks.append(("max_macs", "MACs per batch", batch_size * counted.macs, limits.max_macs))
    else:
        checks += [("max_macs", "MACs per image", counted.macs, limits.max_macs),
                   ("max_activations", "activation elements per image", counted.activations, limits.max_activations)]
    for limit, what, value, bound in checks:
        if value > bound:
            raise _refuse(limit, what, value, bound)
    if 2 * batch_size * counted.macs > INT64_MAX:  # FLOPs, the largest count of a report
        raise LimitError("max_batch_size", f"batch {batch_size:,} makes {2 * batch_size * counted.macs:,} FLOPs, "
                                           f"more than a count can hold ({INT64_MAX:,}); use a smaller batch")


def live_activation_elements(spec: ResNetSpec) -> int:
    """Peak activation elements alive at once in one image's inference forward pass (the input included)."""
    from arch_lab.analysis.memory import inference_activation_elements  # arch_lab.analysis imports this module

    return inference_activation_elements(count(spec))


def check_memory(batch_size: int, fixed_bytes: int, per_image_bytes: int, available_bytes: int | None,
                 where: str) -> None:
    """Raise :class:`LimitError` if ``fixed_bytes`` (weights) plus ``batch_size`` x ``per_image_bytes``
    (live activations) exceed ``available_bytes`` (``where`` says whose memory); None means unknown, and
    then the static limits alone apply. The message gives the batch sizes that would fit.

    The estimate leaves out convolution workspaces and allocator rounding, so a batch just under the bound
    can still run out of memory; the measurement then reports that batch as out of memory.
    """
    if available_bytes is None:
        return
    needed = fixed_bytes + batch_size * per_image_bytes
    if needed <= available_bytes:
        return
    largest = (available_bytes - fixed_bytes) // per_image_bytes if per_image_bytes else 0
    allowed = f"batch sizes from 1 to {largest:,} fit" if largest >= 1 else "not even batch 1 fits"
    raise LimitError(
        "memory", f"batch {batch_size:,} needs about {needed / 1e9:.2f} GB (weights {fixed_bytes / 1e9:.2f} GB + "
        f"{batch_size:,} x {per_image_bytes / 1e6:.1f} MB of activations alive at once) but {where} allows "
        f"{available_bytes / 1e9:.2f} GB; {allowed}")
