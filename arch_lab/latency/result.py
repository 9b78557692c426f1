"""Measured latency: a row per batch size, plus every setting needed to reproduce or judge it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from arch_lab.columns import MEDIAN, THROUGHPUT, LatencyColumn, latency_columns
from arch_lab.latency.sampling import Samples
from arch_lab.latency.stats import summarise

if TYPE_CHECKING:
    import pandas


@dataclass(frozen=True)
class BatchLatency:
    """One batch size. Latency times are per synchronised call (one batch); a failed batch has ``error``."""

    batch_size: int
    median_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    iqr_ms: float | None = None
    mean_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    count: int = 0
    """Timed single calls (warm-up excluded)."""
    throughput_img_s: float | None = None
    """Images per second over a block of back-to-back calls timed as one (launch gaps overlap with work);
    None when no block of two or more calls fitted the share (``note`` says so)."""
    throughput_calls: int = 0
    peak_memory_mb: float | None = None
    """Peak memory allocated by torch on the GPU during the timed calls (after warm-up, so cuDNN's
    autotuning workspace is not counted); None on a CPU."""
    peak_reserved_mb: float | None = None
    """Peak memory torch's caching allocator held from the GPU in the same window."""
    tflops: float | None = None
    """Achieved TFLOP/s: FLOPs per image x throughput."""
    peak_fraction: float | None = None
    """tflops / the device's dense peak for the dtype; None where the peak is not known."""
    warmup_calls: int = 0
    warmup_s: float | None = None
    """Work done in warm-up calls."""
    cold_ms: float | None = None
    """The first call (in cuda_graph mode the first replay after capture; in compile modes the first call
    after the compiling one): part of the set-up, never used to predict a call."""
    setup_s: float | None = None
    """Set-up charged to the sweep, not to this batch's share: input, compile or capture, the cold call."""
    compile_s: float | None = None
    """Compile modes: resetting the compiler, ``torch.compile`` and the first (compiling) call."""
    compile_cache: str | None = None
    """Compile modes: whether Inductor's on-disk cache served the graph ("warm") or it was compiled ("cold")."""
    budget_s: float | None = None
    """This batch's share of the measurement's time budget."""
    elapsed_s: float | None = None
    """Time charged to the share (warm-up, single calls, the block)."""
    stopped_by: str | None = None
    sm_clock_mhz: float | None = None
    """GPU: SM clock right after the timed calls (nvidia-smi), to see whether the GPU had ramped up."""
    power_w: float | None = None
    temperature_c: float | None = None
    throttle_reasons: str | None = None
    note: str | None = None
    """Why a measured row has fewer timed calls than the sampling rule's ``min_calls``, or no throughput."""
    error: str | None = None

    @classmethod
    def from_samples(cls, batch_size: int, samples: Samples, *, flops_per_image: int, peak: float | None,
                     min_calls: int, **extra: Any) -> BatchLatency:
        """Summarise the samples; a share too small for a single timed call becomes an error row."""
        common = {"warmup_calls": samples.warmup_calls, "warmup_s": samples.warmup_s, "cold_ms": samples.cold_ms,
                  "elapsed_s": samples.elapsed_s, "stopped_by": samples.stopped_by}
        common.update(extra)
        share = f"this batch's {common['budget_s']:.2f} s share" if common.get("budget_s") is not None else "the share"
        if not samples.times_ms:
            why = ("no warm call fitted" if not samples.warmup_calls else
                   f"warm-up used it ({samples.warmup_calls} warm calls, "
                   f"{samples.warmup_s * 1e3 / samples.warmup_calls:.1f} ms each on average)")
            return cls(batch_size, error=f"time budget: {why} in {share} of the budget; raise budget_s", **common)
        stats = summarise(samples.times_ms)
        notes = []
        if stats.count < min_calls and samples.stopped_by == "budget":
            notes.append(f"only {stats.count} timed calls (the rule asks for {min_calls}): {share} of the budget "
                         "ran out; raise budget_s")
        throughput = None
        if samples.throughput_ms is not None:
            throughput = batch_size * samples.throughput_calls * 1e3 / samples.throughput_ms \
                if samples.throughput_ms > 0 else math.inf
        else:
            notes.append("no throughput: no block of two back-to-back calls fitted what was left of the share")
        tflops = None if throughput is None else flops_per_image * throughput / 1e12
        return cls(batch_size, median_ms=stats.median_ms, p10_ms=stats.p10_ms, p90_ms=stats.p90_ms,
                   iqr_ms=stats.iqr_ms, mean_ms=stats.mean_ms, std_ms=stats.std_ms, min_ms=stats.min_ms,
                   count=stats.count, throughput_img_s=throughput, throughput_calls=samples.throughput_calls,
                   tflops=tflops, peak_fraction=tflops / peak if peak and tflops is not None else None,
                   note="; ".join(notes) or None, **common)


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

    def columns(self) -> tuple[LatencyColumn, ...]:
        """The columns :meth:`summary_columns` gives, so a consumer knows them without parsing names."""
        return latency_columns(row.batch_size for row in self.rows)

    def summary_columns(self) -> dict[str, float]:
        """Latency and throughput per batch size (:meth:`columns`), for ``compare(..., extra_columns=[...])``.

        A failed batch (or one without a throughput block) gives NaN, so every design measured with the same
        batch sizes has the same columns.
        """
        values = {MEDIAN: "median_ms", THROUGHPUT: "throughput_img_s"}
        summary: dict[str, float] = {}
        for column in self.columns():
            row = self.row(column.batch_size)
            value = None if row.error is not None else getattr(row, values[column.metric])
            summary[column.name] = math.nan if value is None else value
        return summary
