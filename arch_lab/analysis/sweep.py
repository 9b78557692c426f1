"""The headline numbers of many designs, for design-space sweeps: identical to :func:`analyse`'s.

``sweep_metrics(spec)`` returns only what a sweep ranks and filters on, so that a sweep holds a row of
numbers per design, never a report with its layer plan.
"""

from __future__ import annotations

from arch_lab.analysis.report import analyse
from arch_lab.spec import ResNetSpec

SWEEP_METRICS = ("params", "macs", "flops", "activations", "activations_mb")
"""What :func:`sweep_metrics` returns, under :class:`~arch_lab.analysis.report.Report`'s names."""


def sweep_metrics(spec: ResNetSpec, batch_size: int = 1) -> dict[str, int | float]:
    """``{name: value}`` for :data:`SWEEP_METRICS`, equal to ``analyse(spec, batch_size=batch_size)``'s."""
    report = analyse(spec, batch_size=batch_size)
    return {name: getattr(report, name) for name in SWEEP_METRICS}
