"""End-to-end: headless Chromium driving the real app as a user would. Each test leaves a screenshot in
its temporary directory (see ``tests/app_fixtures.py``)."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
import torch

from arch_lab import ResNetSpec, SpecError, analyse, load_preset

pytest_plugins = ("app_fixtures",)  # app_server, browser, page
pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
    pytest.skip("playwright is not installed", allow_module_level=True)


def field(page: Page, label: str):
    """The input labelled ``label`` (a label's accessible name also holds its info line)."""
    name = re.compile(rf"^{re.escape(label)}\b")
    return page.get_by_role("textbox", name=name).or_(page.get_by_role("spinbutton", name=name))


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def add_design(page: Page, preset: str, depths: str | None = None) -> None:
    """Load ``preset`` into the editor, optionally change its depths, add it to the comparison."""
    pick(page, "Start from preset", preset)
    expect(page.get_by_label("name", exact=True)).to_have_value(preset)
    if depths is not None:
        field(page, "depths").fill(depths)
        edited = analyse(load_preset(preset).replace(depths=[int(d) for d in depths.split(",")]))
        expect(page.locator("#spec-status")).to_contain_text(f"Valid — {edited.params / 1e6:.2f} M parameters")
    page.get_by_role("button", name="Add to comparison").click()
    expect(page.get_by_label("Selected design")).to_have_value(preset)


def open_file(page: Page, path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Open design set (JSON)").click()
    chooser.value.set_files(path)


def open_tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def select_design(page: Page, name: str) -> None:
    pick(page, "Selected design", name)
    expect(page.get_by_label("Selected design")).to_have_value(name)


def remove_design(page: Page, name: str) -> None:
    select_design(page, name)
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("grid", name="Designs")).not_to_contain_text(name)


@pytest.fixture(autouse=True)
def defaults_loaded(page):
    """Each test starts once the page has drawn the session's default designs (resnet18, resnet50)."""
    expect(page.get_by_role("grid", name="Designs")).to_contain_text("resnet50")


def test_first_load_compares_the_default_designs_and_shows_resnet18_layers(page):
    r18, r50 = analyse(load_preset("resnet18")), analyse(load_preset("resnet50"))
    listing = page.get_by_role("grid", name="Designs")
    expect(listing).to_contain_text("resnet18")
    open_tab(page, "Compare")
    table = page.get_by_role("grid", name="Comparison")
    expect(table).to_contain_text("resnet18 (baseline)")
    expect(table).to_contain_text("resnet50")
    expect(table).to_contain_text(f"{r50.params / 1e6:.2f}")  # 25.56 M
    for chart in ("#metric-bars", "#efficiency-scatter", "#stage-breakdown"):
        expect(page.locator(f"{chart} .js-plotly-plot")).to_be_visible()
    open_tab(page, "Layers")
    expect(page.get_by_label("Design", exact=True)).to_have_value("resnet18")
    stages = page.get_by_role("grid", name="Stages")
    layer1 = r18.stages.set_index("stage").loc["layer1"]
    assert layer1["params"] == 2 * 2 * (3 * 3 * 64 * 64 + 2 * 64)  # two blocks of two 3×3 convs + BN, by hand
    expect(stages.get_by_role("row").filter(has_text="layer1")).to_contain_text(f"{layer1['params']:,}")
    expect(stages).to_contain_text("1×64×56×56")  # the stem's output at 224×224
    expect(page.get_by_role("grid", name="Layers")).to_contain_text("layer1.0.conv1")


def test_pick_a_preset_change_a_depth_and_compare_with_the_defaults(page):
    add_design(page, "resnet34", depths="3, 4, 6, 2")
    page.get_by_role("button", name="Compare ▸").click()
    table = page.get_by_role("grid", name="Comparison")
    expect(table).to_contain_text("resnet18 (baseline)")
    expect(table).to_contain_text("resnet50")
    expect(table).to_contain_text("3, 4, 6, 2")
    edited = analyse(load_preset("resnet34").replace(depths=[3, 4, 6, 2]))
    expect(table).to_contain_text(f"{edited.params / 1e6:.2f}")  # params (M) of the edited design
    for chart in ("#metric-bars", "#efficiency-scatter", "#stage-breakdown"):
        expect(page.locator(f"{chart} .js-plotly-plot")).to_be_visible()
    expect(page.locator("#metric-bars")).to_contain_text("Parameters (M)")


def test_layers_view_follows_the_shapes(page):
    open_tab(page, "Layers")
    pick(page, "Design", "resnet50")
    layers = page.get_by_role("grid", name="Layers")
    expect(layers).to_contain_text("layer1.0.conv1")
    stages = page.get_by_role("grid", name="Stages")
    expect(stages).to_contain_text("1×2048×7×7")  # layer4's output, as the seed notes derive by hand
    page.get_by_placeholder("Search").fill("layer4.2.conv3")
    expect(layers).to_contain_text("1×512×7×7")
    expect(layers).not_to_contain_text("layer1.0.conv1")


def test_csv_download_matches_the_library(page, tmp_path):
    open_tab(page, "Compare")  # the default designs, resnet18 and resnet50
    expect(page.get_by_role("grid", name="Comparison")).to_contain_text("resnet50")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    path = tmp_path / "comparison.csv"
    download.value.save_as(path)
    csv = pd.read_csv(path)
    assert list(csv["name"]) == ["resnet18", "resnet50"]
    for name, params, macs in zip(csv["name"], csv["params"], csv["macs"], strict=True):
        report = analyse(load_preset(name))
        assert (params, macs) == (report.params, report.macs)
    assert list(csv["params_vs_baseline"]) == pytest.approx([1.0, 25_557_032 / 11_689_512])


def test_validation_error_shows_the_spec_error(page):
    expected = SpecError("depths[1]", "'x' is not an integer; write one integer per stage, separated by "
                                      "commas, e.g. 2, 2, 2, 2")
    field(page, "depths").fill("2, x, 2, 2")
    status = page.locator("#spec-status")
    expect(status).to_contain_text("Not valid")
    expect(status).to_contain_text(str(expected))
    page.get_by_role("button", name="Add to comparison").click()
    expect(page.get_by_text(str(expected)).last).to_be_visible()  # the toast
    # a value the spec engine refuses: its own message, unchanged
    with pytest.raises(SpecError) as engine:
        ResNetSpec(depths=(2, 2, 2, 2), groups=2)
    field(page, "depths").fill("2, 2, 2, 2")
    field(page, "groups").fill("2")
    expect(status).to_contain_text(str(engine.value).split(";")[0])
    field(page, "groups").fill("1")
    expect(status).to_contain_text("Valid")


def test_json_editor_validates_as_typed_and_fills_the_fields(page):
    page.get_by_role("tab", name="JSON").click()
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text('{"name": "tiny", "depths": [1, 1], "input_size": 64')
    status = page.locator("#spec-status")
    with pytest.raises(SpecError) as engine:
        ResNetSpec.from_json('{"name": "tiny", "depths": [1, 1], "input_size": 64', source="JSON")
    expect(status).to_contain_text(str(engine.value))  # "JSON: malformed JSON at line 1, column 52: …"
    page.keyboard.insert_text("}")
    tiny = analyse(ResNetSpec(name="tiny", depths=(1, 1), input_size=64))
    expect(status).to_contain_text(f"{tiny.params / 1e6:.2f} M parameters")
    page.get_by_role("tab", name="Fields").click()
    expect(field(page, "depths")).to_have_value("1, 1")
    expect(field(page, "widths")).to_have_value("64, 128")
    expect(page.get_by_label("name", exact=True)).to_have_value("tiny")


def test_manage_designs_and_round_trip_the_design_set(page, tmp_path):
    select_design(page, "resnet18")
    page.get_by_role("button", name="Duplicate").click()
    expect(page.get_by_label("Selected design")).to_have_value("resnet18-copy")
    page.get_by_label("New name").fill("my-r18")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_label("Selected design")).to_have_value("my-r18")
    page.get_by_role("button", name="Make baseline").click()
    listing = page.get_by_role("grid", name="Designs")
    expect(listing.get_by_role("row").filter(has_text="my-r18")).to_contain_text("★")
    with page.expect_download() as download:
        page.get_by_role("button", name="Save design set (JSON)").click()
    saved = tmp_path / "designs.json"
    download.value.save_as(saved)
    assert [d["spec"]["name"] for d in json.loads(saved.read_text())["designs"]] == ["resnet18", "my-r18",
                                                                                     "resnet50"]
    remove_design(page, "resnet18")
    remove_design(page, "resnet50")
    # a bad file is refused with the engine's message; the set stays as it was
    bad = tmp_path / "bad.json"
    bad.write_text('{"designs": [{"spec": {"depths": [2, 0]}}]}')
    open_file(page, bad)
    expect(page.get_by_text("designs[0].spec").first).to_be_visible()
    expect(listing).to_contain_text("my-r18")
    open_file(page, saved)
    expect(listing).to_contain_text("resnet18")
    expect(listing).to_contain_text("my-r18")
    expect(listing).to_contain_text("resnet50")


