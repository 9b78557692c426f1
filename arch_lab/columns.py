"""The comparison's measured and ratio columns as typed data (no torch, no pandas, no gradio).

A latency measurement adds columns such as ``latency_ms_b8`` to the comparison, and ``compare`` adds a
``<column>_vs_baseline`` ratio for each numeric column. Those names are the CSV's headers and stay as they
are, but they are written only here: the producer of a column keeps the :class:`LatencyColumn` it made,
and charts and tables receive those objects instead of parsing the names back into a metric and a batch
size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

RATIO_SUFFIX = "_vs_baseline"

Metric = Literal["latency_ms", "throughput_img_s", "latency_p10_ms", "latency_p90_ms", "latency_calls"]
MEDIAN: Metric = "latency_ms"
"""Median latency of one call (one batch), in ms."""
THROUGHPUT: Metric = "throughput_img_s"
"""Images per second over back-to-back calls."""
P10: Metric = "latency_p10_ms"
P90: Metric = "latency_p90_ms"
"""The spread of the single-call latency, for error bars."""
CALLS: Metric = "latency_calls"
"""Timed calls behind the statistics."""
METRICS: tuple[Metric, ...] = (MEDIAN, THROUGHPUT, P10, P90, CALLS)
"""In the order a batch size's columns are listed."""
SUMMARY_METRICS: tuple[Metric, ...] = (MEDIAN, THROUGHPUT)
"""What ``LatencyResult.summary_columns`` gives per batch size (the CLI's ``compare --latency``)."""


@dataclass(frozen=True)
class LatencyColumn:
    """One measured number at one batch size; :attr:`name` is its column in the comparison and the CSV."""

    metric: Metric
    batch_size: int

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown latency metric {self.metric!r}; expected one of {', '.join(METRICS)}")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {self.batch_size!r}")

    @property
    def name(self) -> str:
        return f"{self.metric}_b{self.batch_size}"

    def at(self, metric: Metric) -> LatencyColumn:
        """The column of another metric at the same batch size (the median's p10 and p90)."""
        return LatencyColumn(metric, self.batch_size)


def latency_columns(batch_sizes: Iterable[int], metrics: Sequence[Metric] = SUMMARY_METRICS
                    ) -> tuple[LatencyColumn, ...]:
    """The columns for ``metrics`` at every batch size, batch by batch (the comparison's column order)."""
    return tuple(LatencyColumn(metric, batch) for batch in batch_sizes for metric in metrics)


def ordered(columns: Iterable[LatencyColumn]) -> tuple[LatencyColumn, ...]:
    """``columns`` without repeats, by batch size and then in :data:`METRICS` order."""
    return tuple(sorted(set(columns), key=lambda c: (c.batch_size, METRICS.index(c.metric))))


def ratio_column(column: str) -> str:
    """The name of the comparison's ratio of ``column`` to the baseline design's value."""
    return column + RATIO_SUFFIX
