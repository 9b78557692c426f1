"""The page with issue 16's any-batch memory and issue 19's timm family, in headless Chromium: memory at batch
256 is answered in every precision (it once broke the page), a timm model is picked from the presets with
timm's published accuracy, and the family's fields edit the design."""

from __future__ import annotations

import pytest

from arch_lab import analyse, load_preset
from arch_lab.timm_family import from_timm

pytest_plugins = ("app_fixtures",)  # app_server, browser, page
pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover
    pytest.skip("playwright is not installed", allow_module_level=True)

from tests.test_browser import field, open_tab, pick  # noqa: E402
from tests.test_browser_issue18 import defaults_loaded  # noqa: E402,F401  (autouse: the page is ready)


def test_memory_at_batch_256_in_every_precision_fills_the_compare_table(page):
    """Issue 18 item 1: batch 256 made the same toast three times and every chart an Error badge."""
    batch = page.locator("#analysis-batch input")
    batch.fill("256")
    batch.press("Tab")
    open_tab(page, "Compare")
    page.locator("#compare-columns").get_by_text("memory:", exact=False).click()
    table = page.locator("#comparison-table")
    report = analyse(load_preset("resnet50"), batch_size=256)
    for header, value in (("train step fp32 (MB)", report.train_step_fp32_mb),
                          ("train step mixed bf16/fp16 (MB)", report.train_step_mixed_mb),
                          ("inference activations fp32 (MB)", report.activations_mb)):
        expect(table).to_contain_text(header, timeout=20_000)
        expect(table).to_contain_text(f"{round(value, 1):g}")  # one decimal, as the table rounds it
    expect(page.get_by_text("counts per batch of 256 images")).to_be_visible()
    expect(page.locator(".toast-body")).to_have_count(0)
    expect(page.locator("#metric-bars")).not_to_contain_text("Error")


def test_a_timm_model_is_a_preset_with_timms_published_accuracy_and_its_fields(page):
    pick(page, "Start from preset", "timm:ecaresnet50d")
    spec = from_timm("ecaresnet50d")
    status = page.locator("#spec-status")
    expect(status).to_contain_text(f"{analyse(spec).params / 1e6:.2f} M parameters")
    expect(page.locator("#published-accuracy")).to_contain_text("timm's published accuracy of ecaresnet50d.")
    expect(page.locator("#published-accuracy")).to_contain_text("results-imagenet.csv")
    page.locator("#family-fields").get_by_text("timm's family", exact=False).first.click()
    expect(page.get_by_label("attention", exact=True)).to_have_value("ECA")
    # the family's fields edit the design: anti-aliasing by blur pools, counted at once
    pick(page, "anti_alias", "blur")
    blurred = analyse(spec.replace(anti_alias="blur"))
    expect(status).to_contain_text(f"{blurred.macs / 1e9:.3f} GMACs")
    expect(page.locator("#published-accuracy")).to_have_text("")  # an edited design has no published figure
    field(page, "norm_groups").fill("3")  # GroupNorm's groups without GroupNorm: the field is named
    expect(status).to_contain_text("norm_groups: applies to norm 'groupnorm' only")
