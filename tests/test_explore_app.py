"""The Explore tab's library layer and the public ``/explore`` endpoint, against the real ``python app.py``.

Expected numbers come from the library called directly (``explore`` and ``analyse`` of each row's spec);
expected error texts from the spec engine or the stated caps. The endpoint must pass both through.
"""

from __future__ import annotations

import functools
import json

import httpx
import pandas as pd
import pytest
from gradio_client.exceptions import AppError
from test_abuse_app import call  # the public endpoint over raw HTTP, as a script calls it

from arch_lab import ResNetSpec, SpecError, analyse
from arch_lab.explore import explore
from arch_lab.explore.space import SPEC_FIELDS, Space
from arch_lab.ui import explore_panel
from arch_lab.ui.state import MAX_DESIGNS, DesignSet, default_designs

pytest_plugins = ("app_fixtures",)  # app_server, client
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OBJECTIVES = "min:params\nmax:macs"


def spec_of(row: dict) -> ResNetSpec:
    """A row of the flat table (per-stage lists as JSON text) -> its spec."""
    record = {}
    for name in SPEC_FIELDS:
        value = row[name]
        record[name] = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
    return ResNetSpec.from_dict(record)


# --- the panel's library layer, no server ----------------------------------------------------------------
@pytest.mark.parametrize(("space", "n", "constraints"), [
    ("resnet50-neighbourhood", 2000, "3.6e9<=macs<=5e9"),  # issue 17: 20,747 tries made, 10,000 reported
    ("cifar-resnet-depth", 300, ""),  # 200 distinct designs only: the whole budget is spent
    ("anynetx-400mf", 100, ""),  # a narrow regime: most tries fail the constraint
])
def test_the_run_behind_the_progress_bar_is_one_explore_call(space, n, constraints, monkeypatch):
    draws: list[int] = []
    original = Space.draw
    monkeypatch.setattr(Space, "draw", lambda self, rng: draws.append(1) or original(self, rng))
    # a frozen clock: the app's time limit (tested in test_explore_bounds) must not cut a run on a busy machine
    monkeypatch.setattr(explore_panel, "explore", functools.partial(explore, clock=lambda: 0.0))
    seen: list[tuple[int, int]] = []
    result = explore_panel.run_bounded(explore_panel.space_text(space), n, 3, constraints, OBJECTIVES,
                                       report=lambda found, wanted: seen.append((found, wanted)))
    assert len(draws) == result.tries <= explore_panel.MAX_TRIES  # every try made is a try reported
    direct = explore(space, n, seed=3, constraints=[constraints] if constraints else [],
                     objectives=OBJECTIVES.splitlines(), max_tries=explore_panel.MAX_TRIES)
    pd.testing.assert_frame_equal(result.table, direct.table)
    assert (result.tries, result.rejected, result.requested, result.complete) == (
        direct.tries, direct.rejected, direct.requested, direct.complete)
    assert seen[-1] == (direct.accepted, n)


def test_a_run_stopped_by_the_time_limit_says_so(monkeypatch):
    monkeypatch.setattr(explore_panel, "TIME_LIMIT_S", 1e-9)
    result = explore_panel.run_bounded("resnet50-neighbourhood", 100)
    assert result.stop == "time" and not result.complete
    assert "stopped early: the time limit of 1e-09 s was reached" in explore_panel.summary_line(result)


def test_a_space_name_is_a_built_in_never_a_path():
    assert explore_panel.read_space("cifar-resnet-depth").name == "cifar-resnet-depth"
    for text in ("/etc/passwd", "presets/resnet18.json", "../x.json"):
        with pytest.raises(SpecError, match="malformed JSON"):
            explore_panel.read_space(text)


def test_adding_designs_looks_them_up_in_the_last_run_and_respects_the_cap():
    result = explore_panel.run_bounded("cifar-resnet-depth", 20, 0, "", OBJECTIVES)
    names = list(explore_panel.flat_table(result)["name"])
    assert list(result.table.loc[result.table["pareto"], "name"]) == names[:int(result.table["pareto"].sum())]
    added = explore_panel.add_designs(default_designs(), result, names[:2])
    assert added.names[2:] == tuple(names[:2])
    for name in names[:2]:
        row = result.table[result.table["name"] == name].iloc[0]
        assert analyse(added.get(name)).params == row["params"]
    with pytest.raises(SpecError, match="not a design of the last exploration"):
        explore_panel.add_designs(default_designs(), result, ["resnet18-evil"])
    with pytest.raises(SpecError, match=f"at most {MAX_DESIGNS}"):
        explore_panel.add_designs(DesignSet(), result, names[:MAX_DESIGNS + 1])
    with pytest.raises(SpecError, match="run an exploration first"):
        explore_panel.add_designs(DesignSet(), None, names[:1])


