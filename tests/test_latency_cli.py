"""``python -m arch_lab latency``: table and JSON output, one-line errors, the options shared with compare."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from arch_lab.cli import main
from arch_lab.cli.latency_commands import add_latency_options, latency_options
from arch_lab.errors import SpecError


def test_json_output_carries_every_setting(capsys):
    status = main(["latency", "resnet20", "--device", "cpu", "--batch", "2,1", "--dtype", "bf16", "--channels-last",
                   "--budget", "2", "--threads", "1", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert status == 0
    s = data["settings"]
    assert (s["name"], s["device"], s["batch_sizes"], s["dtype"], s["channels_last"], s["mode"], s["budget_s"],
            s["threads"]) == ("resnet20", "cpu", [1, 2], "bf16", True, "eager", 2.0, 1)
    assert [row["batch_size"] for row in data["rows"]] == [1, 2]
    assert all(row["error"] is None and row["count"] >= 1 for row in data["rows"])


def test_table_output(capsys):
    assert main(["latency", "resnet20", "--device", "cpu", "--batch", "1", "--budget", "0.5", "--threads", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("resnet20 on CPU: ") and ", 1 threads; fp32, eager, NCHW" in out[0]
    assert out[1].split()[:4] == ["batch_size", "median_ms", "p10_ms", "p90_ms"]
    assert out[2].split()[0] == "1" and len(out) == 3


@pytest.mark.parametrize(("argv", "words"), [
    (["--mode", "cuda_graph"], ["mode:", "eager, compile"]),
    (["--dtype", "tf32"], ["dtype:", "fp32, bf16, fp16"]),
    (["--batch", "1,x"], ["batch:", "1,8,64"]),
    (["--budget", "0"], ["budget_s:"]),
    (["--threads", "0"], ["threads:"]),
])
def test_bad_options_print_one_line_and_exit_2(argv, words, capsys):
    assert main(["latency", "resnet20", "--device", "cpu", *argv]) == 2  # --device cpu: refused on a GPU host too
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    for word in words:
        assert word in err


def test_a_failed_batch_gives_exit_status_1(capsys, monkeypatch):
    import arch_lab.latency.measure as measure_module

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("this batch failed")

    monkeypatch.setattr(measure_module, "_measure_batch", fail)
    assert main(["latency", "resnet20", "--device", "cpu", "--budget", "1", "--threads", "1", "--json"]) == 1
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["count"] == 0 and "this batch failed" in row["error"]


def test_a_design_too_slow_for_its_budget_is_refused_in_one_line(capsys):
    # resnet50 needs ~0.1 s a call on a fast CPU and far more than 1 ms anywhere: refused before building
    assert main(["latency", "resnet50", "--device", "cpu", "--budget", "0.001", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("error: budget_s: too long for this budget: one call of resnet50 needs")


def test_shared_options_parse_to_measure_latency_keywords():
    parser = argparse.ArgumentParser()
    add_latency_options(parser.add_argument_group("latency"))
    args = parser.parse_args(["--device", "cpu", "--batch", "64,1,8", "--dtype", "fp16", "--channels-last",
                              "--mode", "compile", "--budget", "3", "--threads", "1"])
    assert latency_options(args) == {"device": "cpu", "batch_sizes": (1, 8, 64), "dtype": "fp16",
                                     "channels_last": True, "mode": "compile", "budget_s": 3.0, "threads": 1}
    defaults = latency_options(parser.parse_args([]))
    assert defaults == {"device": "auto", "batch_sizes": (1,), "dtype": "fp32", "channels_last": False,
                        "mode": "eager", "budget_s": 10.0, "threads": None}
    with pytest.raises(SpecError):
        latency_options(parser.parse_args(["--batch", "0"]))


def test_the_module_entry_point():
    done = subprocess.run([sys.executable, "-m", "arch_lab", "latency", "resnet20", "--device", "cpu", "--budget",
                           "0.2", "--threads", "1", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"][0]["batch_size"] == 1
