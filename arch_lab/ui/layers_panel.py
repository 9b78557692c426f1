"""Layers tab: any design's stage and per-layer tables, its architecture diagram, and its ONNX export.

The design is one of the comparison's or any preset. The per-layer table is the analysers' own (the
analytic plan, checked against the built module) in execution order (a block's shortcut after its conv
branch), with shapes as ``N×C×H×W``, exact parameter counts, MACs in units, each layer's output memory and
a totals row. The diagram draws the design (or two side by side) to scale of channels or MACs. The ONNX
export builds and traces the model, so it is bounded before it starts: designs above
:data:`ONNX_MAX_PARAMS` parameters or :data:`ONNX_MAX_LAYERS` layers are refused, the export runs in a
child process stopped after :data:`ONNX_TIMEOUT_S`, and one export runs at a time (:data:`ONNX_LOCK`);
others are refused while it runs, not queued.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import gradio as gr
import pandas as pd

from arch_lab import charts
from arch_lab.analysis import analyse
from arch_lab.analysis.tables import LAYER_COLUMNS, STAGE_COLUMNS
from arch_lab.errors import LimitError, SpecError
from arch_lab.plan import plan
from arch_lab.presets import list_presets, load_preset
from arch_lab.spec import ResNetSpec
from arch_lab.ui.compute import units_note
from arch_lab.ui.exports import fresh_file
from arch_lab.ui.guard import handler, refuse
from arch_lab.ui.state import DesignSet
from arch_lab.ui.views import escape_markdown, layers_view, stages_view

PRIVATE = {"api_visibility": "private", "show_progress": "hidden"}
EMPTY_STAGES = stages_view(pd.DataFrame(columns=STAGE_COLUMNS))
EMPTY_LAYERS = layers_view(pd.DataFrame(columns=LAYER_COLUMNS))
EMPTY_LINE = "Pick a design (one of the comparison's, or a preset) to see its layers."
DESIGN, PRESET = "design:", "preset:"
"""Picker values: a comparison design's name or a preset's, tagged so the two never mix up."""
NONE = ""
ONNX_MAX_PARAMS = 100_000_000
"""Largest design the app exports to ONNX (building and tracing it takes memory and seconds)."""
ONNX_MAX_LAYERS = 400
"""Deepest graph the app exports: tracing takes about 0.05 s a layer here (resnet152, the deepest preset,
has 313 layers), and much more per layer for deeper graphs."""
ONNX_TIMEOUT_S = 60.0
"""An export still running after this is stopped (a 400-layer export takes about 20 s on 2 busy cores)."""
ONNX_LOCK = threading.Lock()
SCALES = [("channels", "channels"), ("MACs", "macs")]


def choices(ds: DesignSet) -> list[tuple[str, str]]:
    return [(f"{n}", DESIGN + n) for n in ds.names] + [(f"preset: {p}", PRESET + p) for p in list_presets(timm=True)]


def build(designs: gr.State, load: Callable[..., Any]) -> None:
    """Lay out the Layers tab; ``load`` (the app's ``demo.load``) fills it when the page opens."""
    with gr.Row():
        pick = gr.Dropdown(label="Design", choices=[], value=None, min_width=200,
                           info="a design in the comparison, or any preset")
        other = gr.Dropdown(label="Draw beside it", choices=[("nothing", NONE)], value=NONE, min_width=200,
                            info="a second design for the diagram")
        scale = gr.Radio(label="Diagram to scale of", choices=SCALES, value="channels", min_width=200)
    summary = gr.Markdown(EMPTY_LINE, elem_id="layers-summary")
    gr.Markdown(units_note(), elem_classes=["hint"], elem_id="layers-units")
    diagram = gr.Plot(value=charts.empty_figure("Pick a design"), label="Architecture", elem_id="architecture")
    stages = gr.Dataframe(value=EMPTY_STAGES, label="Stages", interactive=False, wrap=False,
                          elem_id="stages-table")
    layers = gr.Dataframe(value=EMPTY_LAYERS, label="Layers", interactive=False, wrap=False, max_height=560,
                          show_search="search", pinned_columns=1, elem_id="layers-table")
    with gr.Row():
        export = gr.Button("Export to ONNX", size="sm", scale=0, min_width=160)
        onnx_file = gr.File(label="ONNX model (opens in Netron)", visible=True, elem_id="onnx-file",
                            interactive=False, height=60)

    outputs = [summary, stages, layers, diagram]
    # One queue for every redraw, in the order the events came, each reading the page when it starts: a
    # redraw for an older design set (a batch size typed digit by digit) can no longer land after the
    # user's pick and put the previous design back on screen.
    in_order = {"concurrency_limit": 1, "concurrency_id": "layers-view", "trigger_mode": "always_last", **PRIVATE}
    gr.on([designs.change, load], _keep_pick, [designs, pick, other], [pick, other], **in_order).then(
        show, [designs, pick, other, scale], outputs, **in_order)
    gr.on([pick.input, other.input, scale.input], show, [designs, pick, other, scale], outputs, **in_order)
    export.click(export_onnx_file, [designs, pick], onnx_file, api_visibility="private", concurrency_limit=1,
                 concurrency_id="onnx")


@handler
def _keep_pick(ds: DesignSet, current: Any, other: Any) -> tuple[Any, Any]:
    values = [value for _, value in choices(ds)]
    first = DESIGN + ds.names[0] if len(ds) else None
    keep = current if current in values else first
    return (gr.Dropdown(choices=choices(ds), value=keep),
            gr.Dropdown(choices=[("nothing", NONE), *choices(ds)], value=other if other in values else NONE))


def picked(ds: DesignSet, value: Any) -> ResNetSpec | None:
    """The spec a picker value names (``None`` for nothing picked); anything else is refused."""
    if value in (None, NONE):
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise SpecError("design", "pick a design from the list")
    if value.startswith(DESIGN):
        return ds.get(value[len(DESIGN):])
    if value.startswith(PRESET):
        return load_preset(value[len(PRESET):])  # a name looked up among the presets, never a path
    raise SpecError("design", "pick a design from the list")


def _label(value: Any) -> str:
    """A picker value as the user reads it: the design's or the preset's name."""
    return str(value).partition(":")[2][:60] or str(value)[:60]


@handler
def show(ds: DesignSet, value: Any, other: Any = NONE, scale: Any = "channels") -> tuple[Any, ...]:
    """The picked design's summary line, stage table, layer table and diagram (beside a second one).

    What is shown is always the picked design or a message naming it: a design that cannot be analysed
    (over a limit at this batch size, gone from the set) empties the tables and the diagram and says why,
    so the previous design's figures never stay on screen under the new pick."""
    if scale not in dict(SCALES).values():
        raise SpecError("scale", "choose channels or MACs")
    try:
        spec = picked(ds, value)
        if spec is None:
            return EMPTY_LINE, EMPTY_STAGES, EMPTY_LAYERS, charts.empty_figure("Pick a design")
        report = analyse(spec, batch_size=ds.batch_size)
        second = picked(ds, other)
        reports = [report] if second is None else [report, analyse(second, batch_size=ds.batch_size)]
    except SpecError as exc:
        names = " beside ".join(f"**{escape_markdown(_label(v))}**" for v in (value, other) if v not in (None, NONE))
        line = f"✗ Cannot show {names} — {escape_markdown(str(exc)[:400])}"
        return line, EMPTY_STAGES, EMPTY_LAYERS, charts.empty_figure(f"{_label(value)}: not analysed (see above)")
    c, h, w = report.spec.in_channels, *report.input_size
    n = ds.batch_size
    line = (f"**{escape_markdown(spec.name)}**: input {n}×{c}×{h}×{w} → {len(report.layers)} layers, "
            f"{report.params:,} parameters, {report.macs:,} MACs ({report.macs / 1e9:.3f} G). Shapes are N×C×H×W "
            f"for a batch of {n} (the app-wide analysis batch size); MACs count conv and linear "
            "multiply-accumulates; output memory is each layer's output tensor in fp32. Layers are listed in "
            "execution order (a block's shortcut after its conv branch).")
    return line, stages_view(report.stages), layers_view(report.layers), charts.architecture(reports, scale=scale)


@handler(title="Export refused")
def export_onnx_file(ds: DesignSet, value: Any) -> str:
    """The picked design as ONNX (random weights, dynamic batch), refused above :data:`ONNX_MAX_PARAMS`
    parameters or :data:`ONNX_MAX_LAYERS` layers and while another export runs, stopped after
    :data:`ONNX_TIMEOUT_S`."""
    spec = picked(ds, value)
    if spec is None:
        raise refuse("Pick a design first", title="Nothing to export")
    report = analyse(spec)
    for what, size, bound in (("parameters", report.params, ONNX_MAX_PARAMS),
                              ("layers", len(plan(spec)), ONNX_MAX_LAYERS)):
        if size > bound:
            raise LimitError("design", f"{spec.name} has {size:,} {what}; the app exports designs of at most "
                                       f"{bound:,} {what} (use `python -m arch_lab export` for larger ones)")
    if not ONNX_LOCK.acquire(blocking=False):
        raise refuse("Another ONNX export is running; try again in a few seconds", title="Export busy")
    try:
        from arch_lab.onnx_export import export_onnx

        path = fresh_file("model.onnx")  # a fixed name: never built from the design's name
        export_onnx(spec, path, external_data=False, timeout_s=ONNX_TIMEOUT_S)
        return str(path)
    finally:
        ONNX_LOCK.release()