def test_the_edf_overlays_the_previous_run_kept_with_its_metrics_only():
    first = explore_panel.run_bounded("cifar-resnet-depth", 30, 0, "", OBJECTIVES)
    second = explore_panel.run_bounded("cifar-resnet-depth", 30, 1, "", OBJECTIVES)
    previous = explore_panel.metrics_only(first)
    assert "depths" not in previous.table.columns
    figure = explore_panel.edf_figure({"current": second, "previous": previous}, "params")
    assert [trace.name for trace in figure.data] == ["this run: cifar-resnet-depth (seed 1) (n=30)",
                                                     "previous run of this space (seed 0) (n=30)"]
    assert sorted(figure.data[1].x) == pytest.approx(sorted(first.table["params"] / 1e6))  # in M, as the axis says


# --- /explore over HTTP with gradio_client --------------------------------------------------------------
def test_explore_rows_equal_analyse_of_their_specs_and_meet_the_constraints(client):
    table, csv_path = client.predict("resnet50-neighbourhood", 40, 0, "3e9<=macs<=5e9\nparams<=40e6", OBJECTIVES,
                                     api_name="/explore")
    rows = [dict(zip(table["headers"], row, strict=True)) for row in table["data"]]
    direct = explore("resnet50-neighbourhood", 40, seed=0, constraints=["3e9<=macs<=5e9", "params<=40e6"],
                     objectives=OBJECTIVES.splitlines(), max_tries=explore_panel.MAX_TRIES)
    assert sorted(row["name"] for row in rows) == sorted(direct.table["name"])
    for row in rows:
        report = analyse(spec_of(row))
        assert (int(row["params"]), int(row["macs"])) == (report.params, report.macs), row["name"]
        assert 3e9 <= report.macs <= 5e9 and report.params <= 40e6
    assert [row["pareto"] for row in rows] == sorted((row["pareto"] for row in rows), reverse=True)
    csv = pd.read_csv(csv_path)
    assert sorted(csv["name"]) == sorted(row["name"] for row in rows)
    assert int(csv["pareto"].sum()) == sum(bool(row["pareto"]) for row in rows) == int(direct.table["pareto"].sum())


def test_explore_takes_a_space_as_json(client):
    space = {"name": "tiny", "base": "resnet20", "fields": {"depths": {"range": [1, 4]}}}
    table, _ = client.predict(json.dumps(space), 4, 0, "", "min:params", api_name="/explore")
    assert sorted(row[0] for row in table["data"]) == [f"tiny-{i}" for i in range(4)]


@pytest.mark.parametrize(("args", "expected"), [
    (("cifar-resnet-depth", explore_panel.MAX_N + 1, 0, "", ""), f"{explore_panel.MAX_N}"),
    (('{"name": "x", "fields": ', 10, 0, "", ""), "space: malformed JSON"),
    (("[" * 5000 + "]" * 5000, 10, 0, "", ""), "space: JSON nested too deeply"),
    (('{"name": "x", "fields": {"depths": {"range": [1, 4]}}, "evil": 1}', 10, 0, "", ""), "space.evil: unknown key"),
    (("cifar-resnet-depth", 10, 0, "macs<=", ""), "constraints[0]"),
    (("cifar-resnet-depth", 10, 0, "", "min:accuracy"), "objectives[0]"),
])
def test_explore_refuses_bad_input_with_a_clear_message(client, args, expected):
    with pytest.raises(AppError) as info:
        client.predict(*args, api_name="/explore")
    assert expected in str(info.value)


def test_explore_refuses_a_space_text_over_the_editor_limit(app_server):
    # the body cap (512 KB) lets this through; the handler's character bound refuses it
    space = json.dumps({"name": "x", "description": "a" * explore_panel.MAX_SPACE_CHARS})
    with httpx.Client(base_url=app_server.url.rstrip("/"), timeout=60) as http:
        kind, message = call(http, "explore", space, 10, 0, "", "")
    assert kind == "error" and f"at most {explore_panel.MAX_SPACE_CHARS:,}" in message


def test_the_explore_tab_events_are_not_callable_by_name(app_server):
    with httpx.Client(base_url=app_server.url.rstrip("/"), timeout=60) as http:
        names = {d["api_name"] for d in http.get("/config").json()["dependencies"]}
        assert {"on_run", "on_add", "on_space", "on_scatter", "on_edf"} <= names
        for name in ("on_run", "on_add", "on_space"):
            for route in ("call", "call/v2", "run", "api"):
                response = http.post(f"/gradio_api/{route}/{name}", json={"data": []})
                assert response.status_code == 404, (route, name, response.text)
        assert call(http, "explore", "cifar-resnet-depth", 3, 0, "", "")[0] == "complete"


