"""Request limits: refuse a design before any memory is allocated for it.

The defaults are generous for real ResNets (wide_resnet101_2 at 1024x1024 fits) and keep one request
safe on a 16 GB machine. Each limit can be lifted with an environment variable (read when ``Limits()``
is created) or by passing a :class:`Limits` explicitly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from arch_lab.errors import LimitError
from arch_lab.plan import plan
from arch_lab.spec import ResNetSpec


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(float(value)) if value else default


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one request. ``macs`` and ``activations`` scale with the batch size."""

    max_params: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_PARAMS", 1_000_000_000))
    max_macs: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_MACS", 2_000_000_000_000))
    max_blocks: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_BLOCKS", 1_000))
    max_activations: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_ACTIVATIONS", 1_000_000_000))
    max_batch_size: int = field(default_factory=lambda: _env_int("ARCH_LAB_MAX_BATCH_SIZE", 4_096))


ENV_NAMES = {
    "max_params": "ARCH_LAB_MAX_PARAMS",
    "max_macs": "ARCH_LAB_MAX_MACS",
    "max_blocks": "ARCH_LAB_MAX_BLOCKS",
    "max_activations": "ARCH_LAB_MAX_ACTIVATIONS",
    "max_batch_size": "ARCH_LAB_MAX_BATCH_SIZE",
}


def _refuse(limit: str, what: str, value: int, bound: int) -> LimitError:
    return LimitError(
        limit, f"{value:,} {what} exceed the limit of {bound:,}; lift it with the environment variable "
        f"{ENV_NAMES[limit]}=<n> or pass Limits({limit}=<n>)")


def check_batch_size(batch_size: int, limits: Limits | None = None) -> None:
    """Raise :class:`LimitError` for a batch larger than ``limits.max_batch_size`` (any model, spec or not)."""
    limits = limits or Limits()
    if batch_size > limits.max_batch_size:
        raise _refuse("max_batch_size", "images per batch", batch_size, limits.max_batch_size)


def check_limits(spec: ResNetSpec, limits: Limits | None = None, batch_size: int = 1) -> None:
    """Raise :class:`LimitError` if building or running ``spec`` at ``batch_size`` is too large.

    Uses the analytic plan, so it costs microseconds and allocates nothing.
    """
    limits = limits or Limits()
    check_batch_size(batch_size, limits)
    if spec.num_blocks > limits.max_blocks:
        raise _refuse("max_blocks", "blocks", spec.num_blocks, limits.max_blocks)
    layers = plan(spec)
    checks = (
        ("max_params", "parameters", sum(layer.params for layer in layers), limits.max_params),
        ("max_macs", "MACs per batch", batch_size * sum(layer.macs for layer in layers), limits.max_macs),
        ("max_activations", "activation elements per batch",
         batch_size * sum(layer.activations for layer in layers), limits.max_activations),
    )
    for limit, what, value, bound in checks:
        if value > bound:
            raise _refuse(limit, what, value, bound)
