"""Regenerate docs/screenshot.png: the real app in headless Chromium, three designs compared, latency measured.

Usage: ``python docs/screenshot.py [--out docs/screenshot.png]`` (needs Debian's ``chromium``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.app_fixtures import CHROMIUM_ARGS, RunningApp  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    app = RunningApp(Path(tempfile.mkdtemp(prefix="screenshot_")))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1250}, device_scale_factor=1)
            page.set_default_timeout(60_000)
            page.goto(app.url)
            # The session starts with resnet18 and resnet50; add an edited resnet34 beside them.
            for preset, changes in (("resnet34", {"depths": "3, 4, 8, 3", "name": "resnet34-deeper"}),):
                page.get_by_label("Start from preset", exact=True).click()
                page.get_by_role("option", name=preset, exact=True).click()
                expect(page.get_by_label("name", exact=True)).to_have_value(preset)
                for label, value in changes.items():
                    page.get_by_role("textbox", name=re.compile(rf"^{label}\b")).fill(value)
                expect(page.locator("#spec-status")).to_contain_text("Valid")
                page.get_by_role("button", name="Add to comparison").click()
                expect(page.get_by_label("Selected design")).to_have_value(changes.get("name", preset))
            page.get_by_role("tab", name="Latency").click()
            page.get_by_role("spinbutton", name="number input for time budget per design (s)").fill("5")
            page.get_by_role("button", name="Measure latency").click()
            expect(page.get_by_role("grid", name="Latency results")).to_contain_text("resnet50", timeout=120_000)
            page.get_by_role("tab", name="Compare").click()
            expect(page.locator("#metric-bars")).to_contain_text("Latency, batch 1 (ms)")
            page.wait_for_timeout(500)  # let plotly finish its transitions before the picture
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        app.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
