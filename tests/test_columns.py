"""The comparison's latency and ratio columns as typed data: names unchanged, found without parsing them."""

from __future__ import annotations

import math

import pytest

from arch_lab import analyse, compare, load_preset
from arch_lab.charts import latency_column, metric_bars
from arch_lab.columns import (
    CALLS,
    MEDIAN,
    P10,
    P90,
    THROUGHPUT,
    LatencyColumn,
    latency_columns,
    ordered,
    ratio_column,
)
from arch_lab.latency import BatchLatency, LatencyResult

SETTINGS = {"threads": 2, "dtype": "fp32", "mode": "eager", "channels_last": False}


def _result(name: str = "resnet18", scale: float = 1.0) -> LatencyResult:
    """Batch 8 measured, batch 1 failed, batch 2 measured without a throughput block (given out of order)."""
    return LatencyResult(name, "cpu", "test CPU", 0, SETTINGS, [
        BatchLatency(8, median_ms=20.0 * scale, p10_ms=18.0 * scale, p90_ms=25.0 * scale, count=30,
                     throughput_img_s=400.0 / scale),
        BatchLatency(1, error="time budget: no warm call fitted"),
        BatchLatency(2, median_ms=6.0 * scale, p10_ms=5.0 * scale, p90_ms=7.0 * scale, count=12),
    ])


def test_names_are_the_csv_headers_for_every_batch_size_the_app_offers():
    from arch_lab.ui.latency_panel import BATCH_CHOICES

    assert [LatencyColumn(MEDIAN, b).name for b in BATCH_CHOICES] == [
        "latency_ms_b1", "latency_ms_b2", "latency_ms_b4", "latency_ms_b8", "latency_ms_b16", "latency_ms_b32",
        "latency_ms_b64", "latency_ms_b128"]
    assert [LatencyColumn(m, 128).name for m in (THROUGHPUT, P10, P90, CALLS)] == [
        "throughput_img_s_b128", "latency_p10_ms_b128", "latency_p90_ms_b128", "latency_calls_b128"]
    every = latency_columns(BATCH_CHOICES, (MEDIAN, THROUGHPUT, P10, P90, CALLS))
    assert len({c.name for c in every}) == len(every) == 5 * len(BATCH_CHOICES)  # no two columns share a name
    assert ratio_column("params") == "params_vs_baseline"
    assert ratio_column(LatencyColumn(MEDIAN, 8).name) == "latency_ms_b8_vs_baseline"


@pytest.mark.parametrize(("metric", "batch"), [("latency", 1), (MEDIAN, 0), (MEDIAN, True), (MEDIAN, "8")])
def test_a_column_that_cannot_exist_is_refused(metric, batch):
    with pytest.raises(ValueError):
        LatencyColumn(metric, batch)


def test_ordered_lists_batch_by_batch_without_repeats():
    columns = [LatencyColumn(P90, 8), LatencyColumn(MEDIAN, 8), LatencyColumn(THROUGHPUT, 1), LatencyColumn(MEDIAN, 8)]
    assert ordered(columns) == (LatencyColumn(THROUGHPUT, 1), LatencyColumn(MEDIAN, 8), LatencyColumn(P90, 8))
    assert LatencyColumn(P10, 2).at(P90) == LatencyColumn(P90, 2)


def test_a_result_lists_exactly_the_columns_it_adds_and_the_chart_finds_them():
    result = _result()
    summary = result.summary_columns()
    assert [c.name for c in result.columns()] == list(summary) == [
        "latency_ms_b8", "throughput_img_s_b8", "latency_ms_b1", "throughput_img_s_b1", "latency_ms_b2",
        "throughput_img_s_b2"]
    assert summary["latency_ms_b8"] == 20.0 and math.isnan(summary["latency_ms_b1"])
    assert math.isnan(summary["throughput_img_s_b2"])  # no throughput block
    reports = [analyse(load_preset("resnet18")), analyse(load_preset("resnet34"))]
    df = compare(reports, extra_columns=[summary, _result("resnet34", 2.0).summary_columns()])
    # batch 1 failed for every design, so the chart's latency is batch 2's, the smallest with a value
    assert latency_column(df, result.columns()) == LatencyColumn(MEDIAN, 2)
    fig = metric_bars(df, measured=result.columns())
    assert fig.layout.yaxis3.title.text == "Latency, batch 2 (ms)" and list(fig.data[2].y) == [6.0, 12.0]
    assert list(fig.data[2].text) == ["×1.00", "×2.00"]  # the ratio column compare made for it


def test_the_app_store_records_its_columns_and_the_compare_tab_shows_those():
    from arch_lab.ui.compare_panel import refresh
    from arch_lab.ui.latency_panel import entry
    from arch_lab.ui.state import DesignSet

    stored = entry(_result())
    assert [c.name for c in stored["columns"]] == [
        "latency_ms_b8", "throughput_img_s_b8", "latency_ms_b1", "throughput_img_s_b1", "latency_ms_b2",
        "throughput_img_s_b2", "latency_p10_ms_b8", "latency_p90_ms_b8", "latency_calls_b8", "latency_p10_ms_b1",
        "latency_p90_ms_b1", "latency_calls_b1", "latency_p10_ms_b2", "latency_p90_ms_b2", "latency_calls_b2"]
    # figures (ratios against the baseline) apart from how they were measured (no ratio: issue 18, item 12)
    assert list(stored["summary"]) == [c.name for c in stored["columns"] if c.metric != CALLS]
    assert list(stored["context"]) == [c.name for c in stored["columns"] if c.metric == CALLS] + [
        "latency_device", "latency_dtype", "latency_mode", "latency_threads", "latency_channels_last"]
    assert (stored["summary"]["latency_p90_ms_b8"], stored["context"]["latency_calls_b8"]) == (25.0, 30)

    r18, r34 = load_preset("resnet18"), load_preset("resnet34")
    out = refresh(DesignSet.of([r18, r34]), {r18.key(): stored}, ["size", "latency"])
    # by batch size; batch 1 failed and batch 2 has no throughput: neither has a column; nor has the spread
    assert list(out[1].columns) == ["design", "params (M)", "MACs (G)", "latency b2 (ms)", "latency b8 (ms)",
                                    "throughput b8 (img/s)"]
    assert list(out[1]["latency b2 (ms)"])[0] == "6.00"  # text, so that a thin figure can carry its mark
    bars = out[3]
    assert bars.layout.yaxis3.title.text == "Latency, batch 2 (ms)"
    assert list(bars.data[2].error_y.array)[0] == pytest.approx(1.0)  # p90 7.0 - median 6.0
    assert list(bars.data[2].error_y.arrayminus)[0] == pytest.approx(1.0)  # median 6.0 - p10 5.0
