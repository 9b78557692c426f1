"""Measured latency and throughput of a design on this machine (CPU, or a CUDA GPU when there is one)."""

from arch_lab.latency.measure import BUDGET_SPLIT, measure_latency, measurement_in_progress
from arch_lab.latency.options import DEVICES, DTYPES, MODES, LatencyOptions, parse_batch_sizes, resolve_options
from arch_lab.latency.result import BatchLatency, LatencyResult
from arch_lab.latency.sampling import SamplingRule

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
