"""The app's public API, driven with gradio_client against the real ``python app.py``; and its safety settings.

Expected numbers come from the library called directly (``analyse``/``compare``), expected error texts
from the spec engine raising on the same input; the API must pass both through unchanged.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request

import pandas as pd
import pytest
from gradio_client.exceptions import AppError

from arch_lab import LimitError, ResNetSpec, SpecError, analyse, compare, load_preset
from arch_lab.ui import api
from arch_lab.ui.state import MAX_DESIGNS

pytest_plugins = ("app_fixtures",)  # app_server, client
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CUSTOM = {"name": "r18-deeper", "block": "basic", "depths": [3, 4, 6, 3], "input_size": 128}


def spec_error(make) -> str:
    """The library's own message for a bad input."""
    with pytest.raises(SpecError) as info:
        make()
    return str(info.value)


def assert_table_equals(headers: list[str], rows: list[list], expected: pd.DataFrame) -> None:
    assert headers == list(expected.columns)
    assert len(rows) == len(expected)
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        for header, got in zip(headers, row, strict=True):
            value = want[header]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(got) == pytest.approx(float(value), rel=1e-12), header
            elif isinstance(value, (list, tuple)):
                assert str(got).replace(" ", "") in (str(list(value)).replace(" ", ""), ",".join(map(str, value)),
                                                     str(tuple(value)).replace(" ", "")), header
            else:
                assert str(got) == str(value), header


# --- over HTTP with gradio_client ----------------------------------------------------------------
def test_only_compare_and_analyse_are_public(client):
    info = client.view_api(return_format="dict", print_info=False)
    assert set(info["named_endpoints"]) == {"/compare", "/analyse", "/explore"}
    assert not info["unnamed_endpoints"]


def test_compare_presets_equals_the_library_and_the_csv_rereads(client):
    table, csv_path = client.predict(json.dumps(["resnet18", "resnet50"]), api_name="/compare")
    expected = compare([analyse(load_preset("resnet18")), analyse(load_preset("resnet50"))])
    assert_table_equals(table["headers"], table["data"], expected)
    csv = pd.read_csv(csv_path)
    assert list(csv["name"]) == ["resnet18", "resnet50"]
    for column in ("params", "macs", "flops", "train_step_fp32_mb", "train_step_mixed_mb", "params_vs_baseline"):
        assert list(csv[column]) == pytest.approx(list(expected[column]), rel=1e-12)
    assert csv.loc[1, "params"] == 25_557_032  # torchvision's resnet50


def test_compare_custom_spec_objects(client):
    table, _ = client.predict(json.dumps([CUSTOM, "resnet18", {"depths": [1, 1]}]), api_name="/compare")
    specs = [ResNetSpec.from_dict(CUSTOM), load_preset("resnet18"), ResNetSpec(depths=(1, 1))]
    expected = compare([analyse(s) for s in specs])
    assert_table_equals(table["headers"], table["data"], expected)


def test_analyse_preset_and_custom_spec_equal_the_library(client):
    for item, spec in (("resnet50", load_preset("resnet50")), (json.dumps(CUSTOM), ResNetSpec.from_dict(CUSTOM))):
        report = client.predict(item, api_name="/analyse")
        expected = json.loads(json.dumps(analyse(spec).to_dict()))
        assert report == expected
        assert report["params"] == analyse(spec).params


@pytest.mark.parametrize("payload, expected", [
    (json.dumps(["resnet18", {"depths": [2, 0]}]),
     lambda: "designs[1]: " + spec_error(lambda: ResNetSpec.from_dict({"depths": [2, 0]}))),
    (json.dumps(["resnet18", "resnet99"]), lambda: "designs[1]: " + spec_error(lambda: load_preset("resnet99"))),
    ('["resnet18", ', lambda: "designs: malformed JSON"),
    ('{"depths": [2]}', lambda: "designs: expected a non-empty JSON list"),
    (json.dumps(["resnet18"] * (MAX_DESIGNS + 1)), lambda: f"at most {MAX_DESIGNS} per request"),
])
def test_compare_bad_input_returns_the_spec_error_text(client, payload, expected):
    with pytest.raises(AppError) as info:
        client.predict(payload, api_name="/compare")
    assert expected() in str(info.value)


