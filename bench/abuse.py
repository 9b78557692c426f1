"""Time to refusal for issue 8's hostile inputs, and time to answer for issue 17's: the timing side of
``tests/test_abuse_*.py``.

Library: each hostile input to ``ResNetSpec.from_json`` / ``load_spec_file`` / ``load_preset`` /
``build_model`` is timed (median of 5); the goal is < 100 ms each, and the old smallest-input search took
~9 s for one 25-stage spec. App: the same payloads through ``/gradio_api/call/<name>`` against a running
``python app.py`` (median of 3 round trips, measured against a valid ``/analyse resnet18`` in the same run).

Issue 17 (requests within every size limit that held the machine for minutes): each heavy exploration
through ``/explore`` (n=2000; the goal: an answer within 10 s, saying why it stopped), a latency request
the estimate refuses, a deep ONNX export, the malformed gradio-level requests (a 4xx, no traceback), and
the first latency refusal of a fresh process (no torch import). The server log's tracebacks are counted.

Usage: ``python bench/abuse.py``. Prints Markdown tables for bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx  # noqa: E402
from test_abuse_app import MALFORMED  # noqa: E402  (the cases the tests send)
from test_explore_bounds import DEEP_16, REGNET_1000, WIDE  # noqa: E402

from arch_lab import ResNetSpec, SpecError, load_preset  # noqa: E402
from arch_lab.models import build_model  # noqa: E402
from arch_lab.spec import load_spec_file  # noqa: E402

GOAL_MS = 100.0


def refusal_ms(fn: Callable[[], object], repeat: int = 5) -> tuple[float, str]:
    times, message = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            fn()
            message = "ACCEPTED (not refused)"
        except SpecError as exc:
            message = str(exc)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), message


def library_cases(tmp: Path) -> dict[str, Callable[[], object]]:
    fifo, zero = tmp / "pipe.json", tmp / "zero.json"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    latin = tmp / "latin.json"
    latin.write_bytes(b'{"name": "caf\xe9"}')
    return {
        "1. 25 stages": lambda: ResNetSpec.from_json(json.dumps({"depths": [1] * 25})),
        "1. 16 stride-2 stages (closed-form smallest input)": lambda: ResNetSpec.from_dict(
            {"depths": [1] * 16, "strides": [2] * 16, "widths": [8] * 16}),
        "3. JSON nested 10,000 deep": lambda: ResNetSpec.from_json("[" * 10_000 + "]" * 10_000),
        "3. 5,000-digit integer": lambda: ResNetSpec.from_json('{"depths": [' + "9" * 5000 + "]}"),
        "3. 400-digit se_ratio": lambda: ResNetSpec.from_json('{"se_ratio": ' + "9" * 400 + "}"),
        "3. lone surrogate in a name": lambda: ResNetSpec(name="\ud800x"),
        "3. spec file not UTF-8": lambda: load_spec_file(latin),
        "4. 2 MB preset name": lambda: load_preset("x" * 2_000_000),
        "5. FIFO named *.json": lambda: load_spec_file(fifo),
        "5. symlink to /dev/zero": lambda: load_spec_file(zero),
        "6. 70-character name": lambda: ResNetSpec(name="n" * 70),
        "9. build_model(dict)": lambda: build_model({"depths": [2, 2, 2, 2]}),  # type: ignore[arg-type]
        "9. build_model(device='nonsense')": lambda: build_model(load_preset("resnet18"), device="nonsense"),
        "limits: resnet50 x12 widths over max_params": lambda: build_model(
            load_preset("resnet50").replace(widths=[64 * 12, 128 * 12, 256 * 12, 512 * 12])),
    }


APP_CASES = {
    "1. 25 stages": ("analyse", json.dumps({"depths": [1] * 25})),
    "3. JSON nested 10,000 deep": ("analyse", "[" * 10_000 + "]" * 10_000),
    "3. 5,000-digit integer": ("analyse", '{"depths": [' + "9" * 5000 + "]}"),
    "3. surrogate name in /compare": ("compare", json.dumps([{"name": "\ud800x"}])),
    "4. 200,000-character text": ("analyse", "x" * 200_000),
    "17 designs": ("compare", json.dumps(["resnet18"] * 17)),
}


def app_round_trip_ms(http: httpx.Client, name: str, payload: str) -> tuple[float, str]:
    times, result = [], ""
    for _ in range(3):
        start = time.perf_counter()
        data = [payload, 1] if name == "analyse" else [payload]  # /analyse's batch size
        event = http.post(f"/gradio_api/call/{name}", json={"data": data}).json()["event_id"]
        text = http.get(f"/gradio_api/call/{name}/{event}").text
        times.append((time.perf_counter() - start) * 1000)
        result = text.split("data: ", 1)[-1].strip()[:90]
    return statistics.median(times), result


EXPLORE_CASES = {
    "17.2 16 stages of 50-62 bottlenecks, widths 8-4096 (57.8 s before)": (json.dumps(DEEP_16), ""),
    "17.2 RegNetX-4GF's space with 990-1000 blocks (61.7 s before)": (json.dumps(REGNET_1000), ""),
    "17.2 widths 65,000-65,536 (9.3 s before)": (json.dumps(WIDE), ""),
    "17.3 resnet50-neighbourhood, 3.6e9<=macs<=5e9 (9.9 s, 20,747 tries before)": ("resnet50-neighbourhood",
                                                                                    "3.6e9<=macs<=5e9"),
}
FIRST_REFUSAL = """
import sys, time
from types import SimpleNamespace
import gradio as gr
from arch_lab.ui import latency_panel
from arch_lab.ui.state import default_designs
start = time.perf_counter()
try:
    latency_panel.measure(default_designs(), ["resnet18"], [1], "fp64", False, "eager", 3,
                          SimpleNamespace(session_hash="s"))
