"""``compare --latency``: measured columns join the comparison; bad options fail before anything is timed."""

from __future__ import annotations

import pandas as pd

from arch_lab.cli import main
from arch_lab.latency import measure as measure_module


def test_compare_latency_adds_measured_columns(tmp_path, capsys):
    csv = tmp_path / "out.csv"
    status = main(["compare", "resnet20", "resnet32", "--latency", "--device", "cpu", "--batch", "1,2", "--budget", "2",
                   "--threads", "1", "--csv", str(csv)])
    assert status == 0
    out = capsys.readouterr().out
    assert "latency: CPU: " in out and ", 1 threads; fp32, eager, NCHW" in out
    table = pd.read_csv(csv)
    for column in ("latency_ms_b1", "latency_ms_b2", "throughput_img_s_b1", "throughput_img_s_b2"):
        assert (table[column] > 0).all(), column
    # throughput comes from a block of back-to-back calls, so it is not batch / median latency by construction
    row = table.iloc[1]
    assert row["latency_ms_b1_vs_baseline"] == row["latency_ms_b1"] / table.iloc[0]["latency_ms_b1"]
    assert row["throughput_img_s_b2_vs_baseline"] == row["throughput_img_s_b2"] / table.iloc[0]["throughput_img_s_b2"]


def test_compare_latency_bad_option_is_one_line_and_times_nothing(monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise AssertionError("no model may be built for a bad option")

    monkeypatch.setattr(measure_module, "_prepare_model", fail)
    assert main(["compare", "resnet20", "--latency", "--mode", "cuda_graph"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: mode: 'cuda_graph' needs a CUDA GPU")


def test_compare_latency_validates_every_design_first(capsys):
    assert main(["compare", "resnet20", "no_such_design", "--latency", "--budget", "60"]) == 2
    assert "unknown preset 'no_such_design'" in capsys.readouterr().err
