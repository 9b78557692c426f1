"""Issue 9's UI findings in the browser (headless Chromium on the real app): each fails on the old code."""

from __future__ import annotations

import json
import re

import pytest

from arch_lab import load_preset

pytest_plugins = ("app_fixtures",)  # app_server, browser, page
pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    pytest.skip("playwright is not installed", allow_module_level=True)

from tests.test_browser import field, open_file, open_tab, pick, select_design  # noqa: E402


@pytest.fixture(autouse=True)
def defaults_loaded(page):
    expect(page.get_by_role("grid", name="Designs")).to_contain_text("resnet50")


def test_finding1_the_editor_says_what_it_edits_and_never_overwrites_unseen(page):
    target, update = page.locator("#editing-target"), page.locator("#update-button")
    expect(target).to_contain_text("Editing a new design")
    expect(update).to_be_disabled()  # first open: resnet18 in the editor, resnet50 selected: no Update
    select_design(page, "resnet50")
    page.get_by_role("button", name="Edit", exact=True).click()
    expect(target).to_contain_text("Editing resnet50")
    field(page, "depths").fill("3, 4, 6, 2")
    expect(page.locator("#spec-status")).to_contain_text("Valid")
    expect(update).to_have_text("Update “resnet50”")
    update.click()
    expect(page.get_by_text("Updated “resnet50”")).to_be_visible()
    listing = page.get_by_role("grid", name="Designs")
    expect(listing).to_contain_text("resnet50")
    expect(listing).not_to_contain_text("resnet18-2")
    # adding a design whose name is taken says it was renamed
    pick(page, "Start from preset", "resnet18")
    expect(target).to_contain_text("Editing a new design")
    page.get_by_role("button", name="Add to comparison").click()
    expect(page.get_by_text("was added as “resnet18-2”")).to_be_visible()
    expect(page.get_by_label("Selected design")).to_have_value("resnet18-2")
    expect(target).to_contain_text("Editing resnet18-2")


def test_finding7_a_failed_add_leaves_the_selection_alone_and_says_what_failed(page):
    field(page, "depths").fill("2, x, 2, 2")
    expect(page.locator("#spec-status")).to_contain_text("Not valid")
    page.get_by_role("button", name="Add to comparison").click()
    expect(page.get_by_text("Design not added — depths[1]").first).to_be_visible()  # the toast says what failed
    selected_block = page.locator(".block").filter(has=page.get_by_label("Selected design"))
    expect(page.get_by_label("Selected design")).to_have_value("resnet50")
    expect(selected_block.get_by_text("Error", exact=True)).to_have_count(0)


def test_finding4_and_6_a_16_design_set_at_160px_saves_and_reopens(page, tmp_path):
    names = ["resnet18", "resnet34", "resnet50", "resnet101"]
    specs = [load_preset(names[i % 4]).replace(name=f"d{i:02d}") for i in range(16)]
    source = tmp_path / "sixteen.json"
    source.write_text(json.dumps({"designs": [{"spec": s.to_dict()} for s in specs]}))
    open_file(page, source)
    listing = page.get_by_role("grid", name="Designs")
    expect(listing).to_contain_text("d15")
    page.locator("#global-input-size input").fill("160")
    page.get_by_role("button", name="Apply to all designs").click()
    expect(listing).to_contain_text("160×160")
    expect(listing).not_to_contain_text("224×224")
    with page.expect_download() as download:
        page.get_by_role("button", name="Save design set (JSON)").click()
    saved = tmp_path / "saved.json"
    download.value.save_as(saved)
    for name in ("d00", "d01"):
        select_design(page, name)
        page.get_by_role("button", name="Remove").click()
        expect(listing).not_to_contain_text(name)
    open_file(page, saved)  # 1.26 MB before (reports saved too): over the 1 MB cap
    expect(listing).to_contain_text("d00")
    assert saved.stat().st_size < 100_000


def test_finding5_and_3_compare_shows_a_loading_note_then_sixteen_readable_charts(page, tmp_path):
    specs = [load_preset("resnet18").replace(name=f"design-{i:02d}", depths=[1 + i % 4] * 4) for i in range(16)]
    source = tmp_path / "sixteen.json"
    source.write_text(json.dumps({"designs": [{"spec": s.to_dict()} for s in specs]}))
    open_file(page, source)
    expect(page.get_by_role("grid", name="Designs")).to_contain_text("design-15")
    open_tab(page, "Compare")
    expect(page.locator("#charts-loading")).to_be_attached()
    expect(page.locator("#stage-breakdown .js-plotly-plot")).to_be_visible()
    expect(page.locator("#charts-loading")).to_be_hidden()  # the note goes once a chart is drawn
    ticks = page.locator("#metric-bars .yaxislayer-above .ytick text")
    expect(ticks).to_have_count(16)
    boxes = [ticks.nth(i).bounding_box() for i in range(16)]
    boxes.sort(key=lambda b: b["y"])
    assert all(a["y"] + a["height"] <= b["y"] + 0.5 for a, b in zip(boxes, boxes[1:], strict=False))
    legend = page.locator("#efficiency-scatter .legend .traces")
    expect(legend).to_have_count(16)
    page.screenshot(path=str(tmp_path / "sixteen.png"), full_page=True)


def test_layers_tab_inspects_a_preset_draws_it_and_exports_onnx(page, tmp_path):
    open_tab(page, "Layers")
    pick(page, "Design", "preset: resnet20")
    layers = page.get_by_role("grid", name="Layers")
    expect(layers).to_contain_text("layer2.0.downsample")
    expect(page.locator("#architecture .js-plotly-plot")).to_be_visible()
    page.get_by_role("button", name="Export to ONNX").click()
    expect(page.locator("#onnx-file")).to_contain_text(".onnx", timeout=60_000)


def open_tab_at_phone_width(page, name: str) -> None:
    """At 390 px gradio shows the first tabs and puts the rest behind an overflow button (a button with no
    text in the tab bar): open a tab the way a phone user does."""
    tab = page.get_by_role("tab", name=name)
    if not tab.is_visible():
        page.locator(".tab-wrapper button:visible").filter(has_text=re.compile(r"^$")).first.click()
        tab = page.locator(".tab-wrapper button:visible", has_text=name).last
    tab.click()
    page.get_by_role("tab", name=name, selected=True).wait_for()


def test_finding2_no_tab_scrolls_sideways_at_phone_width(page):
    page.set_viewport_size({"width": 390, "height": 844})
    widths = {}
    drawn = {"Design": "#spec-status", "Compare": "#metric-bars .js-plotly-plot", "Layers": "#layers-table",
             "Latency": "#latency-table", "Explore": "#explore-summary", "API": "text=Use the lab from Python"}
    for tab, selector in drawn.items():
        open_tab_at_phone_width(page, tab)
        page.locator(selector).first.wait_for()  # the tab's widest content is on the page
        widths[tab] = page.evaluate("document.documentElement.scrollWidth")
    assert all(w <= 390 for w in widths.values()), widths
