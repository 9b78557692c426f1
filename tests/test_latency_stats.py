"""Latency statistics, the budgeted sampling loop (with a fake clock, so every count is exact) and results."""

from __future__ import annotations

import json
import math
import random
import statistics

import pytest

from arch_lab.latency import BatchLatency, LatencyResult, SamplingRule
from arch_lab.latency.sampling import Samples, sample
from arch_lab.latency.stats import relative_iqr, summarise


class FakeClock:
    """Each call takes the next duration (seconds) from a cycle; time moves only when a call runs."""

    def __init__(self, durations_s: list[float]) -> None:
        self.durations_s = durations_s
        self.t = 0.0
        self.calls = 0

    def now(self) -> float:
        return self.t

    def time_call(self, fn) -> float:
        fn()
        duration = self.durations_s[self.calls % len(self.durations_s)]
        self.calls += 1
        self.t += duration
        return duration * 1e3


def test_summary_matches_the_statistics_module():
    rng = random.Random(7)
    times = [rng.lognormvariate(1.0, 0.4) for _ in range(101)]
    stats = summarise(times)
    deciles = statistics.quantiles(times, n=10, method="inclusive")
    quartiles = statistics.quantiles(times, n=4, method="inclusive")
    assert stats.count == 101
    assert stats.median_ms == pytest.approx(statistics.median(times))
    assert stats.p10_ms == pytest.approx(deciles[0]) and stats.p90_ms == pytest.approx(deciles[8])
    assert stats.iqr_ms == pytest.approx(quartiles[2] - quartiles[0])
    assert stats.mean_ms == pytest.approx(statistics.mean(times))
    assert stats.std_ms == pytest.approx(statistics.stdev(times))
    assert stats.min_ms == min(times)


def test_summary_of_one_call_has_no_spread():
    stats = summarise([4.0])
    assert (stats.median_ms, stats.p10_ms, stats.p90_ms, stats.std_ms, stats.count) == (4.0, 4.0, 4.0, 0.0, 1)
    with pytest.raises(ValueError):
        summarise([])


def test_relative_iqr_by_hand():
    assert relative_iqr([1, 2, 3, 4, 5]) == pytest.approx((4 - 2) / 3)
    assert relative_iqr([2, 2, 2]) == 0.0


def test_sampling_stops_at_the_budget():
    # 0.125 s a call, 1 s budget: cold call (0.125), one warm-up call (warm-up stops at 25% = 0.25 s),
    # then timed calls while the next would end by 1.0 s: 0.25 -> 1.0 is 6 calls. Binary fractions: exact.
    clock = FakeClock([0.125])
    samples = sample(lambda: None, clock, 1.0)
    assert (samples.warmup_calls, len(samples.times_ms), samples.stopped_by) == (2, 6, "budget")
    assert samples.elapsed_s == 1.0 and clock.calls == 8
    assert samples.cold_ms == 125.0


def test_sampling_stops_when_the_spread_is_small():
    clock = FakeClock([0.001])
    samples = sample(lambda: None, clock, 100.0, SamplingRule(min_calls=20, check_every=10))
    assert (samples.warmup_calls, len(samples.times_ms), samples.stopped_by) == (10, 20, "spread")


def test_sampling_keeps_going_while_the_spread_is_large():
    clock = FakeClock([0.001, 0.002])  # IQR / median = 1 / 1.5
    samples = sample(lambda: None, clock, 100.0, SamplingRule(max_calls=50))
    assert (len(samples.times_ms), samples.stopped_by) == (50, "max_calls")


def test_sampling_overruns_its_share_by_at_most_one_call():
    # Fast calls let the loop start one more call, which turns out slow: the overrun is that one call.
    clock = FakeClock([0.01] * 15 + [0.5])
    samples = sample(lambda: None, clock, 0.2)
    assert samples.elapsed_s > 0.2
    assert samples.elapsed_s <= 0.2 + 0.5
    assert clock.calls == 16


def test_a_cold_call_longer_than_the_share_leaves_no_timed_call():
    samples = sample(lambda: None, FakeClock([2.0, 0.001]), 1.0)
    assert samples.times_ms == [] and samples.warmup_calls == 1
    row = BatchLatency.from_samples(4, samples, flops_per_image=10, peak=None)
    assert row.count == 0 and row.median_ms is None and "time budget" in row.error and "2000.0 ms" in row.error


def test_throughput_and_achieved_tflops_by_hand():
    samples = Samples(cold_ms=30.0, warmup_calls=2, times_ms=[8.0, 10.0, 12.0], stopped_by="spread")
    row = BatchLatency.from_samples(4, samples, flops_per_image=2_000_000_000, peak=0.5)
    assert row.median_ms == 10.0 and row.count == 3
    assert row.throughput_img_s == pytest.approx(400.0)     # 4 images / 10 ms
    assert row.tflops == pytest.approx(0.8)                  # 2 GFLOP x 400 / s
    assert row.peak_fraction == pytest.approx(1.6)           # 0.8 / 0.5
    assert BatchLatency.from_samples(4, samples, flops_per_image=1, peak=None).peak_fraction is None


def test_result_summary_columns_and_json():
    ok = BatchLatency.from_samples(1, Samples(5.0, 1, [2.0, 2.0]), flops_per_image=1, peak=None)
    failed = BatchLatency(8, error="out of memory")
    result = LatencyResult("net", "cpu", "some cpu", 1, {"dtype": "fp32"}, [ok, failed])
    columns = result.summary_columns()
    assert columns["latency_ms_b1"] == 2.0 and columns["throughput_img_s_b1"] == pytest.approx(500.0)
    assert math.isnan(columns["latency_ms_b8"]) and math.isnan(columns["throughput_img_s_b8"])
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["settings"] == {"dtype": "fp32"} and data["device_name"] == "some cpu"
    assert data["rows"][1]["error"] == "out of memory" and data["rows"][1]["median_ms"] is None
    frame = result.to_frame()
    assert list(frame["batch_size"]) == [1, 8] and frame.loc[0, "median_ms"] == 2.0
    assert result.row(8) is failed
