"""Summary statistics of per-call times.

The median and percentiles are robust to the stalls a shared machine produces (``torch.utils.benchmark``
reports the median for the same reason); the mean and standard deviation are given too, since a tail that
the median hides is itself a finding. Percentiles interpolate linearly between order statistics (numpy's
default, the same as ``statistics.quantiles(method="inclusive")``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimingStats:
    count: int
    median_ms: float
    p10_ms: float
    p25_ms: float
    p75_ms: float
    p90_ms: float
    mean_ms: float
    std_ms: float
    """Sample standard deviation (n - 1); 0 for a single call."""
    min_ms: float

    @property
    def iqr_ms(self) -> float:
        return self.p75_ms - self.p25_ms


def summarise(times_ms: Sequence[float]) -> TimingStats:
    """Statistics of at least one time."""
    if not times_ms:
        raise ValueError("no times to summarise")
    values = np.asarray(times_ms, dtype=np.float64)
    p10, p25, median, p75, p90 = np.percentile(values, [10, 25, 50, 75, 90])
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return TimingStats(int(values.size), float(median), float(p10), float(p25), float(p75), float(p90),
                       float(values.mean()), std, float(values.min()))


def relative_iqr(times_ms: Sequence[float]) -> float:
    """IQR / median: the spread ``Timer.adaptive_autorange`` also stops on."""
    p25, median, p75 = np.percentile(np.asarray(times_ms, dtype=np.float64), [25, 50, 75])
    return float((p75 - p25) / median) if median > 0 else 0.0