except gr.Error as exc:
    message = exc.message
print(f"{(time.perf_counter() - start) * 1000:.1f} ms, torch imported: {'torch' in sys.modules}: {message}")
"""


def explore_round_trip(http: httpx.Client, space: str, constraints: str) -> tuple[float, str]:
    start = time.perf_counter()
    event = http.post("/gradio_api/call/explore", json={"data": [space, 2000, 0, constraints, "min:params"]}).json()
    text = http.get(f"/gradio_api/call/explore/{event['event_id']}").text
    seconds = time.perf_counter() - start
    if "event: error" in text:
        return seconds, "error: " + text.split("data: ", 1)[-1].strip()[:150]
    table = json.loads(text.split("data: ", 1)[-1])[0]
    return seconds, f"{len(table['data']):,} designs"


def issue_17(http: httpx.Client) -> None:
    """The time-bound cases, through the running app (the explore answers' stop reasons come from the
    library run beside them, with the app's caps)."""
    from arch_lab.errors import SpecError
    from arch_lab.ui import explore_panel, layers_panel
    from arch_lab.ui.state import DesignSet

    print("\n## Issue 17: time to answer through the app\n")
    print("| case | s | answer | why it stopped (library, same caps) |\n|---|---:|---|---|")
    for label, (space, constraints) in EXPLORE_CASES.items():
        seconds, answer = explore_round_trip(http, space, constraints)
        result = explore_panel.run_bounded(space, 2000, 0, constraints, "min:params")
        print(f"| {label} | {seconds:.2f} | {answer} | {result.tries:,} tries, {result.rejections()}; "
              f"{result.stopped_early() or 'complete'} |")
    deep = DesignSet.of([ResNetSpec(name="deep", depths=[250] * 4, widths=[8] * 4)])
    start = time.perf_counter()
    try:
        layers_panel.export_onnx_file(deep, "design:deep")
        answer = "ACCEPTED"
    except Exception as exc:  # noqa: BLE001  (gr.Error: the refusal shown to the user)
        answer = str(getattr(exc, "message", exc))
    print(f"| 17.4 ONNX export of depths 250x4, widths 8 (> 7 min before) | {time.perf_counter() - start:.3f} | "
          f"{answer[:120]} | refused by its layer count |")
    from arch_lab.latency.estimate import costs_within_budget

    start = time.perf_counter()
    try:
        costs_within_budget([load_preset("resnet152").replace(input_size=1408)], (1,), 1.0,
                            ("cpu", "fp32", False, "eager", 2))
        answer = "ACCEPTED"
    except SpecError as exc:
        answer = str(exc)
    print(f"| 17.1 latency of resnet152 at 1408x1408, 1 s budget (38.3 s before) | {time.perf_counter() - start:.3f} "
          f"| {answer[:150]} | refused by its estimate |")
    print("\n| 17.5 malformed request (x100 each) | status | ms per request | answer |\n|---|---|---:|---|")
    for method, path, body, _ in MALFORMED:
        start = time.perf_counter()
        for _ in range(100):
            response = http.request(method, path, content=body, headers={"content-type": "application/json"})
        ms = (time.perf_counter() - start) * 10
        print(f"| `{method} {path.removeprefix('/gradio_api')}` {body or ''} | {response.status_code} | {ms:.1f} | "
              f"{response.json()['detail'][:70]} |")
    done = subprocess.run([sys.executable, "-c", FIRST_REFUSAL], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    print(f"\n17.6 first latency refusal in a fresh process: {done.stdout.strip() or done.stderr[-300:]}")


def main() -> None:
    print("## Library: time to refusal (median of 5)\n\n| finding | ms | message |\n|---|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, fn in library_cases(Path(tmp)).items():
            ms, message = refusal_ms(fn)
            flag = "" if ms < GOAL_MS else " **over goal**"
            print(f"| {label} | {ms:.2f}{flag} | {message[:90]} |")

    from app_fixtures import RunningApp

    with tempfile.TemporaryDirectory() as logs:
        app = RunningApp(Path(logs))
        try:
            with httpx.Client(base_url=app.url.rstrip("/"), timeout=60) as http:
                valid, _ = app_round_trip_ms(http, "analyse", "resnet18")
                print("\n## App: round trip to refusal through /gradio_api/call (median of 3)\n")
                print(f"A valid `/analyse resnet18` in the same run: {valid:.1f} ms.\n")
                print("| finding | ms | answer |\n|---|---:|---|")
                for label, (name, payload) in APP_CASES.items():
                    ms, answer = app_round_trip_ms(http, name, payload)
                    print(f"| {label} | {ms:.1f} | {answer} |")
                issue_17(http)
        finally:
            app.close()
        print(f"\nServer log: {app.log().count('Traceback')} tracebacks.")


if __name__ == "__main__":
    main()
