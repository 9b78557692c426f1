"""Measured latency: a row per batch size, plus every setting needed to reproduce or judge it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from arch_lab.latency.sampling import Samples
from arch_lab.latency.stats import summarise

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class BatchLatency:
    """One batch size. Times are per call (one batch); a failed batch has ``error`` and no times."""

    batch_size: int
    median_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    iqr_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    count: int = 0
    """Timed calls (warm-up excluded)."""
    throughput_img_s: float | None = None
    """batch_size / median call time: images per second with one batch in flight."""
    peak_memory_mb: float | None = None
    tflops: float | None = None
    """Achieved TFLOP/s: FLOPs per image x throughput."""
    peak_fraction: float | None = None
    """tflops / the device's dense peak for the dtype; None where the peak is not known."""
    warmup_calls: int = 0
    cold_ms: float | None = None
    """The first call, part of warm-up (in cuda_graph mode: the first replay after capture)."""
    compile_s: float | None = None
    """compile mode: ``torch.compile`` and the first (compiling) call; not charged to the budget."""
    budget_s: float | None = None
    """This batch's share of the measurement's time budget."""
    elapsed_s: float | None = None
    """Time charged to the budget (warm-up and timed calls)."""
    stopped_by: str | None = None
    error: str | None = None

    @classmethod
    def from_samples(cls, batch_size: int, samples: Samples, *, flops_per_image: int, peak: float | None,
                     **extra: Any) -> BatchLatency:
        """Summarise timed calls; a share too small for a single timed call becomes an error row."""
        common = {"warmup_calls": samples.warmup_calls, "cold_ms": samples.cold_ms,
                  "elapsed_s": samples.elapsed_s, "stopped_by": samples.stopped_by}
        common.update(extra)
        if not samples.times_ms:
            return cls(batch_size, error=f"time budget spent in warm-up (first call {samples.cold_ms:.1f} ms); "
                                         "raise budget_s", **common)
        stats = summarise(samples.times_ms)
        throughput = batch_size * 1e3 / stats.median_ms if stats.median_ms > 0 else math.inf
        tflops = flops_per_image * throughput / 1e12
        return cls(batch_size, median_ms=stats.median_ms, p10_ms=stats.p10_ms, p90_ms=stats.p90_ms,
                   iqr_ms=stats.iqr_ms, mean_ms=stats.mean_ms, std_ms=stats.std_ms, min_ms=stats.min_ms,
                   count=stats.count, throughput_img_s=throughput, tflops=tflops,
                   peak_fraction=tflops / peak if peak else None, **common)


@dataclass(frozen=True)
class LatencyResult:
    name: str
    device_type: str
    device_name: str
    flops_per_image: int
    settings: dict[str, Any]
    rows: list[BatchLatency]

    def row(self, batch_size: int) -> BatchLatency:
        return next(row for row in self.rows if row.batch_size == batch_size)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; missing values are None (JSON null), never NaN."""
        return {"name": self.name, "device_type": self.device_type, "device_name": self.device_name,
                "flops_per_image": self.flops_per_image, "settings": dict(self.settings),
                "rows": [asdict(row) for row in self.rows]}

    def to_frame(self) -> pandas.DataFrame:
        """A row per batch size (pandas is imported here, not when arch_lab is)."""
        import pandas

        return pandas.DataFrame([asdict(row) for row in self.rows])

    def summary_columns(self) -> dict[str, float]:
        """Latency and throughput per batch size, for ``compare(..., extra_columns=[...])``.

        A failed batch gives NaN, so every design measured with the same batch sizes has the same columns.
        """
        columns: dict[str, float] = {}
        for row in self.rows:
            missing = row.error is not None
            columns[f"latency_ms_b{row.batch_size}"] = math.nan if missing else row.median_ms
            columns[f"throughput_img_s_b{row.batch_size}"] = math.nan if missing else row.throughput_img_s
        return columns
