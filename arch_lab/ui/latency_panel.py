"""Latency tab: time every design in the comparison on this machine, one measurement at a time.

It says plainly where it measures (the GPU's name, or "CPU" with the processor and thread count). Any
script can send this event, so :func:`measure` checks every input as strictly as the widgets do and takes
its time from :data:`QUOTA` (measurement seconds per minute, per session and for everyone, with a short
queue of its own); ``measure_latency`` holds a process-wide lock besides, so two users never time at once.
Results go into the session's latency store and from there into the Compare tab.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd
import torch

from arch_lab import SpecError, charts
from arch_lab.latency import DTYPES, MODES, LatencyResult, measure_latency
from arch_lab.latency.devices import cpu_model
from arch_lab.latency.options import CUDA_ONLY
from arch_lab.ui.compute import LatencyStore, latency_frames
from arch_lab.ui.guard import handler, refuse
from arch_lab.ui.quota import MeasurementQuota
from arch_lab.ui.state import DesignSet
from arch_lab.ui.views import escape_markdown

BATCH_CHOICES = [1, 2, 4, 8, 16, 32, 64, 128]
BUDGET_RANGE = (1, 30)
"""Seconds of measurement per design that the slider offers (and the event accepts)."""
SETUP_S = 0.5
"""Allowance per design for building the model, charged with its budget when a request reserves time."""
QUOTA = MeasurementQuota()
RESULT_COLUMNS = {"batch_size": "batch", "median_ms": "median (ms)", "p10_ms": "p10 (ms)", "p90_ms": "p90 (ms)",
                  "throughput_img_s": "throughput (img/s, back to back)", "count": "timed calls",
                  "peak_memory_mb": "peak memory (MB)", "note": "note", "error": "error"}
EMPTY_RESULTS = pd.DataFrame(columns=["design", *RESULT_COLUMNS.values(), "device", "settings"])


def where_measured() -> str:
    """Plain words for the device a measurement with ``device="auto"`` runs on."""
    if torch.cuda.is_available():
        return f"GPU: {torch.cuda.get_device_name()}"
    return f"CPU: {cpu_model()}, {torch.get_num_threads()} threads (no GPU on this machine)"


def options_here() -> tuple[list[str], list[str]]:
    """The dtypes and modes that apply on this machine (CUDA-only ones are hidden on a CPU)."""
    if torch.cuda.is_available():
        return list(DTYPES), list(MODES)
    return ([d for d in DTYPES if d not in CUDA_ONLY["dtype"]], [m for m in MODES if m not in CUDA_ONLY["mode"]])


def build(designs: gr.State, latency: gr.State) -> None:
    gr.Markdown(f"**Measured on {escape_markdown(where_measured())}.** Every design in the comparison is timed "
                "in turn (randomly initialised weights, eval mode, inference only); the median of many calls is "
                "reported, with p10–p90 as the spread.", elem_id="device-label")
    dtypes, modes = options_here()
    with gr.Row():
        batch_sizes = gr.CheckboxGroup(label="batch sizes", choices=BATCH_CHOICES, value=[1, 8], scale=3)
        dtype = gr.Dropdown(label="dtype", choices=dtypes, value="fp32", scale=1)
        mode = gr.Dropdown(label="mode", choices=modes, value="eager", scale=1,
                           info="compile: torch.compile first (slow to start)")
    with gr.Row():
        channels_last = gr.Checkbox(label="channels_last memory format", value=False)
        budget_s = gr.Slider(label="time budget per design (s)", minimum=BUDGET_RANGE[0], maximum=BUDGET_RANGE[1],
                             step=1, value=3, info=f"measurement is shared: at most {QUOTA.session_s:.0f} s per "
                             f"{QUOTA.window_s:.0f} s per user")
    run = gr.Button("Measure latency", variant="primary")
    results = gr.Dataframe(value=EMPTY_RESULTS, label="Latency results", interactive=False, wrap=False,
                           elem_id="latency-table")
    curves = gr.Plot(value=charts.latency_curves({}), label="Latency and throughput vs batch size",
                     elem_id="latency-curves")

    # Several may enter at once so that the quota, not gradio's shared queue, holds the waiting ones.
    run.click(measure, [designs, batch_sizes, dtype, channels_last, mode, budget_s], latency,
              concurrency_limit=QUOTA.max_waiting + 2, concurrency_id="latency", api_visibility="private",
              show_progress_on=results)
    gr.on([designs.change, latency.change], show, [designs, latency], [results, curves],
          api_visibility="private", show_progress="hidden")


@handler
def measure(designs: DesignSet, batch_sizes: list[int], dtype: str, channels_last: bool, mode: str, budget_s: float,
            request: gr.Request, progress: gr.Progress = gr.Progress()) -> dict[str, Any]:  # noqa: B008
    """Measure every design in the set with the same settings; the result replaces the store (so all
    designs shown were timed alike, and a session's store never outgrows its set)."""
    if not len(designs):
        raise refuse("Add designs on the Design tab first")
    settings = checked_settings(batch_sizes, dtype, channels_last, mode, budget_s)
    new: dict[str, Any] = {}
    count = len(designs)
    with QUOTA.slot(request.session_hash or "anonymous", count * (settings["budget_s"] + SETUP_S)):
        for i, spec in enumerate(designs.designs):
            def report(fraction: float, message: str, i: int = i, name: str = spec.name) -> None:
                progress((i + fraction) / count, desc=f"{name} ({i + 1}/{count}): {message}")

            new[spec.key()] = entry(measure_latency(spec, progress=report, **settings))
    return new


def checked_settings(batch_sizes: Any, dtype: Any, channels_last: Any, mode: Any, budget_s: Any) -> dict[str, Any]:
    """The measurement settings, each one of the values the widgets offer, or a SpecError naming it."""
    dtypes, modes = options_here()
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
    """What the store keeps of a measurement (plain data)."""
    s = result.settings
    where = f"GPU: {result.device_name}" if result.device_type == "cuda" else \
        f"CPU: {result.device_name}, {s.get('threads')} threads"
    return {"summary": result.summary_columns(), "rows": result.to_dict()["rows"], "device": where,
            "settings": f"{s.get('dtype')}, {s.get('mode')}, channels_last={s.get('channels_last')}"}


@handler
def show(designs: DesignSet, store: LatencyStore) -> tuple[pd.DataFrame, Any]:
    """A row per measured design and batch size, and the latency-vs-batch chart."""
    frames = []
    for spec in designs.designs:
        if (item := store.get(spec.key())) is not None:
            rows = pd.DataFrame(item["rows"])
            frame = rows[[c for c in RESULT_COLUMNS if c in rows]].rename(columns=RESULT_COLUMNS).round(3)
            frame.insert(0, "design", spec.name)
            frame["device"], frame["settings"] = item["device"], item["settings"]
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else EMPTY_RESULTS
    return table, charts.latency_curves(latency_frames(designs, store))
