"""Time to refusal for issue 8's hostile inputs: the timing side of ``tests/test_abuse_*.py``.

Library: each hostile input to ``ResNetSpec.from_json`` / ``load_spec_file`` / ``load_preset`` /
``build_model`` is timed (median of 5); the goal is < 100 ms each, and the old smallest-input search took
~9 s for one 25-stage spec. App: the same payloads through ``/gradio_api/call/<name>`` against a running
``python app.py`` (median of 3 round trips, measured against a valid ``/analyse resnet18`` in the same run).

Usage: ``python bench/abuse.py``. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import json
import os
import statistics
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
        event = http.post(f"/gradio_api/call/{name}", json={"data": [payload]}).json()["event_id"]
        text = http.get(f"/gradio_api/call/{name}/{event}").text
        times.append((time.perf_counter() - start) * 1000)
        result = text.split("data: ", 1)[-1].strip()[:90]
    return statistics.median(times), result


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
        finally:
            app.close()


if __name__ == "__main__":
    main()
