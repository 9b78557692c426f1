"""Issue 9's UI findings that can be checked without a browser: each test fails on the code before the fix."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.app_fixtures import ROOT


def test_importing_the_app_does_not_import_torch():
    """Finding 11: the app starts without torch (the analysers are arithmetic); a page's first refresh too."""
    code = ("import sys, app\n"
            "from arch_lab.ui import compare_panel, layers_panel, design_panel\n"
            "from arch_lab.ui.state import default_designs\n"
            "ds = default_designs()\n"
            "compare_panel.refresh(ds, {}); design_panel._refresh(ds, None)\n"
            "layers_panel.show(ds, 'design:resnet18', 'preset:resnet50')\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout[-500:]


# ---- finding 4: a saved design set reopens --------------------------------------------------------------
def test_a_saved_16_design_set_fits_the_upload_cap_and_reopens():
    from arch_lab import load_preset
    from arch_lab.export import designs_from_json
    from arch_lab.ui import LAUNCH_SETTINGS
    from arch_lab.ui.exports import designs_file_text
    from arch_lab.ui.state import MAX_DESIGNS

    big = [load_preset(name) for name in ("resnet152", "wide_resnet101_2", "resnext101_64x4d", "resnet101d")]
    specs = [big[i % 4].replace(name=f"d{i}") for i in range(MAX_DESIGNS)]
    text = designs_file_text(specs)
    cap = int(LAUNCH_SETTINGS["max_file_size"].removesuffix("mb")) * 1_000_000
    assert len(text.encode()) < cap / 10
    assert designs_from_json(text) == specs


# ---- finding 6: app-wide input size and analysis batch size ----------------------------------------------
def test_app_wide_input_size_and_batch_size():
    from arch_lab import SpecError
    from arch_lab.ui.compare_panel import refresh
    from arch_lab.ui.design_panel import _listing
    from arch_lab.ui.state import default_designs

    ds = default_designs().with_input_size(160).with_batch_size(8)
    assert {spec.input_size for spec in ds.designs} == {(160, 160)}
    assert list(_listing(ds)["input"]) == ["160×160", "160×160"]
    one = refresh(default_designs().with_input_size(160), {})[1]
    eight = refresh(ds, {})[1]
    assert list(eight["MACs (G)"]) == pytest.approx([8 * m for m in one["MACs (G)"]], rel=1e-2)
    with pytest.raises(SpecError):
        ds.with_batch_size(0)
    with pytest.raises(SpecError):
        ds.with_input_size("160; rm")


# ---- finding 9: the Layers table ----------------------------------------------------------------------
def test_layers_table_is_in_execution_order_with_units_memory_and_totals():
    from arch_lab import analyse, load_preset
    from arch_lab.ui.views import layers_view, stages_view

    report = analyse(load_preset("resnet18"))
    view = layers_view(report.layers)
    names = list(view["layer"])
    assert names.index("layer2.0.downsample.0") > names.index("layer2.0.bn2")  # after the conv branch
    assert names.index("layer2.0.downsample.1") < names.index("layer2.1.conv1")
    assert names[-1] == "total" and view.iloc[-1]["params"] == f"{report.params:,}" == "11,689,512"
    assert view.iloc[0]["MACs (M)"] == "118.014" and view.iloc[0]["output memory (fp32)"] == "3.2 MB"  # 64×112×112×4 B
    stages = stages_view(report.stages)
    assert stages.iloc[0]["params %"] == "0.082 %"  # the stem's share, not "0"
    assert stages.iloc[-1]["stage"] == "total"


def test_layers_tab_inspects_any_preset_and_draws_two_designs():
    from arch_lab.ui.layers_panel import show
    from arch_lab.ui.state import default_designs

    line, stages, layers, figure = show(default_designs(), "preset:resnet20", "design:resnet18", "macs")
    assert "resnet20" in line and layers.iloc[-1]["layer"] == "total"
    assert len(figure.data) > 0


def test_onnx_export_is_bounded():
    from gradio.exceptions import Error

    from arch_lab.ui import layers_panel
    from arch_lab.ui.state import default_designs

    with pytest.raises(Error, match="at most 100,000,000"):
        layers_panel.export_onnx_file(default_designs(), "preset:wide_resnet101_2")  # 126.9 M parameters
    with layers_panel.ONNX_LOCK, pytest.raises(Error, match="Another ONNX export is running"):
        layers_panel.export_onnx_file(default_designs(), "preset:resnet20")
    with pytest.raises(Error):
        layers_panel.export_onnx_file(default_designs(), "../../etc/passwd")


def test_a_tiny_but_deep_design_is_refused_by_its_layer_count_before_any_export(monkeypatch):
    """Issue 17: depths 250 x 4 at width 8 (1.3 M parameters) traced for over 7 minutes."""
    from gradio.exceptions import Error

    import arch_lab.onnx_export as onnx_export
    from arch_lab import ResNetSpec
    from arch_lab.ui import layers_panel
    from arch_lab.ui.state import DesignSet

    monkeypatch.setattr(onnx_export, "export_onnx", lambda *args, **kwargs: pytest.fail("exported"))
    deep = DesignSet.of([ResNetSpec(name="deep", depths=[250] * 4, widths=[8] * 4)])
    with pytest.raises(Error, match=r"deep has 4,\d{3} layers; the app exports designs of at most 400 layers") as info:
        layers_panel.export_onnx_file(deep, "design:deep")
    assert info.value.title == "Export refused"


def test_the_app_exports_in_a_child_process_it_stops_at_the_time_limit(monkeypatch, tmp_path):
    from arch_lab import LimitError, load_preset
    from arch_lab.onnx_export import export_onnx
    from arch_lab.ui import layers_panel
    from arch_lab.ui.state import default_designs

    asked = {}
    monkeypatch.setattr("arch_lab.onnx_export.export_onnx", lambda spec, path, **kw: asked.update(kw) or path)
    layers_panel.export_onnx_file(default_designs(), "preset:resnet20")
    assert asked == {"external_data": False, "timeout_s": layers_panel.ONNX_TIMEOUT_S}
    monkeypatch.undo()
    with pytest.raises(LimitError, match=r"^timeout_s: exporting resnet20 took more than 0.05 s and was stopped"):
        export_onnx(load_preset("resnet20"), tmp_path / "r20.onnx", timeout_s=0.05)  # the child cannot even start
    assert not (tmp_path / "r20.onnx").exists()


# ---- finding 10: the Compare table and its CSV ------------------------------------------------------------
def test_compare_columns_can_be_chosen_and_the_csv_tells_designs_apart():
    import pandas as pd

    from arch_lab import load_preset
    from arch_lab.ui.compare_panel import refresh
    from arch_lab.ui.state import DesignSet

    ds = DesignSet.of([load_preset("resnet18"), load_preset("resnet18").replace(name="r18-se", se_ratio=0.0625)])
    out = refresh(ds, {}, ["size"])
    assert list(out[1].columns) == ["design", "params (M)", "MACs (G)"]
    csv = pd.read_csv(out[2])
    assert list(csv["baseline"]) == [True, False]
    assert list(csv["se_ratio"]) == [0.0, 0.0625]
    assert {"strides", "stem_width", "num_classes"} <= set(csv.columns)


# ---- finding 3: charts readable at 16 designs ------------------------------------------------------------
def test_charts_lay_sixteen_designs_out_without_overlapping_labels():
    from arch_lab import charts, compare, load_preset
    from arch_lab.analysis import analyse

    specs = [load_preset("resnet18").replace(name=f"design-number-{i:02d}", depths=[1 + i % 3] * 4)
             for i in range(16)]
    df = compare(specs)
    bars = charts.metric_bars(df, "design-number-00")
    assert all(trace.orientation == "h" for trace in bars.data)  # names read across, never rotated
    assert bars.layout.height >= 16 * charts.ROW_PX
    assert [bars.layout.yaxis2.showticklabels, bars.layout.yaxis.showticklabels] == [False, True]
    scatter = charts.efficiency_scatter(df)
    assert all("text" not in trace.mode for trace in scatter.data)  # names in the legend, not piled up
    assert sum(trace.showlegend for trace in scatter.data) == 16
    stages = charts.stage_breakdown([analyse(s) for s in specs])
    assert stages.layout.legend.orientation == "h"


# ---- finding 8: latency statistics ---------------------------------------------------------------------
def test_thin_latency_statistics_are_flagged_and_the_csv_keeps_the_conditions():
    import pandas as pd

    from arch_lab import load_preset
    from arch_lab.ui.latency_panel import checked_designs, show, warning_for
    from arch_lab.ui.state import default_designs

    assert "only 3 timed calls" in warning_for({"count": 3, "median_ms": 10.0, "p90_ms": 15.0})
    assert "wide spread" in warning_for({"count": 50, "median_ms": 10.0, "p90_ms": 15.0})
    assert warning_for({"count": 50, "median_ms": 10.0, "p90_ms": 10.5}) == ""
    ds = default_designs()
    row = {"batch_size": 1, "median_ms": 10.0, "p10_ms": 9.0, "p90_ms": 15.0, "count": 3,
           "throughput_img_s": 100.0}
    store = {load_preset("resnet18").key(): {"rows": [row], "device": "CPU: x, 2 threads", "threads": 2,
                                             "dtype": "fp32", "mode": "eager", "channels_last": False,
                                             "summary": {}, "settings": "fp32, eager"}}
    _, table, _, path = show(ds, store)
    assert table.iloc[0]["reliable?"] == "⚠ 3 timed calls, p90 1.50× median"
    csv = pd.read_csv(path)
    assert {"device", "dtype", "mode", "threads", "p10_ms", "p90_ms"} <= set(csv.columns)
    assert [s.name for s in checked_designs(ds, ["resnet50"])] == ["resnet50"]  # a subset can be timed


def test_published_accuracy_snapshot_matches_torchvision():
    from arch_lab.reference import reference
    from arch_lab.ui.published import PUBLISHED, published_line

    for preset, (acc1, acc5, label) in PUBLISHED.items():
        ref = reference(preset)
        assert (acc1, acc5, label) == (ref.acc1, ref.acc5, ref.label)
    assert "torchvision's published figures" in published_line("resnet50")
    assert published_line("resnet20") == ""
