"""The headline numbers of many designs, for design-space sweeps: identical to :func:`analyse`'s.

``sweep_metrics(spec)`` returns only what a sweep ranks and filters on, computed from the counted
blocks (:func:`arch_lab.plan.count`, cached per distinct block) without naming any layer: designs that
share blocks cost tens of microseconds each, and a sweep holds a row of numbers per design, never a
report with its layer plan. ``analyse`` reports the same numbers from the same function
(:func:`arch_lab.analysis.report.headline`).
"""

from __future__ import annotations

from arch_lab.analysis.report import HEADLINE, headline
from arch_lab.errors import SpecError
from arch_lab.limits import Limits
from arch_lab.spec import ResNetSpec

SWEEP_METRICS = HEADLINE
"""What :func:`sweep_metrics` returns, under :class:`~arch_lab.analysis.report.Report`'s names."""


def sweep_metrics(spec: ResNetSpec, batch_size: int = 1, limits: Limits | None = None) -> dict[str, int | float]:
    """``{name: value}`` for :data:`SWEEP_METRICS`, equal to ``analyse(spec, batch_size=batch_size)``'s.
    Raises :class:`~arch_lab.errors.LimitError` for a design beyond the request limits, as ``analyse``
    does."""
    if not isinstance(spec, ResNetSpec):
        raise SpecError("spec", f"expected a ResNetSpec, got {type(spec).__name__}")
    return headline(spec, batch_size, limits)
