"""ResNet Architecture Lab: describe a ResNet-family design as data, build it, measure it.

Data flows one way: spec -> model -> analysers -> report/comparison -> CLI/UI.

The names below are imported on first use (PEP 562): the analysers are pure arithmetic, so importing
``arch_lab`` (or the app) does not pay for torch until a model is built or timed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# torch-free: imported now (binding ``compare`` here also keeps the function, not the submodule, as the name)
from arch_lab.analysis import Report, analyse
from arch_lab.compare import compare
from arch_lab.errors import LimitError, SpecError
from arch_lab.limits import Limits, check_limits
from arch_lab.presets import list_presets, load_preset, resolve
from arch_lab.regnet import regnet
from arch_lab.spec import ResNetSpec

_LAZY = {"ResNet": "arch_lab.models", "build_model": "arch_lab.models", "measure_latency": "arch_lab.latency"}
"""Names whose modules import torch: imported on first use."""

if TYPE_CHECKING:
    from arch_lab.latency import measure_latency
    from arch_lab.models import ResNet, build_model


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'arch_lab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "LimitError",
    "Limits",
    "Report",
    "ResNet",
    "ResNetSpec",
    "SpecError",
    "analyse",
    "build_model",
    "check_limits",
    "compare",
    "list_presets",
    "load_preset",
    "measure_latency",
    "regnet",
    "resolve",
]
