"""One formatting for the CLI and the app: shapes, counts with units and separators, the device label.

Expected values are worked out by hand from the architecture (conv output sizes, MAC counts) or are
torchvision's published figures, never copied from the code under test.
"""

from __future__ import annotations

import pytest

from arch_lab import analyse, load_preset
from arch_lab.analysis.text import layer_table, stage_table
from arch_lab.columns import MEDIAN, P10, THROUGHPUT, LatencyColumn
from arch_lab.display import (
    bytes_text,
    count_text,
    device_label,
    fp32_bytes,
    measured_header,
    optional_text,
    scaled,
    shape_text,
    share_text,
    text,
    unit_texts,
)
from arch_lab.latency import BatchLatency, LatencyResult

CONV1_MACS = 64 * 3 * 7 * 7 * 112 * 112
"""resnet18's stem conv: 64 filters of 3x7x7 at each of 112x112 outputs = 118,013,952."""


@pytest.fixture(scope="module")
def resnet18():
    return analyse(load_preset("resnet18"), batch_size=2)


def test_a_real_layer_table_reads_the_same_in_both_surfaces(resnet18):
    from arch_lab.ui.views import layers_view

    layers = resnet18.layers.set_index("name")
    # conv1: 7x7 stride 2 padding 3 on 224: floor((224 + 6 - 7) / 2) + 1 = 112; maxpool 3x3/2: 56
    assert shape_text(layers.loc["conv1", "output_shape"]) == "2×64×112×112"
    assert shape_text(layers.loc["maxpool", "output_shape"]) == "2×64×56×56"
    assert shape_text(layers.loc["fc", "output_shape"], times="x") == "2x1000"
    cli = layer_table(resnet18).set_index("name")
    assert cli.loc["conv1", "output shape"] == "2x64x112x112" and cli.loc["conv1", "input shape"] == "2x3x224x224"
    assert (cli.loc["bn1", "kernel"], cli.loc["conv1", "kernel"]) == ("-", "7")
    app = layers_view(resnet18.layers).set_index("layer")
    assert app.loc["conv1", "output (N×C×H×W)"] == "2×64×112×112" and app.loc["conv1", "kernel"] == "7×7"
    assert app.loc["conv1", "MACs (M)"] == "236.028"  # one unit for the column, the largest layer's (M)
    assert app.loc["total", "MACs (M)"] == f"{resnet18.macs / 1e6:,.3f}" == "3,628.147"  # 2 x 1,814,073,344
    assert app.loc["conv1", "output memory (fp32)"] == "6.4 MB"  # 2*64*112*112 floats * 4 B = 6,422,528 B
    assert app.loc["total", "params"] == "11,689,512"  # torchvision's resnet18
    assert app.loc["bn1", "kernel"] == "" and app.loc["fc", "params"] == "513,000"  # 512*1000 + 1000


def test_a_real_stage_table_in_the_cli():
    table = stage_table(analyse(load_preset("resnet20"))).set_index("stage")  # CIFAR: 32x32 input
    assert table.loc["layer3", "output shape"] == "1x64x8x8"
    assert table.loc["head", "receptive field (px)"] == "-"
    # He et al.'s ResNet-20: 0.27 M parameters, 269,722 exactly; the column is in K
    assert table[[c for c in table.columns if c.startswith("params (")]].sum().iloc[0] == pytest.approx(269.722)


def test_counts_units_and_shares():
    assert count_text(25_557_032) == "25,557,032" and count_text(float("nan")) == ""
    # one unit per column (issue 18: a stage table mixed "809.2 M" and "1.0 G"), the largest value's
    assert unit_texts([CONV1_MACS, 1_800_000_000, 0]) == ("G", ["0.118", "1.800", "0"])
    assert unit_texts([4_096, 512]) == ("k", ["4.096", "0.512"]) and unit_texts([512, 7]) == ("", ["512", "7"])
    assert unit_texts([CONV1_MACS, 4_089_184_256], largest=CONV1_MACS) == ("M", ["118.014", "4,089.184"])
    assert bytes_text(fp32_bytes((1, 64, 112, 112))) == "3.2 MB" and bytes_text(999) == "999 B"
    assert bytes_text(46_758_048) == "46.8 MB"  # resnet18's fp32 weights: 11,689,512 x 4 B
    assert scaled("params", [269_722, 11_689_512]) == ("params (M)", [0.27, 11.69])
    assert scaled("params", [269_722]) == ("params (K)", [269.722])
    assert scaled("weights fp32 (MB)", [46.758048]) == ("weights fp32 (MB)", [46.758])
    assert share_text(0.00037) == "0.037 %" and share_text(0.25) == "25.0 %" and share_text(0) == "0 %"
    assert optional_text([3, None], missing="-") == ["3", "-"]


def test_comparison_cells():
    assert text("224x224") == "224×224" and text("[3, 4, 6, 3]") == "3, 4, 6, 3" and text((2, 2)) == "2, 2"
    assert text("max") == "max" and text("1x") == "1x" and text("basic") == "basic"


def test_measured_headers():
    assert measured_header(LatencyColumn(MEDIAN, 8)) == ("latency b8 (ms)", 2)
    assert measured_header(LatencyColumn(THROUGHPUT, 64)) == ("throughput b64 (img/s)", 1)
    assert measured_header(LatencyColumn(P10, 8)) is None


def test_one_device_label_for_the_cli_and_the_app():
    from arch_lab.cli.latency_commands import latency_setup
    from arch_lab.ui.latency_panel import entry

    assert device_label("cuda", "NVIDIA H100 80GB HBM3") == "GPU: NVIDIA H100 80GB HBM3"
    assert device_label("cuda", "NVIDIA H100 80GB HBM3", 16) == "GPU: NVIDIA H100 80GB HBM3, 16 CPU threads"
    assert device_label("cpu", "AMD EPYC 7B13", 4) == "CPU: AMD EPYC 7B13, 4 threads"
    settings = {"threads": 4, "dtype": "bf16", "mode": "eager", "channels_last": True, "budget_s": 5.0,
                "torch_version": "2.x"}
    result = LatencyResult("r18", "cpu", "AMD EPYC 7B13", 0, settings, [BatchLatency(1, median_ms=3.0, count=10)])
    assert latency_setup(result) == "CPU: AMD EPYC 7B13, 4 threads; bf16, eager, channels_last, budget 5 s, torch 2.x"
    stored = entry(result)
    assert stored["device"] == stored["context"]["latency_device"] == "CPU: AMD EPYC 7B13, 4 threads"