def test_analyse_bad_input_and_limits(client):
    with pytest.raises(AppError) as info:
        client.predict(json.dumps({"block": "bottle"}), api_name="/analyse")
    assert spec_error(lambda: ResNetSpec.from_dict({"block": "bottle"})) in str(info.value)
    huge = {"block": "bottleneck", "depths": [3, 4, 6, 3], "input_size": 8192}
    with pytest.raises(AppError) as info:
        client.predict(json.dumps(huge), api_name="/analyse")
    assert "max_activations" in str(info.value) or "max_macs" in str(info.value)


@pytest.mark.parametrize("batch", [256, 1024, 4096])
def test_analyse_answers_resnet50_at_any_batch_size(client, batch):
    report = client.predict("resnet50", batch, api_name="/analyse")
    expected = analyse(load_preset("resnet50"), batch_size=batch)
    assert (report["batch_size"], report["macs"]) == (batch, batch * analyse(load_preset("resnet50")).macs)
    for key in ("train_step_fp32_mb", "train_step_mixed_mb", "weights_int8_mb", "activations_mb"):
        assert report[key] == pytest.approx(getattr(expected, key), rel=1e-12)


def test_analyse_refuses_a_batch_that_is_not_a_whole_number_in_range(client):
    for batch in (0, 4097, 2.5):
        with pytest.raises(AppError, match="batch_size"):
            client.predict("resnet50", batch, api_name="/analyse")


def test_a_string_is_a_preset_name_never_a_path(client):
    for item in ("presets/resnet18.json", "/etc/passwd", "../presets/resnet18.json"):
        with pytest.raises(AppError, match="unknown preset"):
            client.predict(json.dumps([item]), api_name="/compare")


# --- launch settings ------------------------------------------------------------------------------
def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_binds_loopback_and_keeps_monitoring_and_files_closed(app_server):
    assert f"http://127.0.0.1:{app_server.port}" in app_server.log()
    assert _status(app_server.url + "monitoring") >= 400
    assert _status(app_server.url + "monitoring/summary") >= 400
    assert _status(app_server.url + "gradio_api/file=/etc/passwd") == 403


def test_uploads_over_the_size_limit_are_refused(app_server):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.json\"\r\n"
            f"Content-Type: application/json\r\n\r\n").encode() + b"[" + b" " * 2_000_000 + b"]" + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(app_server.url + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert _status_of(request) == 413


def _status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# --- the same functions without a server -----------------------------------------------------------
def test_parse_designs_makes_names_unique_and_checks_limits():
    specs = api.parse_designs(json.dumps(["resnet18", "resnet18", {"depths": [1, 1, 1]}]))
    assert [s.name for s in specs] == ["resnet18", "resnet18-2", "custom"]
    with pytest.raises(LimitError):
        api.parse_designs(json.dumps([{"depths": [600, 600]}]))


def test_compare_designs_writes_a_fresh_csv_each_time():
    df, first = api.compare_designs('["resnet20", "resnet56"]')
    _, second = api.compare_designs('["resnet20", "resnet56"]')
    assert first != second
    assert first.endswith("comparison.csv") and second.endswith("comparison.csv")
    reread = pd.read_csv(first)
    assert list(reread["params"]) == list(df["params"])
    assert not any(math.isnan(v) for v in reread["macs"])


def test_analyse_accepts_a_bare_or_quoted_preset_name():
    assert api.analyse_design("resnet20") == api.analyse_design('"resnet20"')
    assert api.analyse_design(" resnet20 ")["params"] == analyse(load_preset("resnet20")).params


def test_latency_waits_in_its_own_short_queue_and_internal_events_are_private():
    from arch_lab.ui import build_app
    from arch_lab.ui.latency_panel import QUOTA

    demo = build_app()
    functions = {fn.name: fn for fn in demo.fns.values()}
    # one running and QUOTA.max_waiting waiting, plus one being refused: gradio's shared queue holds none
    assert functions["measure"].concurrency_limit == QUOTA.max_waiting + 2
    public = sorted(fn.api_name for fn in demo.fns.values() if fn.api_visibility != "private")
    assert public == sorted(api.PUBLIC_ENDPOINTS)
    assert demo._queue.max_size is not None


def test_every_event_that_takes_inputs_is_guarded():
    """Any script can send any event through the queue, so each one that reads inputs must be wrapped by
    ``guard.handler`` (clear message for bad input, one log entry for a bug)."""
    from arch_lab.ui import build_app

    demo = build_app()
    unguarded = [fn.name for fn in demo.fns.values() if fn.inputs and not getattr(fn.fn, "guarded", False)]
    assert unguarded == []
