"""Chart builders: one bar/point per design, units on every axis, data equal to the table's."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from arch_lab import analyse, compare, load_preset
from arch_lab.charts import (
    design_colors,
    efficiency_scatter,
    latency_column,
    latency_curves,
    metric_bars,
    stage_breakdown,
)
from arch_lab.columns import MEDIAN, THROUGHPUT, LatencyColumn

NAMES = ["resnet18", "resnet34", "resnet50"]


@pytest.fixture(scope="module")
def reports():
    return [analyse(load_preset(name)) for name in NAMES]


@pytest.fixture(scope="module")
def table(reports):
    return compare(reports)


MEASURED = (LatencyColumn(MEDIAN, 8), LatencyColumn(MEDIAN, 1), LatencyColumn(THROUGHPUT, 1))
"""Hand-made latency columns (the larger batch first: the charts must pick batch 1 by its number)."""


@pytest.fixture(scope="module")
def measured(reports):
    values = {8: 50.0, 1: 10.0}
    extra = [{c.name: values[c.batch_size] * (i + 1) if c.metric == MEDIAN else 100.0 / (i + 1) for c in MEASURED}
             for i in range(len(reports))]
    return compare(reports, extra_columns=extra)


def _titles(fig) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def test_metric_bars_one_bar_per_design_in_millions_and_billions(table):
    fig = metric_bars(table, baseline="resnet18")
    assert [t.type for t in fig.data] == ["bar", "bar"]
    params, macs = fig.data
    assert list(params.x) == NAMES and list(macs.x) == NAMES
    # resnet18: 11,689,512 parameters and 1.81 GMACs (torchvision's published figures)
    assert params.y[0] == pytest.approx(11.689512)
    assert macs.y[0] == pytest.approx(1.81, abs=5e-3)
    assert fig.layout.yaxis.title.text == "Parameters (M)" and fig.layout.yaxis2.title.text == "MACs (G)"
    # ratio labels against the baseline; the baseline bar is outlined
    assert params.text[0] == "×1.00"
    assert params.text[2] == f"×{25_557_032 / 11_689_512:.2f}"
    assert list(params.marker.line.width) == [2.5, 0, 0]


def test_each_design_keeps_its_colour_across_charts(table):
    colors = design_colors(NAMES)
    assert len(set(colors.values())) == len(NAMES)
    bars = metric_bars(table)
    scatter = efficiency_scatter(table)
    assert list(bars.data[0].marker.color) == [colors[n] for n in NAMES]
    assert list(scatter.data[0].marker.color) == [colors[n] for n in NAMES]


def test_latency_appears_only_when_measured(table, measured):
    assert latency_column(table, ()) is None
    assert latency_column(measured, ()) is None  # columns nobody said were measured are not guessed from names
    assert latency_column(measured, MEASURED) == LatencyColumn(MEDIAN, 1)  # the smallest batch measured
    assert metric_bars(measured).data == metric_bars(table).data
    fig = metric_bars(measured, measured=MEASURED)
    assert len(fig.data) == 3
    assert list(fig.data[2].y) == [10.0, 20.0, 30.0]
    assert fig.layout.yaxis3.title.text == "Latency, batch 1 (ms)"
    scatter = efficiency_scatter(measured, MEASURED)
    assert len(scatter.data) == 2
    assert list(scatter.data[1].x) == [10.0, 20.0, 30.0]
    assert scatter.layout.xaxis2.title.text == "Latency, batch 1 (ms)"


def test_unmeasured_latency_column_is_ignored(reports):
    column = LatencyColumn(MEDIAN, 1)
    df = compare(reports, extra_columns=[{column.name: math.nan}] * len(reports))
    assert latency_column(df, [column]) is None


def test_scatter_is_labelled_with_design_names(table):
    fig = efficiency_scatter(table)
    (points,) = fig.data
    assert list(points.text) == NAMES
    assert "text" in points.mode
    assert fig.layout.xaxis.title.text == "Parameters (M)" and fig.layout.yaxis.title.text == "MACs (G)"
    assert list(points.y) == pytest.approx([m / 1e9 for m in table["macs"]])


def test_stage_breakdown_stacks_stages_that_sum_to_the_totals(reports, table):
    fig = stage_breakdown(reports)
    assert fig.layout.barmode == "stack"
    stages = [t.name for t in fig.data if t.xaxis == "x"]
    assert stages == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    for col, (metric, scale) in enumerate([("params", 1e6), ("macs", 1e9)]):
        traces = [t for t in fig.data if t.xaxis == ("x" if col == 0 else "x2")]
        assert all(list(t.x) == NAMES for t in traces)
        totals = [sum(t.y[i] for t in traces) for i in range(len(NAMES))]
        assert totals == pytest.approx([v / scale for v in table[metric]])
    assert fig.layout.yaxis.title.text == "Parameters (M)" and fig.layout.yaxis2.title.text == "MACs (G)"
    # one legend entry per stage, not two
    assert sum(t.showlegend is not False for t in fig.data) == len(stages)


def test_stage_breakdown_handles_designs_with_different_stage_counts():
    three = analyse(load_preset("resnet20"))  # CIFAR: three stages
    four = analyse(load_preset("resnet18").replace(input_size=64))
    fig = stage_breakdown([three, four])
    stages = [t.name for t in fig.data if t.xaxis == "x"]
    assert stages == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    layer4 = next(t for t in fig.data if t.name == "layer4" and t.xaxis == "x")
    assert layer4.y[0] == 0


def test_latency_curves_a_line_per_design_with_units():
    frames = {
        "a": pd.DataFrame({"batch_size": [1, 8], "median_ms": [2.0, 10.0], "p10_ms": [1.5, 9.0],
                           "p90_ms": [3.0, 12.0], "throughput_img_s": [500.0, 800.0]}),
        "b": pd.DataFrame({"batch_size": [1, 8], "median_ms": [None, 20.0], "p10_ms": [None, 19.0],
                           "p90_ms": [None, 21.0], "throughput_img_s": [None, 400.0]}),  # batch 1 failed
    }
    fig = latency_curves(frames)
    lat = [t for t in fig.data if t.xaxis == "x"]
    thr = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in lat] == ["a", "b"] and len(thr) == 2
    assert list(lat[0].y) == [2.0, 10.0] and list(lat[1].x) == [8]
    assert list(lat[0].error_y.array) == [1.0, 2.0] and list(lat[0].error_y.arrayminus) == [0.5, 1.0]
    assert fig.layout.xaxis.title.text == "batch size" and fig.layout.xaxis.type == "log"
    assert fig.layout.yaxis.title.text == "median latency (ms)"
    assert fig.layout.yaxis2.title.text == "throughput (images/s)"


@pytest.mark.parametrize("make", [lambda: metric_bars(pd.DataFrame()), lambda: efficiency_scatter(pd.DataFrame()),
                                  lambda: stage_breakdown([]), lambda: latency_curves({})])
def test_empty_inputs_give_a_message_not_empty_axes(make):
    fig = make()
    assert not fig.data
    assert _titles(fig) and _titles(fig)[0]
