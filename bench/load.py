"""Load figures for bench/RESULTS.md: N concurrent ``gradio_client`` users against ``python app.py``.

Each user loops for ``--seconds``: ``/analyse`` of a preset, ``/compare`` of three presets, and one
invalid ``/analyse`` (refused with a SpecError message, which counts as an expected answer, not an error).
Reported per N: requests, unexpected errors, p50/p95 latency of the valid calls, server RSS before/after.
Then the queue is overfilled: ``--burst`` simultaneous ``/compare`` joins of 16 designs, counting the
503 "queue full" answers (the queue holds 64). Before it, issue 17's hostile load: ``--hostile`` scripts loop
the heavy explorations (every try refused, each run stopped by the 5 s limit) and as many loop the
malformed gradio requests, beside 8 ordinary users: the ordinary users' p50/p95, the slowest
exploration answer, the malformed requests' status codes, and the server log's tracebacks.

Usage: ``python bench/load.py [--users 8 32] [--seconds 30] [--burst 150] [--hostile 4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import httpx  # noqa: E402
from app_fixtures import RunningApp  # noqa: E402
from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from test_abuse_app import MALFORMED  # noqa: E402  (the cases the tests send)
from test_explore_bounds import DEEP_16, REGNET_1000, WIDE  # noqa: E402

PRESETS = ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "resnet101"]
INVALID = '{"depths": [2, 0, 2, 2]}'


def rss_mb(app: RunningApp) -> float:
    for line in Path(f"/proc/{app.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def user(url: str, seconds: float, latencies: list[float], refused: list[float], errors: list[str],
         lock: threading.Lock) -> None:
    client = Client(url, verbose=False, download_files=False)
    end, i = time.monotonic() + seconds, 0
    try:
        while time.monotonic() < end:
            i += 1
            kind = i % 3
            start = time.perf_counter()
            try:
                if kind == 0:
                    client.predict(PRESETS[i % len(PRESETS)], api_name="/analyse")
                elif kind == 1:
                    client.predict(json.dumps(PRESETS[i % 3: i % 3 + 3]), api_name="/compare")
                else:
                    try:
                        client.predict(INVALID, api_name="/analyse")
                        raise AssertionError("invalid design accepted")
                    except AppError as exc:
                        if "depths[1]: 0 is too small" not in str(exc):
                            raise
            except Exception as exc:  # noqa: BLE001  (every unexpected failure is counted and shown)
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
                continue
            with lock:
                (latencies if kind != 2 else refused).append((time.perf_counter() - start) * 1000)
    finally:
        client.close()


def load(app: RunningApp, users: int, seconds: float) -> None:
    latencies: list[float] = []
    refused: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    before = rss_mb(app)
    with ThreadPoolExecutor(users) as pool:
        for _ in range(users):
            pool.submit(user, app.url, seconds, latencies, refused, errors, lock)
    after = rss_mb(app)
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")
    total = len(latencies) + len(refused) + len(errors)
    print(f"| {users} | {seconds:.0f} | {total} ({len(refused)} refused as invalid) | {len(errors)} | "
          f"{statistics.median(ordered):.0f} | {p95:.0f} | {before:.0f} → {after:.0f} |")
    for error in sorted(set(errors))[:5]:
        print(f"|   | | | {error} | | | |")


def burst(app: RunningApp, count: int) -> None:
    payload = json.dumps(PRESETS * 3 + ["resnet152"])  # 16 designs: the slowest valid /compare
    with httpx.Client(base_url=app.url.rstrip("/"), timeout=60) as http:
        def join(_: int) -> int:
            return http.post("/gradio_api/call/compare", json={"data": [payload]}).status_code

        with ThreadPoolExecutor(32) as pool:
            codes = list(pool.map(join, range(count)))
        alive = http.post("/gradio_api/call/analyse", json={"data": ["resnet18", 1]}).status_code
    print(f"\nQueue burst: {count} simultaneous /compare joins of 16 designs -> {codes.count(200)} queued (200), "
          f"{codes.count(503)} refused as queue full (503), other: {sorted(set(codes) - {200, 503})}; "
          f"a join right after answered {alive}.")


def hostile(app: RunningApp, scripts: int, seconds: float) -> None:
    """Ordinary users beside ``scripts`` heavy-exploration loops and ``scripts`` malformed-request loops."""
    spaces = [json.dumps(space) for space in (DEEP_16, REGNET_1000, WIDE)]
    explored: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def explorer(index: int) -> None:
        client = Client(app.url, verbose=False, download_files=False)
        try:
            while time.monotonic() < end:
                start = time.perf_counter()
                client.predict(spaces[index % len(spaces)], 2000, index, "", "", api_name="/explore")
                with lock:
                    explored.append(time.perf_counter() - start)
                index += 1
        finally:
            client.close()

    def malformed(index: int) -> None:
        with httpx.Client(base_url=app.url.rstrip("/"), timeout=60) as http:
            while time.monotonic() < end:
                method, path, body, _ = MALFORMED[index % len(MALFORMED)]
                code = http.request(method, path, content=body, headers={"content-type": "application/json"})
                with lock:
                    statuses[code.status_code] = statuses.get(code.status_code, 0) + 1
                index += 1

    before = app.log().count("Traceback")
    latencies: list[float] = []
    refused: list[float] = []
    errors: list[str] = []
    with ThreadPoolExecutor(8 + 2 * scripts) as pool:
        for i in range(scripts):
            pool.submit(explorer, i)
            pool.submit(malformed, i)
        for _ in range(8):
            pool.submit(user, app.url, seconds, latencies, refused, errors, lock)
    ordered = sorted(latencies)
    print(f"\nHostile load, {seconds:.0f} s: 8 ordinary users beside {scripts} scripts looping heavy explorations "
          f"and {scripts} looping malformed requests.")
    print(f"Ordinary users: {len(ordered)} valid calls, p50 {statistics.median(ordered):.0f} ms, "
          f"p95 {ordered[int(0.95 * (len(ordered) - 1))]:.0f} ms, {len(errors)} unexpected errors.")
    print(f"Explorations: {len(explored)} answered, slowest {max(explored, default=float('nan')):.1f} s (each "
          f"waits for the one before it: one runs at a time).")
    print(f"Malformed requests: {sum(statuses.values())} answered, status codes {dict(sorted(statuses.items()))}; "
          f"new tracebacks in the server log: {app.log().count('Traceback') - before}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=150)
    parser.add_argument("--hostile", type=int, default=4, help="scripts of each hostile kind (issue 17)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logs:
        app = RunningApp(Path(logs))
        try:
            Client(app.url, verbose=False).predict("resnet18", api_name="/analyse")  # warm-up
            print("| users | seconds | requests | unexpected errors | p50 ms | p95 ms | server RSS MB |")
            print("|---:|---:|---:|---:|---:|---:|---|")
            for users in args.users:
                load(app, users, args.seconds)
            if args.hostile:
                hostile(app, args.hostile, args.seconds)
            burst(app, args.burst)
            print(f"Server log: {app.log().count('Traceback')} tracebacks.")
        finally:
            app.close()


if __name__ == "__main__":
    main()
