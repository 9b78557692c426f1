"""End-to-end: the Explore tab in headless Chromium, as a user would drive it (see ``tests/app_fixtures.py``).

``ARCH_LAB_UPDATE_DOCS=1 pytest tests/test_browser_explore.py`` also rewrites the README's screenshot
``docs/explore.png`` from :func:`test_a_resnet50_neighbourhood_run_at_desktop_width`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arch_lab.ui import explore_panel

pytest_plugins = ("app_fixtures",)  # app_server, browser, page
pytestmark = pytest.mark.browser

try:
    from playwright.sync_api import Page, expect
except ImportError:  # pragma: no cover - playwright is in requirements-dev.txt
    pytest.skip("playwright is not installed", allow_module_level=True)

DOCS_SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "explore.png"
RUN_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def defaults_loaded(page):
    """Each test starts once the page has drawn the session's default designs."""
    expect(page.get_by_role("grid", name="Designs")).to_contain_text("resnet50")


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def run_exploration(page: Page, space: str, n: int, constraints: str = "") -> None:
    """Open the Explore tab, choose ``space``, ``n`` and ``constraints`` (default seed and objectives), run,
    wait for the summary."""
    page.get_by_role("tab", name="Explore").click()
    pick(page, "Built-in space", space)
    expect(page.get_by_text(explore_panel.BUILTIN_SPACES[space]["description"][:40])).to_be_visible()
    n_box = page.get_by_role("spinbutton", name="designs (N)")
    n_box.fill(str(n))
    n_box.press("Tab")
    page.get_by_label("constraints (one per line)").fill(constraints)
    page.get_by_role("button", name="Run exploration").click()
    expect(page.locator("#explore-summary")).to_contain_text(f"designs accepted of {n} requested",
                                                             timeout=RUN_TIMEOUT_MS)


def test_explore_a_small_space_and_add_a_pareto_design_to_the_comparison(page):
    expected = explore_panel.run_bounded("cifar-resnet-depth", 20, 0, "", explore_panel.DEFAULT_OBJECTIVES)
    first = list(explore_panel.flat_table(expected)["name"])[0]
    assert bool(expected.table.set_index("name").loc[first, "pareto"])
    run_exploration(page, "cifar-resnet-depth", 20)
    expect(page.locator("#explore-summary")).to_contain_text(f"{expected.tries:,} tries")
    table = page.get_by_role("grid", name="Explored designs")
    expect(table).to_contain_text(first)
    expect(page.locator("#explore-scatter .js-plotly-plot")).to_be_visible()
    expect(page.locator("#explore-scatter")).to_contain_text("Pareto front")
    expect(page.locator("#explore-edf .js-plotly-plot")).to_be_visible()

    pick(page, "Designs to add to the comparison", f"★ {first} (Pareto)")
    page.get_by_role("button", name="Add selected to comparison").click()
    expect(page.get_by_text("Added 1 design to the comparison")).to_be_visible()
    page.get_by_role("tab", name="Design").click()
    listing = page.get_by_role("grid", name="Designs")
    expect(listing).to_contain_text(first)
    expect(listing).to_contain_text("32×32")  # the CIFAR design keeps its own input size


def test_a_resnet50_neighbourhood_run_at_desktop_width(page, tmp_path):
    """The README's screenshot: the README's question (3-5 GMACs, fewest parameters) with N=300 and the
    default objectives (min:params, max:macs)."""
    page.set_viewport_size({"width": 1400, "height": 1000})
    run_exploration(page, "resnet50-neighbourhood", 300, "3e9<=macs<=5e9")
    expect(page.get_by_role("grid", name="Explored designs")).to_contain_text("resnet50-neighbourhood-")
    expect(page.locator("#explore-scatter")).to_contain_text("published models")
    expect(page.locator("#explore-edf .js-plotly-plot")).to_be_visible()
    page.wait_for_timeout(500)  # let plotly finish its transition before the picture
    shot = tmp_path / "explore.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("ARCH_LAB_UPDATE_DOCS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        DOCS_SCREENSHOT.write_bytes(shot.read_bytes())
