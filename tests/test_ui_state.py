"""The app's pure-Python parts: the design set and the editor's form <-> spec parsing."""

from __future__ import annotations

import math

import pytest

from arch_lab import SpecError, list_presets, load_preset
from arch_lab.ui.form import FORM_FIELDS, form_to_spec, parse_int_list, spec_to_form
from arch_lab.ui.state import MAX_DESIGNS, DesignSet, default_designs, unique_name

R18 = load_preset("resnet18")
R50 = load_preset("resnet50")


def test_unique_name_appends_the_first_free_suffix():
    assert unique_name("a", []) == "a"
    assert unique_name("a", ["a"]) == "a-2"
    assert unique_name("a", ["a", "a-2", "a-3"]) == "a-4"


def test_add_keeps_order_makes_names_unique_and_first_is_baseline():
    ds = DesignSet().add(R18).add(R50).add(R18)
    assert ds.names == ("resnet18", "resnet50", "resnet18-2")
    assert ds.baseline == "resnet18" and ds.baseline_index == 0
    # the renamed copy is the same network
    assert ds.get("resnet18-2").key() == R18.key()


def test_operations_return_new_sets_and_leave_the_old_one_alone():
    ds = DesignSet.of([R18, R50])
    ds.remove("resnet18")
    assert ds.names == ("resnet18", "resnet50")


def test_rename_moves_the_baseline_with_the_design():
    ds = DesignSet.of([R18, R50]).rename("resnet18", "  mine ")
    assert ds.names == ("mine", "resnet50")
    assert ds.baseline == "mine"
    assert ds.get("mine").depths == (2, 2, 2, 2)


@pytest.mark.parametrize("bad, field", [("resnet50", "name"), ("", "name"), ("x" * 61, "name")])
def test_rename_refuses_taken_empty_and_long_names(bad, field):
    with pytest.raises(SpecError) as info:
        DesignSet.of([R18, R50]).rename("resnet18", bad)
    assert info.value.field == field


def test_duplicate_inserts_a_copy_after_the_original():
    ds = DesignSet.of([R18, R50]).duplicate("resnet18").duplicate("resnet18")
    assert ds.names == ("resnet18", "resnet18-copy-2", "resnet18-copy", "resnet50")
    assert ds.get("resnet18-copy").key() == R18.key()


def test_remove_hands_the_baseline_to_the_first_remaining_design():
    ds = DesignSet.of([R18, R50, load_preset("resnet34")]).with_baseline("resnet50")
    assert ds.baseline_index == 1
    ds = ds.remove("resnet50")
    assert ds.baseline == "resnet18"
    assert ds.remove("resnet18").remove("resnet34") == DesignSet()


def test_update_replaces_in_place():
    deeper = R18.replace(depths=[3, 4, 6, 3], name="resnet50")
    ds = DesignSet.of([R18, R50]).update("resnet18", deeper)
    assert ds.names == ("resnet50-2", "resnet50")  # the edited name clashed with the other design
    assert ds.get("resnet50-2").depths == (3, 4, 6, 3)
    assert ds.baseline == "resnet50-2"


def test_unknown_design_and_full_set_are_clear_errors():
    with pytest.raises(SpecError, match="no design named 'nope'.*resnet18"):
        DesignSet.of([R18]).remove("nope")
    full = DesignSet.of([R18] * MAX_DESIGNS)
    assert len(full) == MAX_DESIGNS
    with pytest.raises(SpecError, match=f"already holds {MAX_DESIGNS}"):
        full.add(R50)
    with pytest.raises(SpecError, match=f"already holds {MAX_DESIGNS}"):
        full.duplicate("resnet18")


def test_design_set_is_hashable_so_gradio_state_sees_changes():
    assert hash(DesignSet.of([R18])) == hash(DesignSet.of([R18]))
    assert DesignSet.of([R18]) != DesignSet.of([R18]).rename("resnet18", "other")


def test_a_session_starts_with_resnet18_as_baseline_and_resnet50_from_the_presets():
    start = default_designs()
    assert start.names == ("resnet18", "resnet50")
    assert start.baseline == "resnet18"
    assert start.designs == (R18, R50)
    assert start.remove("resnet18").remove("resnet50") == DesignSet()  # the user can still clear it


# --- the editor form -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", list_presets(timm=True))
def test_form_round_trips_every_field_of_presets(name):
    """Every preset and every timm model (whose fields cover the whole timm family) survives the editor."""
    spec = load_preset(name)
    form = spec_to_form(spec)
    assert set(form) == set(FORM_FIELDS)
    assert form_to_spec(form) == spec


def test_form_shows_lists_as_text_and_size_as_height_width():
    form = spec_to_form(R50)
    assert form["depths"] == "3, 4, 6, 3"
    assert form["widths"] == "64, 128, 256, 512"
    assert (form["input_height"], form["input_width"]) == (224, 224)


