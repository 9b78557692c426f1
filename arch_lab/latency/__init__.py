"""Measured latency and throughput of a design on this machine (CPU, or a CUDA GPU when there is one).

Names are imported on first use (PEP 562), so ``arch_lab.latency.catalog`` (option names, the CPU's name)
can be read without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "BUDGET_SPLIT": "measure", "measure_latency": "measure", "measurement_in_progress": "measure",
    "DEVICES": "options", "DTYPES": "options", "MODES": "options", "LatencyOptions": "options",
    "parse_batch_sizes": "options", "resolve_options": "options",
    "BatchLatency": "result", "LatencyResult": "result",
    "SamplingRule": "sampling",
}

if TYPE_CHECKING:
    from arch_lab.latency.measure import BUDGET_SPLIT, measure_latency, measurement_in_progress
    from arch_lab.latency.options import (
        DEVICES,
        DTYPES,
        MODES,
        LatencyOptions,
        parse_batch_sizes,
        resolve_options,
    )
    from arch_lab.latency.result import BatchLatency, LatencyResult
    from arch_lab.latency.sampling import SamplingRule


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"arch_lab.latency.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'arch_lab.latency' has no attribute {name!r}")


__all__ = [
    "BUDGET_SPLIT",
    "DEVICES",
    "DTYPES",
    "MODES",
    "BatchLatency",
    "LatencyOptions",
    "LatencyResult",
    "SamplingRule",
    "measure_latency",
    "measurement_in_progress",
    "parse_batch_sizes",
    "resolve_options",
]
