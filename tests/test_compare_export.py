"""compare(): rows, metrics, ratios, baseline and extra columns; CSV export (round trip, formula
injection) and JSON export (re-import into equal specs, errors that say where)."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from arch_lab import ResNetSpec, SpecError, analyse, compare, load_preset
from arch_lab.analysis import METRICS
from arch_lab.export import comparison_to_csv, designs_from_json, designs_to_json

SPEC_COLUMNS = ["name", "block", "depths", "widths", "strides", "groups", "width_per_group", "stem", "shortcut",
                "input_size", "batch_size"]


@pytest.fixture(scope="module")
def designs():
    return [load_preset("resnet18"), analyse(load_preset("resnet50"), input_size=(160, 192), batch_size=2),
            load_preset("resnext50_32x4d")]


def test_a_row_per_design_with_spec_fields_metrics_and_ratios(designs):
    df = compare(designs)
    ratios = [f"{key}_vs_baseline" for key in METRICS]
    assert list(df.columns) == SPEC_COLUMNS + list(METRICS) + ratios
    assert list(df["name"]) == ["resnet18", "resnet50", "resnext50_32x4d"]
    second = df.iloc[1]
    assert (second["block"], second["depths"]) == ("bottleneck", "[3, 4, 6, 3]")
    assert second["widths"] == "[64, 128, 256, 512]"
    assert (second["input_size"], second["batch_size"], second["groups"]) == ("160x192", 2, 1)
    assert df.iloc[2]["width_per_group"] == 4
    reports = [analyse(designs[0]), designs[1], analyse(designs[2])]
    for row, report in zip(df.itertuples(), reports, strict=True):
        for key in METRICS:
            assert getattr(row, key) == getattr(report, key)
        assert row.macs_vs_baseline == report.macs / reports[0].macs
        assert row.train_step_fp32_mb_vs_baseline == report.train_step_fp32_mb / reports[0].train_step_fp32_mb
    assert (df[ratios].iloc[0] == 1.0).all()


def test_baseline_by_name_or_index(designs):
    by_name = compare(designs, baseline="resnext50_32x4d")
    assert (by_name[[c for c in by_name if c.endswith("_vs_baseline")]].iloc[2] == 1.0).all()
    assert by_name.equals(compare(designs, baseline=2)) and by_name.equals(compare(designs, baseline=-1))
    assert by_name["params_vs_baseline"].iloc[0] == 11_689_512 / 25_028_904


@pytest.mark.parametrize(("baseline", "message"), [
    ("resnet99", "no design is named 'resnet99'; the designs are resnet18, resnet50, resnext50_32x4d"),
    (3, "give a design name or an index from 0 to 2"), (True, "give a design name")])
def test_bad_baseline(designs, baseline, message):
    with pytest.raises(SpecError, match="baseline") as error:
        compare(designs, baseline=baseline)
    assert message in str(error.value)


def test_mixed_blocks_are_listed():
    spec = ResNetSpec(name="mixed", block=["basic", "bottleneck"], depths=[1, 1], input_size=64)
    assert compare([spec])["block"].iloc[0] == "[basic, bottleneck]"


def test_extra_columns_join_the_metrics_and_get_ratios(designs):
    extra = [{"latency_ms_b1": 10.0}, {"latency_ms_b1": 25.0, "throughput_img_s_b1": 40.0},
             {"latency_ms_b1": 20.0}]
    df = compare(designs, baseline=1, extra_columns=extra)
    assert list(df["latency_ms_b1"]) == [10.0, 25.0, 20.0]
    assert list(df["latency_ms_b1_vs_baseline"]) == [0.4, 1.0, 0.8]
    assert np.isnan(df["throughput_img_s_b1"].iloc[0]) and df["throughput_img_s_b1_vs_baseline"].iloc[1] == 1.0
    assert list(df.columns).index("latency_ms_b1") < list(df.columns).index("params_vs_baseline")


@pytest.mark.parametrize(("extra", "message"), [
    ([{"x": 1.0}], "has 1 entries for 3 designs"), ([{"macs": 1.0}] * 3, "'macs' is already a comparison column")])
def test_bad_extra_columns(designs, extra, message):
    with pytest.raises(SpecError, match="extra_columns") as error:
        compare(designs, extra_columns=extra)
    assert message in str(error.value)


def test_nothing_or_something_else_to_compare():
    with pytest.raises(SpecError, match="at least one design"):
        compare([])
    with pytest.raises(SpecError, match="expected a ResNetSpec or a Report, got str"):
        compare(["resnet18"])


def test_csv_reads_back_into_the_same_numbers(designs, tmp_path):
    df = compare(designs, extra_columns=[{"latency_ms_b1": 1 / 3}, {"latency_ms_b1": 2.5}, {"latency_ms_b1": 0.1}])
    path = tmp_path / "comparison.csv"
    text = comparison_to_csv(df, path)
    assert path.read_bytes() == text.encode()
    back = pd.read_csv(path)
    assert list(back.columns) == list(df.columns)
    numeric = [column for column in df.columns if pd.api.types.is_numeric_dtype(df[column])]
    pd.testing.assert_frame_equal(back[numeric], df[numeric], check_exact=True)
    assert list(back["depths"]) == list(df["depths"]) and list(back["name"]) == list(df["name"])


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)"])
def test_csv_cells_never_start_a_formula(name):
    df = compare([load_preset("resnet20").replace(name=name), load_preset("resnet32").replace(name="a=b")],
                 extra_columns=[{"=danger": 1.0}, {"=danger": 2.0}])
    rows = list(csv.reader(io.StringIO(comparison_to_csv(df), newline="")))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r")) for cell in cells)
    assert not any(cell.startswith("-") and not _is_number(cell) for cell in cells)
    assert rows[1][0] == "'" + name and rows[2][0] == "a=b"
    assert "'=danger" in rows[0]


@pytest.mark.parametrize("name", ["\tcmd", "\rcmd", "a\nb", "\ud800x"])
def test_names_with_control_or_surrogate_characters_are_refused(name):
    """A tab, carriage return or lone surrogate can neither start a CSV formula nor break the CSV's encoding:
    the spec refuses them."""
    with pytest.raises(SpecError, match="^name: .*printable text"):
        load_preset("resnet20").replace(name=name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_json_export_reimports_into_equal_specs(designs):
    text = designs_to_json(designs)
    data = json.loads(text)
    assert [design["report"]["name"] for design in data["designs"]] == ["resnet18", "resnet50", "resnext50_32x4d"]
    assert data["designs"][1]["report"]["macs"] == designs[1].macs
    assert data["designs"][1]["report"]["batch_size"] == 2
    specs = designs_from_json(text)
    assert specs == [designs[0], designs[1].spec, designs[2]]
    assert specs[1].input_size == (160, 192)


@pytest.mark.parametrize(("text", "message"), [
    ('{"designs": [', "designs JSON: malformed JSON at line 1, column 14"),
    ('[1, 2]', 'designs JSON: expected an object {"designs"'),
    ('{"designs": [{"spec": {}}, {"report": {}}]}', 'designs JSON: designs[1]: expected an object with a "spec" field'),
    ('{"designs": [{"spec": {"depths": [0]}}]}', "designs JSON: designs[0].spec: depths[0]: 0 is too small"),
    ('{"designs": [{"spec": {"dpeths": [2]}}]}', "designs JSON: designs[0].spec: dpeths: unknown field"),
])
def test_json_import_errors_say_where(text, message):
    with pytest.raises(SpecError) as error:
        designs_from_json(text)
    assert str(error.value).startswith(message)
