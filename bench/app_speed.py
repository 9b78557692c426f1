"""How fast the app starts and compares: the figures for bench/RESULTS.md ("App start-up and comparison time").

1. start-up: seconds from launching ``python app.py`` to its HTTP endpoint answering 200 (several runs);
2. ``/compare`` of four presets through ``gradio_client`` (first call and warm calls);
3. in headless Chromium: from opening a design set of four presets to the comparison table and all three
   charts drawn with four designs (a fresh browser session each run);
4. the server-side refresh behind step 3 (analysis + table + CSV + figures), cold and warm, in-process.

Usage: ``python bench/app_speed.py [--runs 3]``. Needs Debian's ``chromium`` for step 3 (skipped without it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from tests.app_fixtures import CHROMIUM_ARGS, RunningApp  # noqa: E402

FOUR = ["resnet18", "resnet34", "resnet50", "resnet101"]
ALL_DRAWN = """() => {
  const rows = document.querySelectorAll('#comparison-table [role=row]').length;   // header + designs
  const bars = document.querySelectorAll('#metric-bars .trace.bars .point').length;  // 2 metrics x designs
  const dots = document.querySelectorAll('#efficiency-scatter .scatterlayer .point').length;
  const stacks = document.querySelectorAll('#stage-breakdown .trace.bars .point').length;
  return rows >= 5 && bars === 8 && dots === 4 && stacks >= 4 * 6 * 2;
}"""


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"


def bench_startup(runs: int, log_dir: Path) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        app = RunningApp(log_dir)
        times.append(time.perf_counter() - start)
        app.close()
    return times


def bench_import_gradio(runs: int) -> list[float]:
    """Seconds for ``python -c "import gradio"``: the floor any gradio app's start-up stands on."""
    import subprocess

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import gradio"], check=True,
                       env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"})
        times.append(time.perf_counter() - start)
    return times


def time_in_fresh_pages(runs: int, measure: Callable[[Any], float]) -> list[float] | None:
    """``measure(page)`` (seconds) once per run, each in a fresh browser context of headless Chromium;
    ``None`` when Chromium is not installed."""
    executable = shutil.which("chromium")
    if executable is None:
        return None
    from playwright.sync_api import sync_playwright

    timings = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            timings.append(measure(context.new_page()))
            context.close()
        browser.close()
    return timings


def bench_first_compare(url: str, runs: int) -> list[float] | None:
    """First open of the page (fresh browser context) to the Compare tab drawn: table and three charts of
    the default designs."""
    drawn = ALL_DRAWN.replace("rows >= 5 && bars === 8 && dots === 4 && stacks >= 4 * 6 * 2",
                              "rows >= 3 && bars === 4 && dots === 2 && stacks >= 2 * 6 * 2")

    def first_open(page: Any) -> float:
        start = time.perf_counter()
        page.goto(url)
        page.get_by_role("tab", name="Compare").click()
        page.wait_for_function(drawn, timeout=60_000)
        return time.perf_counter() - start

    return time_in_fresh_pages(runs, first_open)


def bench_client(url: str, runs: int) -> tuple[float, list[float]]:
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=tempfile.mkdtemp())
    payload = json.dumps(FOUR)
    timings = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        client.predict(payload, api_name="/compare")
        timings.append(time.perf_counter() - start)
    client.close()
    return timings[0], timings[1:]


def bench_browser(url: str, runs: int) -> list[float] | None:
    from arch_lab import load_preset
    from arch_lab.ui.exports import write_designs_json

    design_set = write_designs_json([load_preset(name) for name in FOUR])

    def open_set(page: Any) -> float:
        page.goto(url)
        page.get_by_role("tab", name="Compare").click()  # mount the tab's (empty) charts once
        page.locator("#stage-breakdown .js-plotly-plot").wait_for()
        page.get_by_role("tab", name="Design").click()
        page.get_by_role("button", name="Open design set (JSON)").wait_for()
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Open design set (JSON)").click()
        start = time.perf_counter()
        chooser.value.set_files(design_set)
        page.get_by_role("tab", name="Compare").click()
        page.wait_for_function(ALL_DRAWN, timeout=60_000)
        return time.perf_counter() - start

    return time_in_fresh_pages(runs, open_set)




def bench_refresh(runs: int) -> tuple[float, list[float]]:
    from arch_lab import load_preset
    from arch_lab.analysis.report import clear_cache
    from arch_lab.ui.compare_panel import refresh
    from arch_lab.ui.state import DesignSet

    designs = DesignSet.of([load_preset(name) for name in FOUR])
    clear_cache()
    start = time.perf_counter()
    refresh(designs, {})
    cold = time.perf_counter() - start
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        refresh(designs, {})
        warm.append(time.perf_counter() - start)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from arch_lab.latency.devices import cpu_model

    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}; python {platform.python_version()}; {date.today()}")
    log_dir = Path(tempfile.mkdtemp(prefix="app_speed_"))
    gradio_only = bench_import_gradio(args.runs)
    startup = bench_startup(args.runs, log_dir)
    print(f"python -c 'import gradio': {summary(gradio_only)}")
    print(f"start-up, python app.py -> HTTP 200: {summary(startup)}   "
          f"(ratio of medians {statistics.median(startup) / statistics.median(gradio_only):.2f}; goal <= 1.5)")
    app = RunningApp(log_dir)
    try:
        first_open = bench_first_compare(app.url, args.runs)
        if first_open is not None:
            print(f"browser, first open -> Compare tab drawn (table + 3 charts): {summary(first_open)}   "
                  "(goal: <= 3 s)")
        first, warm = bench_client(app.url, args.runs)
        print(f"/compare of four presets via gradio_client: first {first:.3f} s, warm {summary(warm)}")
        browser = bench_browser(app.url, args.runs)
        if browser is None:
            print("browser: skipped (chromium is not installed)")
        else:
            print(f"browser, open a set of four presets -> table + 3 charts drawn: {summary(browser)}   (goal: < 2 s)")
    finally:
        app.close()
    cold, warm_refresh = bench_refresh(args.runs)
    print(f"server-side refresh (4 analyses, table, CSV, 4 figures): cold {cold:.3f} s, warm {summary(warm_refresh)}")


if __name__ == "__main__":
    main()
