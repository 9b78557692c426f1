"""Explore tab: sample a design space, see the Pareto front and the spread, add designs to the comparison.

A thin layer over :func:`arch_lab.explore.explore`. What the app adds is the bounds a public Space needs
(:data:`MAX_N` designs, :data:`MAX_TRIES` tries and :data:`TIME_LIMIT_S` seconds of sampling per run,
:data:`MAX_SPACE_CHARS` characters of space JSON, one run at a time in the whole app through the
``explore`` concurrency group, shared with the public ``/explore`` endpoint) and a progress bar, fed by
``explore``'s own progress callback: one run makes at most :data:`MAX_TRIES` tries, whatever it shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from arch_lab.display import metric_unit
from arch_lab.errors import SpecError
from arch_lab.explore import BUILTIN_SPACES, METRIC_COLUMNS, ExploreResult, explore, list_spaces, parse_space
from arch_lab.explore.result import flat_lists
from arch_lab.explore.space import SPEC_FIELDS, Space
from arch_lab.reference import TORCHVISION_PRESETS
from arch_lab.spec import ResNetSpec, parse_json
from arch_lab.ui.exports import fresh_file
from arch_lab.ui.guard import handler
from arch_lab.ui.state import MAX_DESIGNS, DesignSet, checked_int
from arch_lab.ui.views import escape_markdown, explored_view

MAX_N = 2_000
"""Most designs one run may ask for (a table of 2,000 rows is still quick to send and to sort)."""
MAX_TRIES = 10_000
"""Tries per run: a try costs 0.03-0.5 ms on a 2-core Space, so most runs end in well under a second."""
TIME_LIMIT_S = 5.0
"""Sampling time per run: draws of very deep designs cost up to a few ms each, and a space whose draws are
all refused must still answer within seconds (the table, charts and CSV take at most ~1 s more)."""
MAX_SPACE_CHARS = 100_000
"""Longest space JSON parsed (the library's limit for space files; a real space is a few dozen lines)."""
MAX_CRITERIA_CHARS = 2_000
"""Longest constraints or objectives text (16 lines of a criterion each, at most)."""
MAX_SEED = 2**31 - 1
METHODS = ("random", "grid")
"""The methods offered here (optuna needs a Python objective callable)."""
DEFAULT_SPACE = "resnet50-neighbourhood"
DEFAULT_OBJECTIVES = "min:params\nmax:macs"
METRICS = list(METRIC_COLUMNS)
METRIC_CHOICES = [(metric_unit(m)[0], m) for m in METRICS]
"""The plots' metrics by the names the axes and the table give them (MACs (G), params (M), …)."""
LEADING = ["name", "pareto", "params", "macs", "flops", "activations_mb", "num_stages", "num_blocks"]
"""Columns the table shows first; the spec fields and the other metrics follow."""
CONCURRENCY = {"concurrency_limit": 1, "concurrency_id": "explore"}
"""One exploration at a time in the whole app, from the page or from ``/explore``: each holds a CPU core."""
PRIVATE = {"api_visibility": "private"}
QUIET = {"api_visibility": "private", "show_progress": "hidden"}
CAPS = (f"A run asks for at most {MAX_N:,} designs and stops after {MAX_TRIES:,} tries or {TIME_LIMIT_S:g} s of "
        f"sampling, whichever comes first (it says so); the space JSON may hold {MAX_SPACE_CHARS:,} characters; one "
        "exploration runs at a time (others wait).")
INTRO = f"""\
Sample a design space, keep the designs that meet your constraints, and see which are on the Pareto front
of your objectives. Pick a built-in space (its JSON fills the editor; change it freely), set the constraints
(one per line, e.g. `3e9<=macs<=5e9`) and objectives (one per line, `min:params`, `max:macs`), then run.
Counts are the same as the Design tab's (batch of 1). {CAPS}
"""
EMPTY_LINE = "Run an exploration to see its designs."
EMPTY_TABLE = explored_view(pd.DataFrame(columns=[*LEADING, *(f for f in SPEC_FIELDS if f != "name"), "activations"]))
"""Before a run: the table's own headers (an empty Dataframe would show ``1 | 2 | 3``)."""


def space_text(name: str) -> str:
    """A built-in space as the JSON text the editor shows (what a user would write in a file)."""
    return json.dumps(BUILTIN_SPACES[name], indent=1)


def space_note(name: str) -> str:
    data = BUILTIN_SPACES[name]
    return f"**{escape_markdown(name)}**: {escape_markdown(data['description'])}  \n*Source:* " \
           f"{escape_markdown(data['source'])}"


def read_space(text: Any) -> Space:
    """A built-in space by its bare name, or a space as JSON text; never a file path (unlike ``load_space``).

    The length bound comes first, whatever the text looks like."""
    if not isinstance(text, str):
        raise SpecError("space", f"expected a space name or JSON text, got {type(text).__name__}")
    if len(text) > MAX_SPACE_CHARS:
        raise SpecError("space", f"{len(text):,} characters is too long; at most {MAX_SPACE_CHARS:,}")
    if text.strip() in BUILTIN_SPACES:
        return parse_space(BUILTIN_SPACES[text.strip()])
    return parse_space(parse_json(text, "space", max_chars=MAX_SPACE_CHARS), "space")


def lines_of(text: Any, field: str) -> list[str]:
    """Criteria typed one per line (blank lines skipped); the library checks each line."""
    if text is None:
        return []
    if not isinstance(text, str) or len(text) > MAX_CRITERIA_CHARS:
        raise SpecError(field, f"expected text of at most {MAX_CRITERIA_CHARS:,} characters, one criterion a line")
    return [line.strip() for line in text.splitlines() if line.strip()]


def run_bounded(space_json: Any, n: Any, seed: Any = 0, constraints: Any = "", objectives: Any = "",
                method: Any = "random", report: Callable[[int, int], None] | None = None) -> ExploreResult:
    """``explore()`` within the app's caps; ``report(found, n)`` shows its progress as it runs."""
    space = read_space(space_json)
    n = checked_int("n", n, 1, MAX_N)
    seed = checked_int("seed", seed, 0, MAX_SEED)
    if method not in METHODS:
        raise SpecError("method", f"choose one of {', '.join(METHODS)}")
    progress = None if report is None else lambda found, _tries: report(found, n)
    return explore(space, n, seed=seed, constraints=lines_of(constraints, "constraints"),
                   objectives=lines_of(objectives, "objectives"), method=method, max_tries=MAX_TRIES,
                   time_limit_s=TIME_LIMIT_S, on_progress=progress)


def metrics_only(result: ExploreResult | None) -> ExploreResult | None:
    """A run kept only for the EDF overlay: its metric columns (about a tenth of the table's memory, which
    is mostly the per-stage lists), since every session holds it."""
    if result is None:
        return None
    return replace(result, table=result.table[["name", "pareto", *METRICS]])


def summary_line(result: ExploreResult) -> str:
    """What the run found, in one line, with why it stopped short if it did."""
    front = int(result.table["pareto"].sum())
    line = (f"**{result.accepted:,}** designs accepted of {result.requested:,} requested, from {result.tries:,} "
            f"tries (acceptance {result.acceptance_rate:.1%}); **{front:,}** on the Pareto front of "
            f"{', '.join(result.objectives) or '— (no objectives)'}.")
    if sum(result.rejected.values()):
        line += f" Rejected tries: {result.rejections()}."
    if not result.complete:
        line += f" Fewer designs than asked: {result.stopped_early()}; widen the space or loosen the constraints."
    return line


def flat_table(result: ExploreResult) -> pd.DataFrame:
    """The designs, Pareto ones first, with per-stage lists as JSON text (what a table cell and CSV hold)."""
    table = result.table
    order = [*LEADING, *[c for c in table.columns if c not in LEADING]]
    return flat_lists(table[order].sort_values("pareto", ascending=False, kind="stable").reset_index(drop=True))


def pick_choices(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The "add to comparison" choices: each design's name, marked ★ when it is on the Pareto front."""
    return [(f"★ {name} (Pareto)" if pareto else name, name) for name, pareto in zip(table["name"], table["pareto"],
                                                                                     strict=True)]


def write_csv(result: ExploreResult) -> str:
    path = fresh_file("explore.csv")  # a fixed name in a fresh directory: never built from user text
    result.to_csv(path)
    return str(path)


def _metric(value: Any, field: str) -> str:
    if value not in METRICS:
        raise SpecError(field, f"choose one of {', '.join(METRICS)}")
    return value


def scatter_figure(result: ExploreResult, x: Any, y: Any, known: bool) -> go.Figure:
    from arch_lab.explore.plots import scatter

    return scatter(result, _metric(x, "x"), _metric(y, "y"), known=TORCHVISION_PRESETS if known else ())


def edf_figure(runs: dict[str, ExploreResult | None], metric: Any) -> go.Figure:
    """The EDF of ``metric`` for this run, over the session's previous run when it explored the same space
    (another seed, other constraints); a run of another space would only stretch the axis."""
    from arch_lab.explore.plots import edf

    current, previous = runs["current"], runs.get("previous")
    curves = {f"this run: {current.space} (seed {current.seed})": current}
    if previous is not None and len(previous.table) and previous.space == current.space:
        curves[f"previous run of this space (seed {previous.seed})"] = previous
    return edf(curves, _metric(metric, "EDF metric"))


def empty_figure(text: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=text, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(xaxis_visible=False, yaxis_visible=False, height=300)
    return figure


def build(designs: gr.State) -> None:
    """Lay out the Explore tab and wire its events (all private; ``/explore`` is in :mod:`arch_lab.ui.api`)."""
    runs = gr.State({"current": None, "previous": None})
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=320):
            space_pick = gr.Dropdown(label="Built-in space", choices=list_spaces(), value=DEFAULT_SPACE,
                                     info="fills the editor below; the run uses the editor's JSON")
            note = gr.Markdown(space_note(DEFAULT_SPACE), elem_classes=["hint"])
            with gr.Accordion("Space (JSON): edit to explore your own", open=False):
                editor = gr.Code(label="space (JSON)", language="json", lines=14, value=space_text(DEFAULT_SPACE),
                                 elem_id="space-json")
            with gr.Row():
                n = gr.Number(label="designs (N)", value=300, precision=0, minimum=1, maximum=MAX_N,
                              min_width=120, info=f"at most {MAX_N:,}")
                seed = gr.Number(label="seed", value=0, precision=0, minimum=0, maximum=MAX_SEED, min_width=120,
                                 info="same seed, same designs")
            method = gr.Radio(label="method", choices=list(METHODS), value="random")
            constraints = gr.Textbox(label="constraints (one per line)", lines=2, max_length=MAX_CRITERIA_CHARS,
                                     placeholder="3e9<=macs<=5e9\nparams<30e6")
            objectives = gr.Textbox(label="objectives (one per line)", lines=2, value=DEFAULT_OBJECTIVES,
                                    max_length=MAX_CRITERIA_CHARS,
                                    info="min:METRIC or max:METRIC; sets the Pareto front")
            run = gr.Button("Run exploration", variant="primary")
        with gr.Column(scale=2):
            summary = gr.Markdown(EMPTY_LINE, elem_id="explore-summary")
            with gr.Row():
                x = gr.Dropdown(label="x", choices=METRIC_CHOICES, value="macs", min_width=120)
                y = gr.Dropdown(label="y", choices=METRIC_CHOICES, value="params", min_width=120)
                known = gr.Checkbox(label="show published torchvision models", value=True, elem_id="explore-known",
                                    info="labelled with their ImageNet acc@1")
            plot = gr.Plot(value=empty_figure(EMPTY_LINE), label="Designs and Pareto front", elem_id="explore-scatter")
            edf_metric = gr.Dropdown(label="EDF of", choices=METRIC_CHOICES, value="params", min_width=120,
                                     info="fraction of designs with a value ≤ x; over the previous run when it "
                                          "explored the same space")
            edf_plot = gr.Plot(value=empty_figure(EMPTY_LINE), label="EDF", elem_id="explore-edf")
    table = gr.Dataframe(value=EMPTY_TABLE, label="Explored designs", interactive=False, wrap=False, max_height=420,
                         show_search="search", pinned_columns=1, elem_id="explore-table")
    with gr.Row(equal_height=False):
        csv = gr.File(label="explore.csv", interactive=False, height=60, min_width=200)
        chosen = gr.Dropdown(label="Designs to add to the comparison", choices=[], value=[], multiselect=True,
                             max_choices=MAX_DESIGNS, info="★ = on the Pareto front (listed first)", min_width=300)
        add = gr.Button("Add selected to comparison", scale=0, min_width=200)

    space_pick.input(on_space, space_pick, [editor, note], **QUIET)
    run.click(on_run, [editor, n, seed, method, constraints, objectives, x, y, known, edf_metric, runs],
              [summary, plot, edf_plot, table, csv, chosen, runs], **PRIVATE, **CONCURRENCY)
    gr.on([x.input, y.input, known.input], on_scatter, [runs, x, y, known], plot, **QUIET)
    edf_metric.input(on_edf, [runs, edf_metric], edf_plot, **QUIET)
    add.click(on_add, [designs, runs, chosen], [designs, chosen], **PRIVATE)


@handler
def on_space(name: Any) -> tuple[str, str]:
    if name not in BUILTIN_SPACES:
        raise SpecError("space", f"choose one of {', '.join(list_spaces())}")
    return space_text(name), space_note(name)


@handler(title="Not a valid exploration")
def on_run(space_json: Any, n: Any, seed: Any, method: Any, constraints: Any, objectives: Any, x: Any, y: Any,
           known: Any, edf_metric: Any, runs: dict[str, Any],
           progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:  # noqa: B008  (gradio's idiom)
    """Explore, then draw everything from the result; the previous run is kept for the EDF overlay."""
    progress((0, 1), desc="Exploring")
    result = run_bounded(space_json, n, seed, constraints, objectives, method,
                         report=lambda found, wanted: progress((found, wanted), desc="Designs found"))
    new_runs = {"current": result, "previous": metrics_only(runs.get("current"))}
    table = flat_table(result)  # its names, Pareto first, are the "add to comparison" choices
    if not len(table):
        empty = empty_figure("No design passed; widen the space or loosen the constraints")
        return summary_line(result), empty, empty, explored_view(table), write_csv(result), \
            gr.Dropdown(choices=[], value=[]), new_runs
    return (summary_line(result), scatter_figure(result, x, y, bool(known)), edf_figure(new_runs, edf_metric),
            explored_view(table), write_csv(result), gr.Dropdown(choices=pick_choices(table), value=[]), new_runs)


@handler
def on_scatter(runs: dict[str, Any], x: Any, y: Any, known: Any) -> go.Figure:
    result = runs.get("current")
    if result is None or not len(result.table):
        return empty_figure(EMPTY_LINE)
    return scatter_figure(result, x, y, bool(known))


@handler
def on_edf(runs: dict[str, Any], metric: Any) -> go.Figure:
    result = runs.get("current")
    if result is None or not len(result.table):
        return empty_figure(EMPTY_LINE)
    return edf_figure(runs, metric)


@handler
def on_add(ds: DesignSet, runs: dict[str, Any], names: Any) -> tuple[DesignSet, Any]:
    """Add the picked designs (looked up in this session's last run, never taken from the page) in order."""
    new = add_designs(ds, runs.get("current"), names)
    added = len(new) - len(ds)
    gr.Info(f"Added {added} design{'s' if added != 1 else ''} to the comparison; see the Design and Compare tabs.")
    return new, gr.Dropdown(value=[])


def add_designs(ds: DesignSet, result: ExploreResult | None, names: Any) -> DesignSet:
    """``ds`` with the named designs of ``result`` appended; refused whole if one is unknown or the set
    would exceed :data:`MAX_DESIGNS`."""
    if result is None:
        raise SpecError("designs", "run an exploration first")
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Sequence) or not names:
        raise SpecError("designs", "pick one or more designs from the list first")
    if len(ds) + len(names) > MAX_DESIGNS:
        raise SpecError("designs", f"the comparison holds {len(ds)} designs and at most {MAX_DESIGNS}; pick at "
                                   f"most {max(MAX_DESIGNS - len(ds), 0)} or remove some first")
    records = {record["name"]: record for record in result.table[list(SPEC_FIELDS)].to_dict("records")}
    for name in names:
        if not isinstance(name, str) or name not in records:
            raise SpecError("designs", f"{str(name)[:60]!r} is not a design of the last exploration")
        ds = ds.add(ResNetSpec.from_dict(records[name]))
    return ds
