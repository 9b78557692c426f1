"""The abuse suite against a running ``python app.py``: raw HTTP calls, as a script would send them.

It replays issue 8's findings and the older probes on the public routes (``/gradio_api/call/<name>``), on
the page's own events through the queue (``queue/join`` with an ``fn_index``), and on the private routes,
then checks what the server wrote to its log and how much memory it kept. The app runs with a small
measurement quota and ``max_params`` set to resnet50's exact count, so "at the limit" and "just over"
are one parameter apart.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from arch_lab import analyse, load_preset
from arch_lab.ui import state

RESNET50_PARAMS = analyse(load_preset("resnet50")).params
DEFAULT_DESIGNS = list(state.DEFAULT_DESIGNS)
"""A new session's designs (the Latency tab's "designs to time" starts with them ticked)."""


def reserved_s(names: list[str], budget_s: float) -> float:
    """What the app reserves to time ``names`` at batch 1 within ``budget_s`` each, before anything was
    measured in its process (the assumed rate of this machine's device)."""
    import torch

    from arch_lab.latency.estimate import design_cost

    key = ("cuda" if torch.cuda.is_available() else "cpu", "fp32", False, "eager", 1)
    return sum(design_cost(load_preset(name), (1,), budget_s, key).worst_s for name in names)


QUOTA_S = 1.5 * reserved_s(DEFAULT_DESIGNS, 1.0)
"""The app's measurement cap here (per session and in all, per minute): one request of the two default
designs at a 1 s budget fits, a second one at the same time must be refused."""
PUBLIC = ("compare", "analyse", "explore")
TRAILING = {"analyse": (1,)}
"""Inputs after the payload, per endpoint (``/analyse``'s batch size)."""


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Any:
    from app_fixtures import RunningApp  # imported here: test_app_api registers it as a pytest plugin first

    temp = tmp_path_factory.mktemp("app_tmp")
    server = RunningApp(tmp_path_factory.mktemp("app"), env={
        "TMPDIR": str(temp), "ARCH_LAB_MAX_PARAMS": str(RESNET50_PARAMS),
        "ARCH_LAB_LATENCY_SESSION_S": str(QUOTA_S), "ARCH_LAB_LATENCY_PROCESS_S": str(QUOTA_S)})
    server.temp = temp
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def http(app) -> Any:
    with httpx.Client(base_url=app.url.rstrip("/"), timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def events(http) -> dict[str, int]:
    """Event name -> fn_index, from the page's config (what a browser, or a script, reads)."""
    config = http.get("/config").json()
    return {d["api_name"]: d["id"] for d in config["dependencies"]}


def call(http: httpx.Client, name: str, *data: Any) -> tuple[str, Any]:
    """A public endpoint through the client-library route: ("complete", outputs) or ("error", message)."""
    response = http.post(f"/gradio_api/call/{name}", json={"data": list(data)})
    response.raise_for_status()
    event_id = response.json()["event_id"]
    kind = None
    with http.stream("GET", f"/gradio_api/call/{name}/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: ") and kind in ("complete", "error"):
                data = json.loads(line[len("data: "):])
                return kind, (data or {}).get("error") if kind == "error" else data
    raise AssertionError(f"no result for {name}")


def queue(http: httpx.Client, fn_index: int, data: list[Any], session: str | None = None) -> dict[str, Any]:
    """Any event of the page through the queue, as the browser sends it; the ``process_completed`` message."""
    session = session or uuid.uuid4().hex
    joined = http.post("/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                       "event_data": None, "trigger_id": None})
    joined.raise_for_status()
    event_id = joined.json()["event_id"]
    with http.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[len("data:"):])
                if message.get("msg") == "process_completed" and message.get("event_id") == event_id:
                    return message
    raise AssertionError(f"no result for fn_index {fn_index}")


def error_of(message: dict[str, Any]) -> str:
    """The error text a failed event shows; ``None`` would be gradio's generic error, which must not occur."""
    assert message["success"] is False, message
    text = message["output"].get("error")
    assert text, f"gradio's generic error instead of our message: {message}"
    return text


def form(**changes: Any) -> list[Any]:
    """The editor's 19 field values (resnet18), in FORM_FIELDS order, with some changed."""
    from arch_lab.ui.form import FORM_FIELDS, spec_to_form

    values = {**spec_to_form(load_preset("resnet18")), **changes}
    return [values[name] for name in FORM_FIELDS]


def rss_mb(app: Any) -> float:
    for line in Path(f"/proc/{app.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# ---- private events: not callable by name ---------------------------------------------------------------
def test_only_public_events_are_callable_by_name(http, events):
    private = sorted(set(events) - set(PUBLIC))
    assert {"measure", "on_add", "on_upload", "refresh"} <= set(private)
    for name in private:
        for route in ("call", "call/v2", "run", "api"):
            response = http.post(f"/gradio_api/{route}/{name}", json={"data": []})
            assert response.status_code == 404, (route, name, response.text)
    assert call(http, "analyse", "resnet18", 1)[0] == "complete"
    # the direct routes would bypass the queue and its size cap: closed for public events too
    assert http.post("/gradio_api/run/analyse", json={"data": ["resnet18"]}).status_code == 404


# ---- the public API: every hostile input gets our message ----------------------------------------------
HOSTILE = [
    ("analyse", json.dumps({"depths": [1] * 25}), "depths: 25 stages is too many; at most 16"),
    ("analyse", "[" * 10_000 + "]" * 10_000, "design: JSON nested too deeply"),
    ("analyse", '{"depths": [' + "9" * 5000 + "]}", "design: a number in the JSON is too long"),
    ("analyse", '{"se_ratio": ' + "9" * 400 + "}", "se_ratio: <an integer of 1,329 bits> is out of range"),
    ("analyse", "x" * 200_000, "design: 200,000 characters is too long; at most 100,000"),
    ("analyse", "../../etc/passwd", "design: malformed JSON"),
    ("analyse", '"../../etc/passwd"', "preset: unknown preset '../../etc/passwd'"),
    ("analyse", '"' + "r" * 5000 + '"', "preset: text of 5,000 characters is not a preset name"),
    ("analyse", json.dumps({"name": "n" * 70}), "name: 70 characters is too long; use at most 60"),
    ("analyse", json.dumps({"depths": [2] * 40_000}), f"design: {len(json.dumps({'depths': [2] * 40_000})):,} "
                                                      "characters is too long"),
    ("compare", json.dumps([{"name": "\ud800x"}]), "designs[0]: name: '\\ud800x' contains a control"),
    ("compare", json.dumps(["resnet18"] * 17), "designs: 17 designs given; at most 16 per request"),
    ("compare", json.dumps([{"num_classes": 1001, "block": "bottleneck", "depths": [3, 4, 6, 3]}]),
     f"designs[0]: max_params: {RESNET50_PARAMS + 2049:,} parameters exceed the limit of {RESNET50_PARAMS:,}"),
]


@pytest.mark.parametrize(("endpoint", "payload", "expected"), HOSTILE, ids=[f"{e}-{i}" for i, (e, _, _) in
                                                                             enumerate(HOSTILE)])
def test_hostile_requests_get_the_spec_error_message(http, endpoint, payload, expected):
    kind, data = call(http, endpoint, payload, *TRAILING.get(endpoint, ()))
    assert kind == "error" and data is not None, "gradio's generic error instead of our message"
    assert data.startswith(expected) and len(data) < 500, data


def test_a_body_too_large_for_any_valid_request_is_refused_before_it_is_read(http):
    response = http.post("/gradio_api/call/analyse", json={"data": ["x" * 2_000_000]})
    assert response.status_code == 413 and "at most 524,288 bytes" in response.json()["detail"]


def test_a_design_at_the_limit_is_accepted_and_formula_names_are_neutralised(http):
    kind, (table, csv_file) = call(http, "compare", json.dumps(["resnet50", {"name": "=HYPERLINK(\"x\")"}]))
    assert kind == "complete" and table["data"][0][list(table["headers"]).index("params")] == RESNET50_PARAMS
    text = http.get(csv_file["url"]).text
    assert "'=HYPERLINK" in text and "\n=" not in text and ",=" not in text


# ---- the page's events: validated exactly like the public API -------------------------------------------
def test_page_events_refuse_what_the_public_api_refuses(http, events):
    over = form(name="big", block="bottleneck", depths="3, 4, 6, 3", num_classes=1001)
    assert "max_params" in error_of(queue(http, events["on_add"], [None, *over]))
    assert "depths: 600 characters is too long" in error_of(
        queue(http, events["on_add"], [None, *form(depths="2," * 300)]))
    session = uuid.uuid4().hex  # the page's load event fills the "Selected design" choices, as in a browser
    assert queue(http, events["_refresh"], [None, None, None, None], session)["success"]
    assert error_of(queue(http, events["on_rename"], [None, "resnet18", "n" * 70, None], session)).startswith(
        "name: 70 characters is too long; use at most 60")
    assert "ghost" in error_of(queue(http, events["on_remove"], [None, "ghost"], session))
    for text, expected in [("[" * 50_000, "nested too deeply"), ("[" * 200_000, "200,000 characters is too long")]:
        status = queue(http, events["on_code"], [text])  # the editor reports on its status line
        assert status["success"] and expected in json.dumps(status["output"]["data"])
    assert error_of(queue(http, events["on_upload"], [None, {"path": "/etc/passwd", "orig_name": "x.json",
                                                             "meta": {"_type": "gradio.FileData"}}])).startswith(
        "file: only files uploaded through this page")
    assert "does not have the expected form" in error_of(queue(http, events["on_upload"], [None, {"nonsense": 1}]))
    for settings, expected in [([[4096], "fp32", False, "eager", 1], "4096"),
                               ([[1], "fp32", False, "eager", 999], "999"),
                               ([[1], "fp64", False, "eager", 1], "fp64")]:
        assert expected in error_of(queue(http, events["measure"], [None, DEFAULT_DESIGNS, *settings]))


def test_a_redraw_that_arrives_after_a_rename_selects_the_renamed_design(http, events):
    """The browser sends a redraw with the selection it shows; a rename can land first (CI caught it).
    The stale name must neither fail gradio's choice check (an error drops the browser's next redraw)
    nor lose the selection: the redraw selects the design the rename made."""
    session = uuid.uuid4().hex
    assert queue(http, events["_refresh"], [None, None, None, None], session)["success"]
    assert queue(http, events["on_rename"], [None, "resnet18", "my-r18", None], session)["success"]
    redraw = queue(http, events["_refresh"], [None, "resnet18", None, None], session)
    assert redraw["success"], redraw
    selection = redraw["output"]["data"][1]
    assert selection["value"] == "my-r18" and [c[0] for c in selection["choices"]] == ["my-r18", "resnet50"]


def test_an_uploaded_design_set_shows_the_real_message(http, events, tmp_path):
    bad = tmp_path / "set.json"
    bad.write_text(json.dumps({"designs": [{"spec": {"name": "n" * 70, "depths": [2, 2, 2, 2]}}]}))
    with bad.open("rb") as handle:
        uploaded = http.post("/gradio_api/upload", files={"files": ("set.json", handle, "application/json")})
    path = uploaded.json()[0]
    message = queue(http, events["on_upload"], [None, {"path": path, "orig_name": "set.json",
                                                 "meta": {"_type": "gradio.FileData"}}])
    assert error_of(message).startswith("design set: designs[0].spec: name: 70 characters is too long")


# ---- the measurement quota -----------------------------------------------------------------------------
def test_a_design_too_slow_for_its_budget_is_refused_before_it_runs(http, events):
    """A resnet152 layout at 1408x1408 (within every size limit) ran 38 s on a 1 s budget; resnet50's (the
    largest layout this app's limits allow) at that size is refused before it runs."""
    session = uuid.uuid4().hex
    huge = form(name="r50-1408", block="bottleneck", depths="3, 4, 6, 3", input_height=1408, input_width=1408)
    added = queue(http, events["on_add"], [None, *huge], session)
    assert added["success"], added
    ticked = queue(http, events["keep_ticked"], [None, DEFAULT_DESIGNS, None], session)  # as the page does
    assert ticked["success"], ticked
    slow = queue(http, events["measure"], [None, ["resnet18", "r50-1408"], [1], "fp32", False, "eager", 1], session)
    assert error_of(slow).startswith("budget_s: too long for this budget: one call of r50-1408 needs ~")
    assert slow["output"]["title"] == "Measurement refused"


def test_a_quota_refusal_says_so_in_its_title(http, events):
    """The slider offers at most what the quota lets the ticked designs take at one batch size; at three the
    reserved worst case (calls of the largest batch past the budget) is over the quota."""
    budget = next(c for c in http.get("/config").json()["components"]
                  if c.get("props", {}).get("elem_id") == "latency-budget")["props"]["maximum"]
    over = queue(http, events["measure"], [None, DEFAULT_DESIGNS, [1, 16, 64, 128], "fp32", False, "eager", budget])
    assert error_of(over).startswith("budget_s: this measurement may take up to ")
    assert over["output"]["title"] == "Measurement quota reached"


def test_a_burst_of_measurements_gets_no_more_than_the_cap(http, events):
    """Four scripts, four sessions, at once: only one may run; the others are told when to retry."""
    results: list[dict[str, Any]] = []

    def one() -> None:
        results.append(queue(http, events["measure"], [None, DEFAULT_DESIGNS, [1], "fp32", False, "eager", 1]))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = [r for r in results if r["success"]]
    refused = [error_of(r) for r in results if not r["success"]]
    assert len(done) == 1 and len(refused) == 3, refused
    assert all(f"capped at {QUOTA_S:.0f} s per 60 s" in text and "try again in" in text for text in refused)


MALFORMED = [
    ("GET", "/gradio_api/queue/data?session_hash=neverjoined1", None, 404),
    ("POST", "/gradio_api/queue/join", '{"data": [], "fn_index": 99, "session_hash": "s1", "trigger_id": 1}', 404),
    ("POST", "/gradio_api/queue/join", '{"data": [], "fn_index": -1, "session_hash": "s1", "trigger_id": 1}', 404),
    ("POST", "/gradio_api/queue/join", '{"data": [], "fn_index": 0, "session_hash": "s1", "trigger_id": NaN}', 400),
    ("POST", "/gradio_api/queue/join", '{"data": [1e999], "fn_index": 0, "session_hash": "s1"}', 400),
    ("POST", "/gradio_api/call/analyse", '{"data": [Infinity]}', 400),
]


def test_malformed_gradio_requests_get_a_clean_4xx_and_one_log_line(app, http):
    before = app.log()
    for method, path, body, status in MALFORMED * 20:
        response = http.request(method, path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status and response.json()["detail"], (path, body, response.text)
    written = app.log()[len(before):]
    assert "Traceback" not in written and "Exception in ASGI" not in written
    assert written.count("refused request (") == len(MALFORMED) * 20


@pytest.mark.parametrize("n", [2.5, True, "4"])
def test_explore_n_must_be_a_whole_number(http, n):
    kind, message = call(http, "explore", "cifar-resnet-depth", n, 0, "", "")
    assert kind == "error" and message.startswith("n: ") and "expected a whole number from 1 to 2,000" in message


def test_an_upload_error_names_the_file_never_the_servers_path(http, events, tmp_path):
    latin = tmp_path / "l1.json"
    latin.write_bytes(b'{"designs": [{"spec": {"name": "caf\xe9"}}]}')
    with latin.open("rb") as handle:
        path = http.post("/gradio_api/upload", files={"files": ("l1.json", handle, "application/json")}).json()[0]
    message = error_of(queue(http, events["on_upload"], [None, {"path": path, "orig_name": "l1.json",
                                                                "meta": {"_type": "gradio.FileData"}}]))
    byte = latin.read_bytes().index(b"\xe9")
    assert message == f"file: l1.json is not UTF-8 text (byte {byte})" and str(Path(path).parent) not in message


# ---- logs, temporary files and memory after many hostile requests --------------------------------------
def test_hostile_requests_leave_no_traceback_bounded_files_and_bounded_memory(app, http):
    """Memory stays bounded: the first 500 hostile requests fill the bounded caches (plans and reports, ~30 MB
    each, the sessions' state), and 500 more then add almost nothing."""
    for _ in range(5):
        call(http, "compare", json.dumps(["resnet18"]))
    grown = []
    for round_ in range(2):
        warm = rss_mb(app)
        for i in range(500):
            endpoint, payload, _ = HOSTILE[i % len(HOSTILE)]
            if i % 10 == 0:  # distinct at-limit designs that differ by name only
                endpoint, payload = "compare", json.dumps([{"name": f"n{round_}-{i}-" + "x" * 50,
                                                            "depths": [3, 4, 6, 3]}] * 16)
            call(http, endpoint, payload, *TRAILING.get(endpoint, ()))
        grown.append(rss_mb(app) - warm)
    assert grown[0] < 150 and grown[1] < 20, f"RSS grew by {grown[0]:.0f} MB, then {grown[1]:.0f} MB"
    log = app.log()
    assert "Traceback" not in log
    assert log.count("refused api_") >= 450  # one line per refused request
    exports = [d for root in app.temp.glob("arch_lab_exports_*") for d in root.iterdir()]
    assert 0 < len(exports) <= 16
