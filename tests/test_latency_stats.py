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
    """Call ``i`` takes ``durations_s[i]`` seconds (the last one repeats); time moves only when a call runs."""

    def __init__(self, durations_s: list[float]) -> None:
        self.durations_s = durations_s
        self.t = 0.0
        self.calls = 0
        self.blocks: list[int] = []

    def now(self) -> float:
        return self.t

    def _one(self, fn) -> float:
        fn()
        duration = self.durations_s[min(self.calls, len(self.durations_s) - 1)]
        self.calls += 1
        self.t += duration
        return duration

    def time_call(self, fn) -> float:
        return self._one(fn) * 1e3

    def time_calls(self, fn, count: int) -> float:
        self.blocks.append(count)
        return sum(self._one(fn) for _ in range(count)) * 1e3


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
    # 0.125 s a call, 1 s share. Binary fractions, so every figure is exact:
    # cold call 0 -> 0.125 (not charged); warm-up until 30% of the share is used: 3 calls, to 0.5;
    # single calls while the next ends by 1.125 - 25% of what is left (0.625) = 0.96875: 3 calls, to 0.875;
    # a back-to-back block sized from the slowest single call: 0.25 s left, 2 calls, to 1.125.
    clock = FakeClock([0.125])
    samples = sample(lambda: None, clock, 1.0)
    assert (samples.warmup_calls, len(samples.times_ms), samples.throughput_calls) == (3, 3, 2)
    assert samples.stopped_by == "budget" and clock.blocks == [2] and clock.calls == 9
    assert samples.elapsed_s == 1.0 and clock.t == 1.125 and samples.cold_ms == 125.0
    assert samples.throughput_ms == 250.0


def test_a_cold_call_far_longer_than_the_share_does_not_starve_the_batch():
    # Finding 1: a GPU's first call carries cuDNN autotuning and lazy loading (here 2000x a warm call). It is
    # set-up: reported, not charged to the share and never used to predict a call, so the share is spent on
    # warm calls and the batch gets its timed calls.
    clock = FakeClock([2.0, 0.001])
    samples = sample(lambda: None, clock, 1.0)
    assert samples.cold_ms == 2000.0
    assert len(samples.times_ms) >= SamplingRule().min_calls and set(samples.times_ms) == {1.0}
    assert samples.throughput_calls >= 2
    assert samples.elapsed_s <= 1.0 + 0.001


def test_warm_up_runs_twenty_calls_and_one_second_of_work_whichever_ends_later():
    rule = SamplingRule(warmup_fraction=1.0, max_calls=20)   # let warm-up take what it needs
    fast = sample(lambda: None, FakeClock([2.0**-10]), 100.0, rule)   # 1 s of work takes 1024 calls
    assert fast.warmup_calls == 1024 and fast.warmup_s == 1.0
    slow = sample(lambda: None, FakeClock([0.25]), 100.0, rule)       # 20 calls are 5 s of work
    assert slow.warmup_calls == 20 and slow.warmup_s == 5.0


def test_warm_up_is_bounded_by_its_fraction_of_the_share():
    samples = sample(lambda: None, FakeClock([2.0**-10]), 1.0)    # 1 s of work would be the whole share
    assert samples.warmup_calls == int(0.3 * 1024) + 1           # stops at 30% of the share
    assert len(samples.times_ms) >= 20


def test_peak_memory_hook_runs_between_warm_up_and_timing():
    clock = FakeClock([0.01])
    seen: list[int] = []
    samples = sample(lambda: None, clock, 1.0, after_warmup=lambda: seen.append(clock.calls))
    assert seen == [1 + samples.warmup_calls]                   # after the cold call and the warm-up


def test_sampling_stops_when_the_spread_is_small():
    clock = FakeClock([0.001])
    samples = sample(lambda: None, clock, 100.0, SamplingRule(min_calls=20, check_every=10))
    assert (len(samples.times_ms), samples.stopped_by) == (20, "spread")
    assert samples.throughput_calls == 50                        # the block's floor


def test_sampling_keeps_going_while_the_spread_is_large():
    clock = FakeClock([0.001, 0.002] * 5000)  # IQR / median = 1 / 1.5
    samples = sample(lambda: None, clock, 100.0, SamplingRule(max_calls=50))
    assert (len(samples.times_ms), samples.stopped_by) == (50, "max_calls")


@pytest.mark.parametrize("pattern", [[0.01] * 15 + [0.5], [0.003, 0.03, 0.01], [0.05], [0.2, 0.001]])
@pytest.mark.parametrize("budget_s", [0.05, 0.3, 2.0])
def test_sampling_overruns_its_share_by_at_most_one_call(pattern, budget_s):
    clock = FakeClock([0.0] + pattern * 2000)     # the cold call is free here: only the share is checked
    samples = sample(lambda: None, clock, budget_s)
    assert samples.elapsed_s <= budget_s + max(pattern)


def test_a_first_warm_call_longer_than_the_share_leaves_no_timed_call():
    samples = sample(lambda: None, FakeClock([0.001, 2.0, 0.001]), 1.0)
    assert samples.times_ms == [] and samples.warmup_calls == 1 and samples.cold_ms == 1.0
    row = BatchLatency.from_samples(4, samples, flops_per_image=10, peak=None, min_calls=20, budget_s=1.0)
    assert row.count == 0 and row.median_ms is None
    assert row.error == ("time budget: warm-up used it (1 warm calls, 2000.0 ms each on average) in this "
                         "batch's 1.00 s share of the budget; raise budget_s")


def test_throughput_comes_from_the_back_to_back_block_by_hand():
    samples = Samples(cold_ms=30.0, warmup_calls=2, times_ms=[8.0, 10.0, 12.0], stopped_by="spread",
                      throughput_calls=5, throughput_ms=25.0)
    row = BatchLatency.from_samples(4, samples, flops_per_image=2_000_000_000, peak=1.0, min_calls=3)
    assert row.median_ms == 10.0 and row.count == 3 and row.note is None
    assert row.throughput_img_s == pytest.approx(800.0)     # 5 calls x 4 images / 25 ms, not 4 / median
    assert row.tflops == pytest.approx(1.6)                  # 2 GFLOP x 800 / s
    assert row.peak_fraction == pytest.approx(1.6)           # 1.6 / 1.0
    assert BatchLatency.from_samples(4, samples, flops_per_image=1, peak=None, min_calls=3).peak_fraction is None


def test_a_row_with_few_calls_or_no_block_says_why():
    samples = Samples(cold_ms=30.0, warmup_calls=2, times_ms=[8.0, 10.0], stopped_by="budget")
    row = BatchLatency.from_samples(4, samples, flops_per_image=1, peak=None, min_calls=20, budget_s=0.5)
    assert row.error is None and row.throughput_img_s is None and row.tflops is None
    assert row.note.startswith("only 2 timed calls (the rule asks for 20): this batch's 0.50 s share")
    assert "no throughput" in row.note


def test_result_summary_columns_and_json():
    ok = BatchLatency.from_samples(1, Samples(5.0, 1, times_ms=[2.0, 2.0], throughput_calls=4, throughput_ms=8.0),
                                   flops_per_image=1, peak=None, min_calls=2)
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