def test_form_parses_per_stage_blocks_and_rectangular_inputs():
    form = {**spec_to_form(R18), "block": "basic, basic, bottleneck, bottleneck", "input_width": 160}
    spec = form_to_spec(form)
    assert spec.block == ("basic", "basic", "bottleneck", "bottleneck")
    assert spec.input_size == (224, 160)
    assert spec_to_form(spec)["block"] == "basic, basic, bottleneck, bottleneck"


def test_form_writes_regnet_fields_per_stage_with_a_dash_where_a_stage_has_no_group_width():
    regnet = spec_to_form(load_preset("regnet_y_400mf"))
    assert (regnet["group_width"], regnet["bottleneck_ratio"], regnet["stem"]) == ("8, 8, 8, 8", "1.0", "simple")
    assert (spec_to_form(R18)["group_width"], spec_to_form(R18)["bottleneck_ratio"]) == ("", "1.0")
    mixed = {**spec_to_form(R18), "block": "basic, basic, res_bottleneck, res_bottleneck",
             "widths": "64, 128, 256, 512", "group_width": "-, null, 16, 16", "bottleneck_ratio": "1, 1, 0.5, 0.25"}
    spec = form_to_spec(mixed)
    assert (spec.group_width, spec.bottleneck_ratio) == ((None, None, 16, 16), (1.0, 1.0, 0.5, 0.25))
    assert spec.stage_groups(2) == 128 // 16 and spec.stage_groups(3) == 128 // 16
    again = spec_to_form(spec)
    assert (again["group_width"], again["bottleneck_ratio"]) == ("-, -, 16, 16", "1.0, 1.0, 0.5, 0.25")
    assert form_to_spec(again) == spec
    one = form_to_spec({**spec_to_form(load_preset("regnet_x_400mf")), "group_width": "8", "bottleneck_ratio": "1"})
    assert one.group_width == (8,) * 4


def test_list_text_accepts_spaces_and_commas():
    assert parse_int_list("depths", " 2,3  4 ,5 ") == [2, 3, 4, 5]


@pytest.mark.parametrize("change, field, text", [
    ({"depths": "2, x, 2, 2"}, "depths[1]", "'x' is not an integer"),
    ({"depths": ""}, "depths", "is empty"),
    ({"depths": "2, 2, 2"}, "widths", "has 4 entries but depths has 3 stages"),
    ({"depths": "2, 0, 2, 2"}, "depths[1]", "too small"),
    ({"groups": 32}, "groups", "basic blocks"),
    ({"stem": "fancy"}, "stem", "choose one of classic, deep, deep_tiered, cifar"),
    ({"groups": None}, "groups", "None is not an integer"),
    ({"input_height": 16, "input_width": 16}, "input_size", "too small"),
    ({"se_ratio": 2.0}, "se_ratio", "out of range"),
    ({"group_width": "8, x"}, "group_width[1]", "'x' is not an integer or -"),
    ({"group_width": "8"}, "group_width[0]", "uses basic blocks"),
    ({"bottleneck_ratio": ""}, "bottleneck_ratio", "is empty"),
    ({"bottleneck_ratio": "half"}, "bottleneck_ratio", "'half' is not a number"),
    ({"bottleneck_ratio": "1, 1, 1, x"}, "bottleneck_ratio[3]", "'x' is not a number"),
    ({"bottleneck_ratio": "0.5"}, "bottleneck_ratio", "applies only to res_bottleneck stages"),
])
def test_bad_form_values_raise_spec_errors_naming_the_field(change, field, text):
    with pytest.raises(SpecError) as info:
        form_to_spec({**spec_to_form(R18), **change})
    assert info.value.field == field
    assert text in str(info.value)


# --- tables as shown, the latency store, exported files ----------------------------------------
def test_comparison_view_scales_units_and_puts_ratios_next_to_metrics():
    from arch_lab import analyse, compare
    from arch_lab.ui.views import comparison_view

    df = compare([analyse(R18), analyse(R50)])
    view = comparison_view(df, baseline="resnet18")
    assert list(view["design"]) == ["resnet18 (baseline)", "resnet50"]
    headers = list(view.columns)
    # key columns first (pinned beside the name), then the input size, then the ratios (issue 9, finding 10)
    assert headers[:4] == ["design", "params (M)", "MACs (G)", "input"]
    assert headers.index("MACs ×base") == headers.index("params ×base") + 1
    assert list(view["params (M)"]) == [11.69, 25.56]  # torchvision: 11,689,512 and 25,557,032
    assert list(view["params ×base"]) == [1.0, round(25_557_032 / 11_689_512, 2)]
    assert list(view["depths"]) == ["2, 2, 2, 2", "3, 4, 6, 3"]
    assert list(view["input"]) == ["224×224", "224×224"]
    assert not any(h.startswith("latency") for h in headers)


