"""ResNet Architecture Lab: describe a ResNet-family design as data, build it, measure it.

Data flows one way: spec -> model -> analysers -> report/comparison -> CLI/UI.
"""

from arch_lab.analysis import Report, analyse
from arch_lab.build import ResNet, build_model
from arch_lab.compare import compare
from arch_lab.errors import LimitError, SpecError
from arch_lab.latency import measure_latency
from arch_lab.limits import Limits, check_limits
from arch_lab.presets import list_presets, load_preset, resolve
from arch_lab.spec import ResNetSpec

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
    "resolve",
]
