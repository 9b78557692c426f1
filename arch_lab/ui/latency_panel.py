"""Latency tab: time the designs in the comparison (all, or the ones ticked) on this machine, one
measurement at a time.

It says plainly where it measures (the GPU's name, or "CPU" with the processor and thread count) — worked
out when the tab is first opened, since that needs torch and the app does not import torch to start. Any
script can send this event, so :func:`measure` checks every input as strictly as the widgets do and takes
its time from :data:`QUOTA` (measurement seconds per minute, per session and for everyone, with a short
queue of its own); ``measure_latency`` holds a process-wide lock besides, so two users never time at once.
Results go into the session's latency store and from there into the Compare tab. A figure whose
statistics are thin (few timed calls, or a wide p10–p90 spread) is marked here, in the Compare tab and in
the charts (:mod:`arch_lab.latency.reliability`); above the table, each such design is told the budget it
needs. The budget starts at :data:`DEFAULT_BUDGET_S` per design, never above what the quota lets one
request take for the ticked designs, and the table downloads as CSV with the device and settings it was
measured with.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import gradio as gr
import pandas as pd

from arch_lab import charts
from arch_lab.columns import CALLS, P10, P90, latency_columns
from arch_lab.display import device_label
from arch_lab.errors import SpecError
from arch_lab.latency.catalog import COMPILE_MODES, CUDA_ONLY, DTYPE_NAMES, MODES, cpu_model
from arch_lab.latency.estimate import RateKey, measurement_cost, rate_for
from arch_lab.latency.reliability import MARK, MAX_SPREAD, MIN_TIMED_CALLS, needed_budget_s, problems
from arch_lab.plan import count
from arch_lab.spec import ResNetSpec
from arch_lab.ui.compute import LatencyStore, latency_frames
from arch_lab.ui.exports import fresh_file
from arch_lab.ui.guard import handler, refuse
from arch_lab.ui.quota import MeasurementQuota
from arch_lab.ui.state import MAX_DESIGNS, DesignSet, default_designs
from arch_lab.ui.views import escape_markdown

if TYPE_CHECKING:
    from arch_lab.latency import LatencyResult

BATCH_CHOICES = [1, 2, 4, 8, 16, 32, 64, 128]
DEFAULT_BATCHES = (1, 8)
BUDGET_RANGE = (1, 30)
"""Seconds of measurement per design that the slider offers (and the event accepts)."""
DEFAULT_BUDGET_S = 10
"""The budget a session starts with: on a GPU every preset gets ample calls in it; on a 2-core CPU resnet18
does at batches 1 and 8, and a slower design is told what it needs. Sampling stops once the timings are
steady, so a fast design does not use it all."""
QUOTA = MeasurementQuota()
PROGRESS_TICK_S = 0.25
SPREAD_FIELDS = {P10: "p10_ms", P90: "p90_ms", CALLS: "count"}
"""Per batch size, what the comparison gets besides ``LatencyResult.summary_columns``: the spread (for the
chart's error bars) and the number of timed calls behind it, from these ``BatchLatency`` fields."""
RESULT_COLUMNS = {"batch_size": "batch", "median_ms": "median (ms)", "p10_ms": "p10 (ms)", "p90_ms": "p90 (ms)",
                  "throughput_img_s": "throughput (img/s, back to back)", "count": "timed calls",
                  "peak_memory_mb": "peak memory (MB)"}
"""A row's figures: the CSV's columns (as named here) and the table's (as shown)."""
CSV_ONLY = ("note", "error")
"""Also in the CSV; on the page, the list above the table says them in full (a table cell would cut them)."""
RELIABILITY = "reliable?"
EMPTY_RESULTS = pd.DataFrame(columns=["design", "batch", RELIABILITY, *list(RESULT_COLUMNS.values())[1:], "device",
                                      "settings"])
NOT_MEASURED = "✗ not measured"
DEVICE_PENDING = ("**Measured on this machine's CPU, or its GPU when there is one** — the device is named here "
                  "once torch has loaded.")
INTRO = (" Every ticked design is timed in turn (randomly initialised weights, eval mode, inference only); the "
         "median of many calls is reported, with p10–p90 as the spread.")


def where_measured() -> str:
    """Plain words for the device a measurement with ``device="auto"`` runs on (imports torch)."""
    import torch

    if torch.cuda.is_available():
        return device_label("cuda", torch.cuda.get_device_name())
    return device_label("cpu", cpu_model(), torch.get_num_threads()) + " (no GPU on this machine)"


def options_here(cuda: bool | None = None) -> tuple[list[str], list[str]]:
    """The dtypes and modes that apply on this machine (CUDA-only ones are hidden on a CPU)."""
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available()
    if cuda:
        return list(DTYPE_NAMES), list(MODES)
    return ([d for d in DTYPE_NAMES if d not in CUDA_ONLY["dtype"]], [m for m in MODES if m not in CUDA_ONLY["mode"]])


def warning_for(row: dict[str, Any]) -> str:
    """Why a row's statistics are thin ("" when they are not, or when the row has no figures at all)."""
    if row.get("error"):
        return ""
    return "; ".join(problems(row.get("count"), row.get("median_ms"), row.get("p90_ms")))


def reliability_text(row: dict[str, Any]) -> str:
    """The table's verdict on a row, in its third column where it is seen: ✓, ⚠ and why in brief (the list
    above the table says it in full), or not measured."""
    if row.get("error") or row.get("median_ms") is None:
        return NOT_MEASURED
    found = problems(row.get("count"), row.get("median_ms"), row.get("p90_ms"), short=True)
    return f"{MARK} {', '.join(found)}" if found else "✓"


def budget_cap(specs: Sequence[ResNetSpec], batch_sizes: Sequence[int] = DEFAULT_BATCHES, dtype: str = "fp32",
               channels_last: bool = False, mode: str = "eager") -> int:
    """The largest whole budget per design, within :data:`BUDGET_RANGE`, whose worst case for ``specs`` at
    these settings — what a request reserves, :func:`arch_lab.latency.estimate.measurement_cost` — fits the
    quota (above the range's minimum all the same: a slider needs a range; the quota refuses what it must)."""
    quota = min(QUOTA.session_s, QUOTA.process_s)
    rate = rate_for(_rate_key(dtype, channels_last, mode))
    sizes = [(counted.macs, counted.layers, counted.params) for counted in map(count, specs)]
    for budget in range(BUDGET_RANGE[1], BUDGET_RANGE[0] + 1, -1):
        worst = sum(measurement_cost(macs, layers, params, batch_sizes, budget, mode in COMPILE_MODES, rate).worst_s
                    for macs, layers, params in sizes)
        if worst <= quota:
            return budget
    return BUDGET_RANGE[0] + 1


def _rate_key(dtype: str, channels_last: bool, mode: str) -> RateKey:
    """The measured-rate key a request of these settings will use; before torch is loaded (nothing can have
    been measured yet) a CPU's, whose assumed rates are the lowest."""
    torch = sys.modules.get("torch")
    if torch is None:
        return "cpu", dtype, channels_last, mode, 0
    return "cuda" if torch.cuda.is_available() else "cpu", dtype, channels_last, mode, torch.get_num_threads()


def row_issue(row: dict[str, Any]) -> str:
    """What is wrong with a row, in full ("" when its figures are sound)."""
    if row.get("error"):
        return f"not measured — {row['error']}"
    warning = warning_for(row)
    issues = [warning] if warning else []
    if row.get("throughput_img_s") is None:
        issues.append("no throughput (no block of back-to-back calls fitted)")
    return "; ".join(issues)


def advice(designs: DesignSet, store: LatencyStore) -> str:
    """Above the table: whether every figure is sound, else per design which batches are thin or missing
    and the budget that would do (this budget's rule run backwards from its measured call time)."""
    lines, unsound, total = [], 0, 0
    for spec in designs.designs:
        if (item := store.get(spec.key())) is None:
            continue
        rows = item["rows"]
        total += len(rows)
        unsound += sum(reliability_text(row) != "✓" for row in rows)
        issues = [f"batch {row['batch_size']}: {issue}" for row in rows if (issue := row_issue(row))]
        if not issues:
            continue
        line = f"- **{escape_markdown(spec.name)}** — {escape_markdown('; '.join(issues))}."
        needed, budget = needed_budget_s(rows, item.get("sampling")), item.get("budget_s") or 0
        if needed is not None and needed > budget:  # else the budget is not what failed
            line += f" A budget of about **{needed:.0f} s** for this design would do (this run: {budget:.0f} s)"
            line += "." if needed <= BUDGET_RANGE[1] else (f", more than the app's {BUDGET_RANGE[1]} s: time it with "
                                                           f"the CLI, `python -m arch_lab latency … --budget "
                                                           f"{needed:.0f}`.")
        lines.append(line)
    if not total:
        return ""
    if not lines:
        return (f"✓ Every figure rests on at least {MIN_TIMED_CALLS} timed calls, with p90 within {MAX_SPREAD}× "
                "the median.")
    return "\n".join([f"{MARK} **{unsound} of {total} rows are thin or not measured** — marked here, in the "
                      "Compare tab's table and ratios, and as open markers or hatched bars in the charts:", *lines])


def build(designs: gr.State, latency: gr.State, tab: gr.Tab) -> None:
    """Lay out the Latency tab; ``tab`` is its ``gr.Tab``, whose first opening names the device."""
    device_label = gr.Markdown(DEVICE_PENDING + INTRO, elem_id="device-label")
    dtypes, modes = options_here(cuda=False)  # the CPU's; widened on opening if there is a GPU
    start = list(default_designs().names)  # a session starts with these; designs.change keeps it in step
    which = gr.CheckboxGroup(label="designs to time", choices=start, value=start, elem_id="latency-designs",
                             info="untick the ones you do not need timed (each takes its time budget)")
    offered = gr.State(start)
    """The names the list offered before the set changed: a name not among them is a new design, ticked."""
    with gr.Row():
        batch_sizes = gr.CheckboxGroup(label="batch sizes", choices=BATCH_CHOICES, value=list(DEFAULT_BATCHES),
                                       min_width=240)
        dtype = gr.Dropdown(label="dtype", choices=dtypes, value="fp32", min_width=120)
        mode = gr.Dropdown(label="mode", choices=modes, value="eager", min_width=160,
                           info="compile: torch.compile first (slow to start)")
    with gr.Row():
        channels_last = gr.Checkbox(label="channels_last memory format", value=False)
        cap = budget_cap(default_designs().designs)
        budget_s = gr.Slider(label="time budget per design (s)", minimum=BUDGET_RANGE[0], maximum=cap, step=1,
                             value=min(DEFAULT_BUDGET_S, cap), min_width=240, elem_id="latency-budget",
                             info=f"stops early once the timings are steady; measurement is shared: at most "
                             f"{QUOTA.session_s:.0f} s per {QUOTA.window_s:.0f} s per user, so more designs "
                             "get less each")
    chosen_budget = gr.State(None)
    """The budget the user set (None: the default), kept while the ticked designs change the slider's range."""
    run = gr.Button("Measure latency", variant="primary")
    warnings = gr.Markdown("", elem_id="latency-warnings")
    results = gr.Dataframe(value=EMPTY_RESULTS, label="Latency results", interactive=False, wrap=False,
                           elem_id="latency-table")
    csv = gr.DownloadButton("Download latency CSV", value=None, size="sm", elem_id="latency-csv")
    curves = gr.Plot(value=charts.latency_curves({}), label="Latency and throughput vs batch size",
                     elem_id="latency-curves")

    tab.select(describe_device, None, [device_label, dtype, mode], api_visibility="private", show_progress="hidden")
    # Several may enter at once so that the quota, not gradio's shared queue, holds the waiting ones.
    run.click(measure, [designs, which, batch_sizes, dtype, channels_last, mode, budget_s], latency,
              concurrency_limit=QUOTA.max_waiting + 2, concurrency_id="latency", api_visibility="private",
              show_progress_on=results)
    gr.on([designs.change, latency.change], show, [designs, latency], [warnings, results, curves, csv],
          api_visibility="private", show_progress="hidden")
    designs.change(keep_ticked, [designs, which, offered], [which, offered], api_visibility="private",
                   show_progress="hidden")
    budget_s.release(remember_budget, budget_s, chosen_budget, api_visibility="private", show_progress="hidden")
    gr.on([which.change, batch_sizes.change, dtype.change, channels_last.change, mode.change], fit_budget,
          [designs, which, batch_sizes, dtype, channels_last, mode, chosen_budget], budget_s,
          api_visibility="private", show_progress="hidden")


@handler
def describe_device() -> tuple[str, Any, Any]:
    """The device label and the options that apply here (loads torch: only when the tab is opened)."""
    dtypes, modes = options_here()
    return (f"**Measured on {escape_markdown(where_measured())}.**" + INTRO, gr.Dropdown(choices=dtypes),
            gr.Dropdown(choices=modes))


@handler
def keep_ticked(ds: DesignSet, ticked: Any, offered: Any) -> tuple[Any, list[str]]:
    """The designs to time: the set's names; ticked ones stay ticked, unticked ones stay unticked, and a
    design the list did not offer before (added, or renamed) comes ticked. Also the names now offered."""
    ticked = set(ticked) if isinstance(ticked, list) else set()
    offered = set(offered) if isinstance(offered, list) else set()
    names = list(ds.names)
    value = [n for n in names if n in ticked or n not in offered]
    return gr.CheckboxGroup(choices=names, value=value), names


@handler
def remember_budget(value: Any) -> Any:
    """The budget the user set on the slider, kept for :func:`fit_budget` (which checks it)."""
    return value


@handler
def fit_budget(designs: DesignSet, ticked: Any, batch_sizes: Any, dtype: Any, channels_last: Any, mode: Any,
               chosen: Any) -> Any:
    """The budget slider for the ticked designs at these settings: up to what the quota lets them reserve
    (:func:`budget_cap`), at the user's own budget or else :data:`DEFAULT_BUDGET_S`, lowered to fit."""
    names = set(ticked) if isinstance(ticked, list) else set()
    specs = [spec for spec in designs.designs if spec.name in names] or list(designs.designs[:1])
    batches = [b for b in batch_sizes if b in BATCH_CHOICES] if isinstance(batch_sizes, list) else []
    cap = budget_cap(specs, batches or DEFAULT_BATCHES, dtype if isinstance(dtype, str) else "fp32",
                     channels_last is True, mode if isinstance(mode, str) else "eager")
    wanted = chosen if isinstance(chosen, (int, float)) and not isinstance(chosen, bool) else DEFAULT_BUDGET_S
    return gr.Slider(maximum=cap, value=min(max(wanted, BUDGET_RANGE[0]), cap))


@handler(title="Measurement refused")
def measure(designs: DesignSet, which: Any, batch_sizes: list[int], dtype: str, channels_last: bool, mode: str,
            budget_s: float, request: gr.Request, progress: gr.Progress = gr.Progress()) -> dict[str, Any]:  # noqa: B008
    """Measure the ticked designs with the same settings; the result replaces the store (so all designs
    shown were timed alike, and a session's store never outgrows its set).

    Every refusal that needs no device comes first, before torch is loaded: the inputs, and the quota for
    the least the request can take (its budgets). Then each design's worst case is estimated on this
    device (:mod:`arch_lab.latency.estimate`; a design whose one call would not fit the budget is refused)
    and their sum is reserved before the request waits for the measurement slot."""
    if not len(designs):
        raise refuse("Add designs on the Design tab first", title="Nothing to measure")
    chosen = checked_designs(designs, which)
    settings = checked_settings(batch_sizes, dtype, channels_last, mode, budget_s)
    session = request.session_hash or "anonymous"
    QUOTA.check(session, len(chosen) * settings["budget_s"])
    from arch_lab.latency import measure_latency, resolve_options
    from arch_lab.latency.estimate import costs_within_budget

    options = resolve_options(**settings)  # an option this device lacks (tf32 on a CPU) is refused here
    costs = costs_within_budget(chosen, options.batch_sizes, options.budget_s, options.rate_key)
    new: dict[str, Any] = {}
    count = len(chosen)
    with QUOTA.slot(session, sum(cost.worst_s for cost in costs)):
        for i, spec in enumerate(chosen):
            new[spec.key()] = entry(_with_progress(
                lambda report, spec=spec: measure_latency(spec, progress=report, **settings),
                lambda fraction, message, i=i, name=spec.name: progress(
                    (i + fraction) / count, desc=f"{name} ({i + 1}/{count}): {message}"),
                settings["budget_s"]))
    return new


def _with_progress(run: Any, show: Any, expected_s: float) -> Any:
    """``run(report)`` in a worker thread while this thread moves the bar within the design: by the
    measurement's own reports, and between them by the time spent against the time it may take (a
    measurement is bounded by its budget)."""
    state: dict[str, Any] = {"fraction": 0.0, "message": "building the model"}
    outcome: dict[str, Any] = {}

    def report(fraction: float, message: str) -> None:
        state["fraction"], state["message"] = fraction, message

    def work() -> None:
        try:
            outcome["value"] = run(report)
        except BaseException as exc:  # handed back to the handler's thread
            outcome["error"] = exc

    start = time.monotonic()
    worker = threading.Thread(target=work, name="latency-measure", daemon=True)
    worker.start()
    while worker.is_alive():
        by_time = min(0.99, (time.monotonic() - start) / max(expected_s, 1e-3))
        show(max(state["fraction"], by_time), state["message"])
        worker.join(PROGRESS_TICK_S)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def checked_designs(designs: DesignSet, which: Any) -> list:
    """The designs to time: names from the set, in the set's order."""
    if not isinstance(which, list) or not which or len(which) > MAX_DESIGNS \
            or not all(isinstance(n, str) for n in which):
        raise SpecError("designs to time", "tick at least one design")
    unknown = [n for n in which if n not in designs.names]
    if unknown:
        raise SpecError("designs to time", f"{unknown[0][:60]!r} is not in the comparison")
    return [spec for spec in designs.designs if spec.name in set(which)]


def checked_settings(batch_sizes: Any, dtype: Any, channels_last: Any, mode: Any, budget_s: Any) -> dict[str, Any]:
    """The measurement settings, each one of the values the widgets offer on some device, or a SpecError
    naming it (without torch: whether this device has CUDA is checked when the measurement is set up)."""
    dtypes, modes = DTYPE_NAMES, MODES
    if not isinstance(batch_sizes, list) or not batch_sizes or not all(b in BATCH_CHOICES for b in batch_sizes):
        raise SpecError("batch_sizes", f"pick one or more of {', '.join(map(str, BATCH_CHOICES))}")
    if dtype not in dtypes:
        raise SpecError("dtype", f"choose one of {', '.join(dtypes)}")
    if mode not in modes:
        raise SpecError("mode", f"choose one of {', '.join(modes)}")
    if not isinstance(channels_last, bool):
        raise SpecError("channels_last", "expected true or false")
    low, high = BUDGET_RANGE
    if isinstance(budget_s, bool) or not isinstance(budget_s, (int, float)) or not low <= budget_s <= high:
        raise SpecError("budget_s", f"expected a number of seconds from {low} to {high}")
    return {"batch_sizes": sorted({int(b) for b in batch_sizes}), "dtype": dtype, "channels_last": channels_last,
            "mode": mode, "budget_s": float(budget_s)}


def entry(result: LatencyResult) -> dict[str, Any]:
    """What the store keeps of a measurement (plain data): ``summary`` holds the figures the comparison
    adds (with ratios to the baseline), ``context`` how they were measured (timed calls, device, threads:
    carried into the CSV, never given a ratio), and ``columns`` the latency columns of both, so the
    table and charts never parse them out of the names."""
    s = result.settings
    where = device_label(result.device_type, result.device_name, s.get("threads"))
    rows = result.to_dict()["rows"]
    summary, context = result.summary_columns(), {}
    spread = latency_columns((row.batch_size for row in result.rows), tuple(SPREAD_FIELDS))
    for column in spread:  # the spread and the conditions travel into the comparison and its CSV
        into = context if column.metric == CALLS else summary
        into[column.name] = getattr(result.row(column.batch_size), SPREAD_FIELDS[column.metric])
    context.update({"latency_device": where, "latency_dtype": s.get("dtype"), "latency_mode": s.get("mode"),
                    "latency_threads": s.get("threads"), "latency_channels_last": str(s.get("channels_last"))})
    return {"summary": summary, "context": context, "columns": (*result.columns(), *spread), "rows": rows,
            "sampling": s.get("sampling"), "budget_s": s.get("budget_s"), "device": where,
            "threads": s.get("threads"), "dtype": s.get("dtype"), "mode": s.get("mode"),
            "channels_last": s.get("channels_last"),
            "settings": f"{s.get('dtype')}, {s.get('mode')}, channels_last={s.get('channels_last')}"}


def results_frame(designs: DesignSet, store: LatencyStore) -> pd.DataFrame:
    """A row per measured design and batch size, at full precision, with the conditions it was timed in."""
    records = []
    for spec in designs.designs:
        if (item := store.get(spec.key())) is not None:
            for row in item["rows"]:
                records.append({"design": spec.name, **{k: row.get(k) for k in (*RESULT_COLUMNS, *CSV_ONLY)},
                                "reliable": reliability_text(row), "warning": warning_for(row),
                                "device": item["device"], "threads": item.get("threads"), "dtype": item.get("dtype"),
                                "mode": item.get("mode"), "channels_last": item.get("channels_last")})
    return pd.DataFrame(records)


@handler
def show(designs: DesignSet, store: LatencyStore) -> tuple[str, pd.DataFrame, Any, str | None]:
    """What the measurement says about its own figures, a row per measured design and batch size (its
    verdict third, where it is seen), the latency-vs-batch chart and the results' CSV."""
    full = results_frame(designs, store)
    curves = charts.latency_curves(latency_frames(designs, store))
    if full.empty:
        return "", EMPTY_RESULTS, curves, None
    table = full.rename(columns={**RESULT_COLUMNS, "reliable": RELIABILITY}).round(3)
    table["settings"] = [f"{d}, {m}, channels_last={c}" for d, m, c in
                         zip(full["dtype"], full["mode"], full["channels_last"], strict=True)]
    path = fresh_file("latency.csv")
    full.to_csv(path, index=False)
    return advice(designs, store), table[[*EMPTY_RESULTS.columns]], curves, str(path)