def test_measured_latency_joins_the_comparison_by_network_not_by_name():
    from arch_lab.latency import BatchLatency, LatencyResult
    from arch_lab.ui.compute import comparison, latency_frames, measured_columns
    from arch_lab.ui.latency_panel import entry
    from arch_lab.ui.views import comparison_view

    ds = DesignSet.of([R18, R50])
    timed = LatencyResult("resnet18", "cpu", "test CPU", 0, {"threads": 2},
                          [BatchLatency(1, median_ms=4.0, p10_ms=3.5, p90_ms=4.5, count=20, throughput_img_s=250.0)])
    store = {R18.key(): entry(timed)}
    renamed = ds.rename("resnet18", "mine")
    df, reports = comparison(renamed, store)
    assert [r.name for r in reports] == ["mine", "resnet50"]
    assert df.loc[0, "latency_ms_b1"] == 4.0 and math.isnan(df.loc[1, "latency_ms_b1"])
    assert df.loc[0, "latency_p90_ms_b1"] == 4.5 and df.loc[0, "latency_device"] == "CPU: test CPU, 2 threads"
    view = comparison_view(df, baseline="mine", measured=measured_columns(renamed, store))
    assert list(view["latency b1 (ms)"][:1]) == ["4.00"] and "throughput b1 (img/s)" in view.columns
    assert list(latency_frames(renamed, store)) == ["mine"]
    edited = renamed.update("mine", R18.replace(name="mine", depths=[1, 1, 1, 1]))
    assert latency_frames(edited, store) == {}  # a different network: the old timing no longer applies


def test_layers_view_writes_shapes_and_kernels_like_the_seed_notes():
    from arch_lab import analyse
    from arch_lab.ui.views import layers_view, stages_view

    layers = layers_view(analyse(R18).layers).set_index("layer")
    # conv1: 7x7 stride 2 padding 3 on 224x224 -> floor((224 + 6 - 7) / 2) + 1 = 112
    assert layers.loc["conv1", "output (N×C×H×W)"] == "1×64×112×112"
    assert (layers.loc["conv1", "kernel"], layers.loc["conv1", "stride"]) == ("7×7", "2")
    assert layers.loc["bn1", "kernel"] == "" and layers.loc["bn1", "groups"] == ""
    assert layers.loc["maxpool", "output (N×C×H×W)"] == "1×64×56×56"
    assert layers.loc["fc", "params"] == f"{512 * 1000 + 1000:,}"
    stages = stages_view(analyse(R18).stages).iloc[:-1]  # without the totals row
    assert sum(float(p.rstrip(" %")) for p in stages["params %"]) == pytest.approx(100, abs=0.5)
    assert list(stages["stage"]) == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]


def test_escape_markdown_keeps_user_text_literal():
    from arch_lab.ui.views import escape_markdown

    assert escape_markdown("**x**_[a](b)") == r"\*\*x\*\*\_\[a\]\(b\)"


def test_exports_go_to_fresh_temporary_directories():
    import tempfile
    from pathlib import Path

    from arch_lab.ui.exports import write_designs_json

    first, second = Path(write_designs_json([R18])), Path(write_designs_json([R18]))
    assert first.name == second.name == "designs.json"
    assert first.parent != second.parent
    assert first.resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())


def test_latency_tab_says_where_it_measures_and_offers_cuda_options_only_with_a_gpu(monkeypatch):
    import torch

    from arch_lab.ui import latency_panel

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert latency_panel.where_measured().startswith("CPU: ")
    assert f"{torch.get_num_threads()} threads" in latency_panel.where_measured()
    dtypes, modes = latency_panel.options_here()
    assert "tf32" not in dtypes and "cuda_graph" not in modes and {"fp32", "bf16"} <= set(dtypes)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "NVIDIA H100 80GB HBM3")
    assert latency_panel.where_measured() == "GPU: NVIDIA H100 80GB HBM3"
    dtypes, modes = latency_panel.options_here()
    assert "tf32" in dtypes and "cuda_graph" in modes


def test_the_form_sets_the_timm_family_fields_and_empty_boxes_mean_null():
    form = spec_to_form(load_preset("resnet18"))
    assert (form["stem_pool"], form["attention"], form["norm_groups"], form["head_width"]) == ("", "", None, None)
    changed = {**form, "attention": "eca", "anti_alias": "blur", "norm": "groupnorm", "norm_groups": 8,
               "activation": "silu", "stem_pool": "conv", "head_width": 256}
    spec = form_to_spec(changed)
    assert (spec.attention_kind, spec.anti_alias, spec.norm, spec.norm_groups, spec.activation, spec.pool,
            spec.head_width) == ("eca", "blur", "groupnorm", 8, "silu", "conv", 256)
    with pytest.raises(SpecError, match="^radix: applies to split_attention stages only"):
        form_to_spec({**form, "radix": 4})