def test_measure_latency_flows_into_the_comparison(page):
    for name in ("resnet18", "resnet50"):  # time one small CIFAR network, not the ImageNet defaults
        remove_design(page, name)
    # at its own 32x32: presets load at the app-wide input size (224 would take the whole time budget on a
    # busy CPU and leave no time for the throughput block)
    page.get_by_role("spinbutton", name="input size for all designs (px)").fill("32")
    page.get_by_role("button", name="Apply to all designs").click()
    add_design(page, "resnet20")
    expect(page.get_by_role("grid", name="Designs")).to_contain_text("32×32")
    open_tab(page, "Latency")
    expect(page.locator("#device-label")).to_contain_text("Measured on CPU" if not torch.cuda.is_available()
                                                          else "Measured on GPU")
    page.get_by_role("checkbox", name="8", exact=True).uncheck()
    page.get_by_role("spinbutton", name="number input for time budget per design (s)").fill("3")
    page.get_by_role("button", name="Measure latency").click()
    results = page.get_by_role("grid", name="Latency results")
    expect(results).to_contain_text("resnet20", timeout=60_000)
    expect(results).to_contain_text("fp32, eager")
    expect(page.locator("#latency-curves .scatterlayer .trace").first).to_be_attached()
    open_tab(page, "Compare")
    table = page.get_by_role("grid", name="Comparison")
    expect(table).to_contain_text("latency b1 (ms)")
    expect(table).to_contain_text("throughput b1 (img/s)")
    expect(page.locator("#metric-bars")).to_contain_text("Latency, batch 1 (ms)")
