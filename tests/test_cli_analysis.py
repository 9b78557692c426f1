"""``python -m arch_lab analyse`` / ``compare``: summaries, JSON and CSV output, and one clear line with
a non-zero exit on every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from arch_lab import analyse, load_preset
from arch_lab.cli import main
from arch_lab.export import designs_from_json


def test_analyse_prints_headline_numbers_and_the_stage_table(capsys):
    assert main(["analyse", "resnet50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("resnet50: input 3x224x224, batch 1\nMACs = multiply-accumulates of conv and linear")
    assert "params (M)" in out and "25.557" in out
    assert "MACs (G)" in out and "4.089" in out
    assert "FLOPs (G)" in out and "8.178" in out
    assert "receptive field (px)" in out and "layer4   1x2048x7x7" in out
    assert "layer1.0.conv1" not in out  # the per-layer table only with --layers


def test_small_designs_are_shown_in_smaller_units(capsys):
    assert main(["analyse", "resnet20"]) == 0
    out = capsys.readouterr().out
    assert "params (K)" in out and "269.722" in out  # He et al.: 0.27 M
    assert "MACs (M)" in out and "40.551" in out


def test_analyse_layers_and_input_size(capsys):
    assert main(["analyse", "resnet18", "--layers", "--input-size", "160x192", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("resnet18: input 3x160x192, batch 2")
    assert "MACs (M)" in out
    assert "layer1.0.conv1" in out and "2x64x40x48" in out


def test_analyse_json_is_the_report(capsys):
    assert main(["analyse", "resnet20", "--json", "--input-size", "40"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(analyse(load_preset("resnet20"), input_size=40).to_dict()))
    assert data["input_size"] == [40, 40]


def test_analyse_reads_a_spec_file(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "block": "bottleneck", "depths": [1, 1], "input_size": 64}))
    assert main(["analyse", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "mine"


def test_compare_prints_and_writes_csv_and_json(tmp_path, capsys):
    csv_path, json_path = tmp_path / "c.csv", tmp_path / "c.json"
    assert main(["compare", "resnet18", "resnet50", "se_resnet50", "--baseline", "resnet50",
                 "--csv", str(csv_path), "--json", str(json_path)]) == 0
    out = capsys.readouterr().out
    assert "MACs (G)" in out and "MACs vs baseline (x)" in out
    assert f"wrote {csv_path}" in out and f"wrote {json_path}" in out
    table = pd.read_csv(csv_path)
    assert list(table["name"]) == ["resnet18", "resnet50", "se_resnet50"]
    assert list(table["macs"]) == [analyse(load_preset(n)).macs for n in table["name"]]
    assert list(table["macs_vs_baseline"])[1] == 1.0
    specs = designs_from_json(json_path.read_text())
    assert specs == [load_preset(n) for n in ("resnet18", "resnet50", "se_resnet50")]


def test_compare_reads_its_own_json_export(tmp_path, capsys):
    json_path = tmp_path / "designs.json"
    assert main(["compare", "resnet20", "resnet32", "--json", str(json_path), "--input-size", "40"]) == 0
    capsys.readouterr()
    assert main(["compare", str(json_path), "resnet44", "--csv", str(tmp_path / "again.csv")]) == 0
    table = pd.read_csv(tmp_path / "again.csv")
    assert list(table["name"]) == ["resnet20", "resnet32", "resnet44"]
    assert list(table["input_size"]) == ["40x40", "40x40", "32x32"]


def one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: "), captured.err
    return captured.err


@pytest.mark.parametrize(("argv", "message"), [
    (["analyse", "resnet5"], "unknown preset 'resnet5'; did you mean"),
    (["compare", "resnet18", "resnxt50_32x4d"], "did you mean resnext50_32x4d"),
    (["analyse", "resnet18", "--input-size", "big"], "--input-size: 'big' is not allowed; give N (square) or HxW"),
    (["analyse", "resnet18", "--input-size", "8"], "input_size: height 8 is too small"),
    (["analyse", "resnet18", "--batch-size", "0"], "batch_size: 0 is not allowed"),
    (["compare", "resnet18", "resnet34", "--baseline", "resnet50"], "baseline: no design is named 'resnet50'"),
    (["analyse", "no/such/spec.json"], "cannot read no/such/spec.json"),
])
def test_errors_are_one_line(capsys, argv, message):
    assert message in one_line_error(capsys, argv)


@pytest.mark.parametrize(("content", "message"), [
    ('{"depths": [3, 4,', "malformed JSON at line 1, column 18"),
    ('{"name": "x",\n "depths": [2, 2],\n "widht": [1, 2]}', "widht: unknown field"),
    ('{"designs": [{"spec": {"depths": [2]}}, {"spec": {"depths": []}}]}', "designs[1].spec: depths: must list"),
])
def test_malformed_files_say_where(tmp_path, capsys, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    command = "compare" if "designs" in content else "analyse"
    assert message in one_line_error(capsys, [command, str(path)])


def test_unwritable_csv_is_one_line(tmp_path, capsys):
    assert "No such file or directory" in one_line_error(
        capsys, ["compare", "resnet20", "--csv", str(tmp_path / "missing" / "c.csv")])


def test_a_real_process_has_no_traceback(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"depths": [2, 2],, }')
    done = subprocess.run([sys.executable, "-m", "arch_lab", "analyse", str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"error: {path}: malformed JSON at line 1, column 19: Expecting property name enclosed in " \
                          "double quotes\n"


def test_analyse_at_batch_256_prints_the_training_step_in_fp32_and_mixed_precision(capsys):
    assert main(["analyse", "resnet50", "--batch-size", "256"]) == 0
    out = capsys.readouterr().out
    report, one = analyse(load_preset("resnet50"), batch_size=256), analyse(load_preset("resnet50"))
    assert report.macs == 256 * one.macs and report.activations == 256 * one.activations
    lines = {line.rsplit("  ", 1)[0].strip(): line.rsplit(" ", 1)[1] for line in out.splitlines()[3:17]}
    assert lines["MACs (G)"] == f"{report.macs / 1e9:,.3f}"
    assert lines["training step, fp32 + Adam (MB)"] == f"{report.train_step_fp32_mb:,.3f}"
    assert lines["training step, bf16/fp16 AMP + Adam (MB)"] == f"{report.train_step_mixed_mb:,.3f}"
    assert lines["weights int8 (MB)"] == f"{report.weights_int8_mb:,.3f}"
