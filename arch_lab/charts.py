"""Plotly figures of a comparison: pure functions of the analysers' DataFrames and Reports, no gradio.

Each design keeps one colour in every chart (its position in the comparison), every axis names its unit,
and a figure with nothing to show says so instead of drawing empty axes. The UI, the CLI or a notebook can
all use these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import ceil, floor, log10, prod

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from arch_lab.analysis import Report
from arch_lab.analysis.structure import Block, split
from arch_lab.columns import MEDIAN, P10, P90, LatencyColumn, ratio_column
from arch_lab.errors import SpecError
from arch_lab.latency.reliability import MARK, problems, unreliable
from arch_lab.network import BLOCKS
from arch_lab.plan import Layer, plan

PALETTE = tuple(px.colors.qualitative.Plotly) + tuple(px.colors.qualitative.Dark2)
"""Sixteen-plus distinct colours, one per design (the app compares at most 16)."""
STAGE_PALETTE = px.colors.sequential.Viridis
HEIGHT_PX = 380
MANY_DESIGNS = 6
"""Above this many designs, bars lie horizontally (names are read across, never rotated) and the scatter
names its points in a legend instead of beside them (labels would pile on each other)."""
ROW_PX = 24
"""Height per design of a horizontal bar chart, enough for a 12 px name with room between."""
GRID = "#E5ECF6"
TEMPLATE = go.layout.Template(layout={
    "font": {"size": 12, "color": "#2a3f5f"}, "paper_bgcolor": "white", "plot_bgcolor": "white",
    "colorway": list(PALETTE), "hoverlabel": {"namelength": -1},
    "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "automargin": True},
    "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zerolinecolor": GRID, "automargin": True},
})
"""A light cousin of plotly's "plotly_white" (applying that full template costs ~20 ms a figure)."""


def design_colors(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def latency_column(df: pd.DataFrame, measured: Sequence[LatencyColumn]) -> LatencyColumn | None:
    """The median latency at the smallest batch size that has a value, if any; ``measured`` are the latency
    columns ``df`` holds, as their producer recorded them (``LatencyResult.columns``, the UI's store)."""
    medians = sorted((c for c in measured if c.metric == MEDIAN), key=lambda c: c.batch_size)
    return next((c for c in medians if df[c.name].notna().any()), None)


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure(layout={"template": TEMPLATE, "height": 200, "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
                            "xaxis": {"visible": False}, "yaxis": {"visible": False}})
    fig.add_annotation(text=message, showarrow=False, font={"size": 15, "color": "#666"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def panels(titles: Sequence[str], gap: float = 0.09) -> go.Figure:
    """An empty figure of ``len(titles)`` side-by-side plots with titles; axes ``x``/``y``, ``x2``/``y2``, ….

    Built directly rather than with ``make_subplots``, which with the full template cost ~40 ms a
    figure: the Compare tab draws four figures on every change and should stay well under a second."""
    width = (1 - gap * (len(titles) - 1)) / len(titles)
    layout: dict = {"template": TEMPLATE, "height": HEIGHT_PX, "annotations": [],
                    "margin": {"l": 60, "r": 20, "t": 60, "b": 60}}
    for i, title in enumerate(titles):
        start = i * (width + gap)
        layout[f"xaxis{_suffix(i)}"] = {"domain": [start, min(1.0, start + width)], "anchor": f"y{_suffix(i)}"}
        layout[f"yaxis{_suffix(i)}"] = {"anchor": f"x{_suffix(i)}"}
        layout["annotations"].append({"text": title, "x": start + width / 2, "y": 1.0, "xref": "paper",
                                      "yref": "paper", "xanchor": "center", "yanchor": "bottom",
                                      "yshift": 8, "showarrow": False, "font": {"size": 14}})
    return go.Figure(layout=layout)


def _suffix(i: int) -> str:
    """Axis name suffix of the ``i``-th panel: "", "2", "3", …"""
    return "" if i == 0 else str(i + 1)


def _axes(i: int) -> dict[str, str]:
    return {"xaxis": f"x{_suffix(i)}", "yaxis": f"y{_suffix(i)}"}


def _titles(fig: go.Figure, axis: str, titles: Sequence[str], **extra: object) -> None:
    fig.update_layout({f"{axis}axis{_suffix(i)}": {"title": {"text": t}, **extra} for i, t in enumerate(titles)})


def _tall(n: int) -> int:
    """Height of a chart with a row per design (horizontal bars)."""
    return max(HEIGHT_PX, 140 + ROW_PX * n)


def _horizontal(fig: go.Figure, count: int, names: Sequence[str]) -> None:
    """Panels of horizontal bars: names read down the first panel's axis in the designs' order (the other
    panels share the rows and hide their repeated names), the value axis at the bottom."""
    for i in range(count):
        fig.update_layout({f"yaxis{_suffix(i)}": {"categoryorder": "array", "categoryarray": list(names),
                                                  "autorange": "reversed", "showticklabels": i == 0,
                                                  "ticks": "", "type": "category"}})
    fig.update_layout(height=_tall(len(names)))


def metric_bars(df: pd.DataFrame, baseline: str | None = None, measured: Sequence[LatencyColumn] = ()) -> go.Figure:
    """Parameters, MACs and (when ``measured`` has a value) latency side by side: one bar per design,
    labelled with the ratio against the baseline, whose bar is outlined. Latency carries p10–p90 error
    bars when ``measured`` includes them; a thin latency figure (few timed calls, wide spread) is hatched
    and its ratio marked, as is every latency ratio when the baseline's figure is thin.

    Up to :data:`MANY_DESIGNS` designs the bars stand (names under them); beyond, they lie horizontally
    with a row per design, so sixteen names stay readable without rotating them."""
    if df.empty:
        return empty_figure("Add designs to compare")
    metrics = [("params", "Parameters (M)", 1e6), ("macs", "MACs (G)", 1e9)]
    if (latency := latency_column(df, measured)) is not None:
        metrics.append((latency.name, f"Latency, batch {latency.batch_size} (ms)", 1.0))
    names = df["name"].astype(str).tolist()
    colors = design_colors(names)
    flat = len(names) > MANY_DESIGNS
    fig = panels([label for _, label, _ in metrics], gap=0.04 if flat else 0.09)
    base = names.index(baseline) if baseline in names else 0
    for i, (col, label, scale) in enumerate(metrics):
        ratio_col = ratio_column(col)
        ratios = df[ratio_col] if ratio_col in df else pd.Series([None] * len(df))
        values = df[col] / scale
        thin = unreliable(df, latency.batch_size) if latency is not None and col == latency.name else \
            pd.Series(False, index=df.index)
        thin_ratio = thin | bool(thin.iloc[base])
        errors = None
        if latency is not None and col == latency.name and {latency.at(P10), latency.at(P90)} <= set(measured):
            low, high = df[latency.at(P10).name], df[latency.at(P90).name]
            errors = {"type": "data", "array": (pd.to_numeric(high, errors="coerce") - values).clip(lower=0),
                      "arrayminus": (values - pd.to_numeric(low, errors="coerce")).clip(lower=0),
                      "visible": True, "color": "#444"}
        position = {"y": names, "x": values, "orientation": "h"} if flat else {"x": names, "y": values}
        error = {"error_x" if flat else "error_y": errors} if errors else {}
        fig.add_trace(go.Bar(
            **position, name=label, showlegend=False, **_axes(i), **error,
            marker={"color": [colors[n] for n in names], "pattern": {"shape": ["/" if t else "" for t in thin]},
                    "line": {"color": "#222", "width": [2.5 if n == baseline else 0 for n in names]}},
            text=[f"×{r:.2f}" + (f" {MARK}" if t else "") if pd.notna(r) else "" for r, t in zip(ratios, thin_ratio,
                                                                                                strict=True)],
            textposition="outside", cliponaxis=False, customdata=[f"<br>{MARK} thin figure" if t else "" for t in thin],
            hovertemplate=("%{y}<br>%{x:.3g}" if flat else "%{x}<br>%{y:.3g}") + "%{customdata}<extra>" + label
            + "</extra>",
        ))
    if flat:
        _horizontal(fig, len(metrics), names)
        _titles(fig, "x", [label for _, label, _ in metrics], rangemode="tozero")
    else:
        _titles(fig, "y", [label for _, label, _ in metrics], rangemode="tozero")
    return fig


def efficiency_scatter(df: pd.DataFrame, measured: Sequence[LatencyColumn] = ()) -> go.Figure:
    """MACs against parameters (and against latency when ``measured`` has a value), each point labelled
    with its design; beyond :data:`MANY_DESIGNS` designs, the names are in a legend (colour per design). A
    thin latency figure is an open marker (and its label marked)."""
    if df.empty:
        return empty_figure("Add designs to compare")
    axes = [("params", "Parameters (M)", 1e6)]
    if (latency := latency_column(df, measured)) is not None:
        axes.append((latency.name, f"Latency, batch {latency.batch_size} (ms)", 1.0))
    names = df["name"].astype(str).tolist()
    colors = design_colors(names)
    fig = panels([f"MACs vs {label.split(' (')[0].lower()}" for _, label, _ in axes])
    no_mark = pd.Series(False, index=df.index)
    thin = {col: unreliable(df, latency.batch_size) if latency is not None and col == latency.name else no_mark
            for col, _, _ in axes}
    if len(names) > MANY_DESIGNS:
        for i, (col, label, scale) in enumerate(axes):
            for k, name in enumerate(names):
                fig.add_trace(go.Scatter(
                    x=[df[col].iloc[k] / scale], y=[df["macs"].iloc[k] / 1e9], mode="markers", name=name,
                    legendgroup=name, showlegend=i == 0, **_axes(i), cliponaxis=False,
                    marker=_points(11, [colors[name]], thin[col].iloc[k:k + 1]),
                    hovertemplate=name + "<br>%{x:.3g} " + label + "<br>%{y:.3g} GMACs"
                    + (f"<br>{MARK} thin figure" if thin[col].iloc[k] else "") + "<extra></extra>"))
        fig.update_layout(legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
                          height=HEIGHT_PX + 22 * ((len(names) + 3) // 4))
    else:
        for i, (col, label, scale) in enumerate(axes):
            fig.add_trace(go.Scatter(
                x=df[col] / scale, y=df["macs"] / 1e9, mode="markers+text", **_axes(i),
                text=[f"{n} {MARK}" if t else n for n, t in zip(names, thin[col], strict=True)],
                textposition=_label_positions(df[col]), showlegend=False, cliponaxis=False,
                marker=_points(12, [colors[n] for n in names], thin[col]),
                hovertemplate="%{text}<br>%{x:.3g} " + label + "<br>%{y:.3g} GMACs<extra></extra>",
            ))
    _titles(fig, "x", [label for _, label, _ in axes])
    _titles(fig, "y", ["MACs (G)"] * len(axes))
    return fig


def _points(size: int, colors: Sequence[str], thin: Sequence[bool]) -> dict:
    """Markers of the scatter: filled and outlined, or open (a ring in the design's colour) where the figure
    is thin."""
    return {"size": size, "color": list(colors), "symbol": ["circle-open" if t else "circle" for t in thin],
            "line": {"color": [c if t else "#222" for c, t in zip(colors, thin, strict=True)],
                     "width": [2.5 if t else 1 for t in thin]}}


def _label_positions(x: pd.Series) -> list[str]:
    """Labels above and below the points in turn, in order of ``x``, so neighbours rarely overlap."""
    order = x.rank(method="first").fillna(0).astype(int).tolist()
    return ["top center" if rank % 2 else "bottom center" for rank in order]


def stage_breakdown(reports: Sequence) -> go.Figure:
    """Per-stage stacked bars of parameters and MACs for every design (Reports with a ``stages`` table)."""
    if not reports:
        return empty_figure("Add designs to compare")
    names = [str(r.name) for r in reports]
    tables = [r.stages.set_index("stage") for r in reports]
    stages: list[str] = []
    for table in tables:
        stages += [s for s in table.index if s not in stages]
    stages.sort(key=lambda s: (s != "stem", s == "head"))  # stem, layer1.., head; stable within
    metrics = [("params", 1e6, "M params", "Parameters (M)"), ("macs", 1e9, "GMACs", "MACs (G)")]
    flat = len(names) > MANY_DESIGNS
    fig = panels(["Parameters per stage (M)", "MACs per stage (G)"], gap=0.04 if flat else 0.09)
    traces = []
    for k, stage in enumerate(stages):
        color = STAGE_PALETTE[round(k * (len(STAGE_PALETTE) - 1) / max(1, len(stages) - 1))]
        for i, (metric, scale, unit, _) in enumerate(metrics):
            values = [float(t.at[stage, metric]) / scale if stage in t.index else 0.0 for t in tables]
            where = {"y": names, "x": values, "orientation": "h"} if flat else {"x": names, "y": values}
            hover = "%{y} " + stage + ": %{x:.3g} " if flat else "%{x} " + stage + ": %{y:.3g} "
            traces.append(go.Bar(**where, name=stage, legendgroup=stage, showlegend=i == 0,
                                 marker_color=color, **_axes(i), hovertemplate=hover + unit + "<extra></extra>"))
    fig.add_traces(traces)
    # the legend lies under the plots, one line: a tall legend beside them was cut off at 16 designs
    fig.update_layout(barmode="stack", legend={"title": {"text": "stage"}, "orientation": "h", "yref": "container",
                                               "yanchor": "bottom", "y": 0, "x": 0})
    if flat:
        _horizontal(fig, len(metrics), names)
        _titles(fig, "x", [title for *_, title in metrics])
    else:
        _titles(fig, "y", [title for *_, title in metrics])
    return fig


BLOCK_SYMBOLS = {"basic": "circle", "bottleneck": "square", "res_bottleneck": "diamond"}
"""Marker per block type in :func:`block_params` (another type gets a triangle)."""


def block_rows(report: Report) -> pd.DataFrame:
    """A row per stage: its block type, depth, output channels and the parameters (and MACs per image) of
    one of its blocks, shortcut excluded. The block is the stage's last, whose input has the stage's own
    width (the first also changes the width, and its projection shortcut is a cost of the stage, not of the
    block type), so two stages of equal output width compare block for block. Read from the analysers'
    grouping of the layer plan into blocks, as the architecture drawing is."""
    last: dict[str, tuple[Block, int]] = {}
    for block in split(plan(report.spec)).blocks:
        last[block.stage] = (block, last.get(block.stage, (block, 0))[1] + 1)
    rows = []
    for kind, (stage, (block, depth)) in zip(report.spec.stage_blocks, last.items(), strict=True):
        layers = [*block.branch, *block.se]
        convs = [layer for layer in block.branch if layer.type.endswith("Conv2d")]  # StdConv2d too
        rows.append({"stage": stage, "block": kind, "blocks": depth, "channels": block.output_shape[0],
                     "params": sum(layer.params for layer in layers), "macs": sum(layer.macs for layer in layers),
                     "path": " → ".join(f"{c.kernel}×{c.kernel} {c.output_shape[0]}" + (f" g{c.groups}" if c.groups > 1
                                                                                       else "") for c in convs)})
    return pd.DataFrame(rows)


def block_params(reports: Sequence[Report]) -> go.Figure:
    """Parameters of one block against its output channels, a line per design and a marker per block type:
    at equal output width a bottleneck block (1×1 down to a quarter, 3×3, 1×1 up) holds several times fewer
    parameters than a basic one (two full-width 3×3), which is why ResNet-50 is deeper than ResNet-34 at a
    similar size. Hover gives each block's layers and MACs."""
    if not reports:
        return empty_figure("Add designs to compare")
    names = [str(r.name) for r in reports]
    colors = design_colors(names)
    tables = [block_rows(report) for report in reports]
    fig = panels(["Parameters of one block vs its output channels (shortcut not counted)"])
    for name, rows in zip(names, tables, strict=True):
        fig.add_trace(go.Scatter(
            x=rows["channels"], y=rows["params"] / 1e6, mode="lines+markers", name=name, cliponaxis=False,
            line={"color": colors[name], "width": 1.5},
            marker={"size": 11, "color": colors[name], "line": {"color": "#222", "width": 1},
                    "symbol": [BLOCK_SYMBOLS.get(b, "triangle-up") for b in rows["block"]]},
            customdata=list(zip(rows["stage"], rows["block"], rows["blocks"], rows["path"], rows["macs"] / 1e6,
                                strict=True)),
            hovertemplate=name + " %{customdata[0]}: %{customdata[1]} × %{customdata[2]}<br>%{x} output channels, "
                          "%{y:.3f} M params per block<br>%{customdata[3]}<br>%{customdata[4]:.1f} MMACs per "
                          "block per image<extra></extra>"))
    for block, symbol in BLOCK_SYMBOLS.items():  # legend entries for the marker shapes
        if any(block in r.spec.stage_blocks for r in reports):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{block} block",
                                     marker={"symbol": symbol, "size": 10, "color": "#999"}))
    channels = sorted({int(c) for rows in tables for c in rows["channels"]})
    params = [p / 1e6 for rows in tables for p in rows["params"]]
    _titles(fig, "x", ["output channels of the block"], type="log", tickvals=channels,
            ticktext=[str(c) for c in channels])
    _titles(fig, "y", ["parameters per block (M)"], type="log", **log_ticks(min(params), max(params)))
    fig.update_layout(legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
                      margin={"b": 90})
    return fig


def log_ticks(low: float, high: float) -> dict[str, list]:
    """Ticks 1, 2, 5, 10, 20, … between ``low`` and ``high`` (both > 0), written out: plotly's own log
    ticks label every digit, or write 0.5 as "5"."""
    ticks = [m * 10.0 ** k for k in range(floor(log10(low)), ceil(log10(high)) + 1)
             for m in (1, 2, 5) if low <= m * 10.0 ** k <= high]
    return {"tickvals": ticks, "ticktext": [f"{t:g}" for t in ticks]}


def latency_curves(frames: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Median latency (p10-p90 as error bars) and throughput against batch size, a line per design; a thin
    point (few timed calls, wide spread) is an open marker, says why on hover, and the legend says what
    open markers mean.

    ``frames`` maps a design name to its ``LatencyResult.to_frame()`` (a row per batch size)."""
    frames = {name: f[f["median_ms"].notna()] for name, f in frames.items() if not f.empty}
    frames = {name: f for name, f in frames.items() if not f.empty}
    if not frames:
        return empty_figure("Measure latency to see it against batch size")
    colors = design_colors(list(frames))
    fig = panels(["Latency vs batch size (ms)", "Throughput vs batch size (images/s)"])
    any_thin = False
    for name, frame in frames.items():
        errors = None
        if {"p10_ms", "p90_ms"} <= set(frame.columns):
            errors = {"type": "data", "array": frame["p90_ms"] - frame["median_ms"],
                      "arrayminus": frame["median_ms"] - frame["p10_ms"], "visible": True}
        why = ["; ".join(problems(row.get("count"), row.get("median_ms"), row.get("p90_ms")))
               if "count" in frame else "" for row in frame.to_dict("records")]
        thin = [bool(w) for w in why]
        any_thin = any_thin or any(thin)
        style = {"mode": "lines+markers", "line": {"color": colors[name]}, "legendgroup": name, "name": name,
                 "marker": _points(9, [colors[name]] * len(frame), thin),
                 "customdata": [f"<br>{MARK} {w}" if w else "" for w in why]}
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["median_ms"], error_y=errors, **_axes(0),
                                 hovertemplate="batch %{x}: %{y:.3g} ms%{customdata}<extra>" + name + "</extra>",
                                 **style))
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["throughput_img_s"], showlegend=False, **_axes(1),
                                 hovertemplate="batch %{x}: %{y:.4g} images/s%{customdata}<extra>" + name
                                 + "</extra>", **style))
    if any_thin:  # a legend entry only, to say what the open markers mean
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{MARK} open marker: thin figure (few "
                                 "timed calls or a wide spread)", marker=_points(9, ["#666"], [True]), **_axes(0)))
    batches = sorted({int(b) for f in frames.values() for b in f["batch_size"]})
    ticks = {"type": "log", "tickvals": batches, "ticktext": [str(b) for b in batches]}
    _titles(fig, "x", ["batch size"] * 2, **ticks)
    _titles(fig, "y", ["median latency (ms)", "throughput (images/s)"], rangemode="tozero")
    return fig


# --------------------------------------------------------------------------------------------------
# The network as a picture
# --------------------------------------------------------------------------------------------------
ARCHITECTURE_SCALES = ("channels", "macs")
_ROW = 2.0
"""Vertical units per stem/stage/head row: a box of height 1, then the gap with the feature-map size."""
_INNER_X, _INNER_STEP, _INNER_WIDTH = 1.35, 0.6, 0.46
"""Where the inner-structure boxes of a row start, how far apart they are and how wide (x units; the
stage boxes take x 0..1)."""
_INNER_HEIGHT = 0.9
_INNER_MIN = 0.1
"""Least height of an inner box (about 6 px): a 64-channel conv beside a 2048-channel one stays a box, not a
hairline."""
_LABEL_ROOM = 0.5
"""An inner box at least this tall holds its two-line label; a shorter one has it written just above."""


@dataclass(frozen=True)
class ArchitecturePart:
    """One row of the drawing: the stem, a stage or the head, with what is drawn and written for it."""

    stage: str
    title: str
    subtitle: str
    channels: int
    """Output channels (classes for the head): the box width under ``scale="channels"``."""
    macs: int
    """MACs of the whole part per image: the box width under ``scale="macs"``."""
    output: str
    """The feature map it hands on, ``C×H×W`` (``N logits`` after the head)."""
    inner: tuple[tuple[str, int], ...]
    """The layers of the part (of its first block for a stage): a label and output channels each."""
    note: str
    hover: str


def _conv_label(layer: Layer) -> str:
    parts = [f"{layer.kernel}×{layer.kernel}, {layer.output_shape[0]}"]
    if layer.groups > 1:
        parts.append(f"g{layer.groups}")
    if layer.stride > 1:
        parts.append(f"/{layer.stride}")
    return parts[0] + ("<br>" + " ".join(parts[1:]) if len(parts) > 1 else "")


def _inner(layers: Sequence[Layer]) -> tuple[tuple[str, int], ...]:
    """Convs, pools and the fc as (label, output channels); BN, which keeps the shape, is left out."""
    names = {"MaxPool2d": "max-pool", "AvgPool2d": "avg-pool", "AdaptiveAvgPool2d": "global<br>avg-pool",
             "BlurPool2d": "blur-pool", "ConstantPad2d": "zero-pad"}
    out = []
    for layer in layers:
        if layer.type in ("Conv2d", "StdConv2d"):
            out.append((_conv_label(layer), layer.output_shape[0]))
        elif layer.type == "Linear":
            out.append((f"fc, {layer.output_shape[0]}", layer.output_shape[0]))
        elif layer.type in names:
            stride = f" /{layer.stride}" if layer.stride > 1 else ""
            size = f"{layer.kernel}×{layer.kernel} " if layer.kernel else ""
            out.append((f"{size}{names[layer.type]}{stride}", layer.output_shape[0]))
    return tuple(out)


def _attention_text(block: Block, kind: str) -> str:
    """What the block's attention layers are: SE's widths, ECA's kernel, or the fork's attention."""
    if kind == "split_attention":
        return " · split attention"
    if kind in ("sk_basic", "sk_bottleneck"):
        return " · selective-kernel attention"
    if not block.se:
        return ""
    if block.se[1].type == "Conv1d":
        return f" · ECA k={block.se[1].kernel}"
    squeeze = block.se[1]
    return f" · SE {squeeze.input_shape[0]}→{squeeze.output_shape[0]}→{squeeze.input_shape[0]}"


def _shortcut_text(block: Block, depth: int, kind: str) -> str:
    """The first block's shortcut, which carries the stride and the change of width; identity after it."""
    steps = []
    for layer in block.shortcut:
        stride = f" /{layer.stride}" if layer.stride > 1 else ""
        if layer.type in ("Conv2d", "StdConv2d"):
            steps.append(f"{layer.kernel}×{layer.kernel} conv{stride}")
        elif layer.type in ("BatchNorm2d", "GroupNorm"):
            steps.append("BN" if layer.type == "BatchNorm2d" else "GN")
        elif layer.type == "AvgPool2d":
            steps.append(f"{layer.kernel}×{layer.kernel} avg-pool{stride}")
        else:
            steps.append(f"identity{stride} + zero channels")
    text = "shortcut: " + (" → ".join(steps) if steps else "identity")
    if steps and depth > 1:
        text += f" (block 1), identity (blocks 2-{depth})" if depth > 2 else " (block 1), identity (block 2)"
    return text + _attention_text(block, kind)


_STRIDED = {"Conv2d", "StdConv2d", "MaxPool2d", "AvgPool2d", "BlurPool2d"}
"""Stem layers that can carry a stride."""


def _size(shape: Sequence[int]) -> str:
    """``C×H×W`` of a report shape ``(N, C, H, W)``; ``K logits`` for ``(N, K)``."""
    return "×".join(str(n) for n in shape[1:]) if len(shape) == 4 else f"{shape[1]} logits"


def architecture_parts(report: Report) -> list[ArchitecturePart]:
    """The stem, each stage and the head of ``report``'s network as the drawing shows them.

    Built from the report's stage table (output shapes, params, MACs, receptive fields) and the
    analysers' grouping of the layer plan into stem, blocks and head, so it follows the counts exactly."""
    spec = report.spec
    network = split(plan(spec))
    blocks: dict[str, list[Block]] = {}
    for block in network.blocks:
        blocks.setdefault(block.stage, []).append(block)
    parts, index = [], 0
    for row in report.stages.itertuples(index=False):
        shape, stage = tuple(row.output_shape), row.stage
        hover = f"{stage}<br>{row.params:,} params ({row.params_share:.1%})<br>" \
                f"{row.macs / report.batch_size:,.0f} MACs per image ({row.macs_share:.1%})"
        if pd.notna(row.receptive_field):
            hover += f"<br>output stride {row.output_stride}, receptive field {row.receptive_field} px"
        macs = int(row.macs) // report.batch_size
        if stage == "stem":
            stride = prod(layer.stride for layer in network.stem if layer.type in _STRIDED)
            parts.append(ArchitecturePart(stage, f"stem · {spec.stem}", f"{shape[1]} ch · stride {stride}",
                                          shape[1], macs, _size(shape), _inner(network.stem), "", hover))
        elif stage == "head":
            parts.append(ArchitecturePart(stage, "head · pool → fc", f"{network.head[0].input_shape[0]} → {shape[1]}",
                                          shape[1], macs, _size(shape), _inner(network.head), "", hover))
        else:
            members, kind = blocks[stage], spec.stage_blocks[index]  # stage rows come in order
            first = members[0]
            widths = f"{spec.widths[index]} → {shape[1]} ch" if BLOCKS[kind].expansion > 1 else f"{shape[1]} ch"
            stride = max(layer.stride for layer in first.branch)  # the first block's branch carries it
            index += 1
            parts.append(ArchitecturePart(
                stage, f"{stage} · {kind} × {len(members)}", f"{widths} · stride {stride}", shape[1], macs,
                _size(shape), _inner(first.branch), _shortcut_text(first, len(members), kind), hover))
    return parts


def architecture(reports: Report | Sequence[Report], scale: str = "channels") -> go.Figure:
    """The network drawn as a student would: input, stem, each stage as a box (block type × depth,
    widths, stride), the feature-map size between them, the head; beside each row its inner structure
    (the stem's layers, a stage's first block: 1×1 → 3×3 → 1×1 for a bottleneck, 3×3 → 3×3 for a basic
    block, with its shortcut and SE).

    ``reports``: one Report, or several drawn side by side on one scale. Box widths are proportional to
    each part's output channels (``scale="channels"``) or its MACs (``scale="macs"``), and inner-structure
    box heights to each layer's output channels, the largest in the figure filling the row.
    """
    reports = [reports] if isinstance(reports, Report) else list(reports)
    if scale not in ARCHITECTURE_SCALES:
        raise SpecError("scale", f"{scale!r} is not allowed; choose one of {', '.join(ARCHITECTURE_SCALES)}")
    if not reports:
        return empty_figure("Add a design to draw it")
    drawn = [architecture_parts(report) for report in reports]
    widest = max(getattr(part, scale) for parts in drawn for part in parts) or 1
    tallest = max(channels for parts in drawn for part in parts for _, channels in part.inner)
    right = _INNER_X + _INNER_STEP * (max(len(part.inner) for parts in drawn for part in parts) - 1) + _INNER_WIDTH
    rows = max(len(parts) for parts in drawn)
    fig = panels([f"{r.name}<br><sup>{r.params / 1e6:.2f} M params · {r.macs / r.batch_size / 1e9:.3g} GMACs "
                  f"per image · {r.input_size[0]}×{r.input_size[1]} input</sup>" for r in reports], gap=0.04)
    shapes, notes = [], list(fig.layout.annotations)
    for i, (report, parts) in enumerate(zip(reports, drawn, strict=True)):
        axes = _axes(i)
        ref = {"xref": axes["xaxis"], "yref": axes["yaxis"]}
        spec = report.spec
        notes.append({**ref, "name": f"{i}:input", "x": 0.5, "y": 1.0, "showarrow": False, "yanchor": "bottom",
                      "text": f"input {spec.in_channels}×{spec.input_size[0]}×{spec.input_size[1]}"})
        for k, part in enumerate(parts):
            top = -k * _ROW + 0.9
            half = getattr(part, scale) / widest / 2
            color = STAGE_PALETTE[round(k * (len(STAGE_PALETTE) - 1) / max(1, len(parts) - 1))]
            if k:  # the arrow from the previous part, past its feature-map size
                shapes.append({**ref, "type": "line", "x0": 0.5, "x1": 0.5, "y0": top + 1.0, "y1": top,
                               "line": {"color": "#999", "width": 1}, "layer": "below"})
            shapes.append({**ref, "type": "rect", "name": f"{i}:{part.stage}", "x0": 0.5 - half, "x1": 0.5 + half,
                           "y0": top - 1.0, "y1": top, "fillcolor": color, "opacity": 0.45,
                           "line": {"color": color, "width": 1.5}})
            notes.append({**ref, "name": f"{i}:{part.stage}:label", "x": 0.5, "y": top - 0.5, "showarrow": False,
                          "text": f"<b>{part.title}</b><br>{part.subtitle}"})
            notes.append({**ref, "name": f"{i}:{part.stage}:size", "x": 0.52, "y": top - 1.45, "showarrow": False,
                          "xanchor": "left", "font": {"size": 11, "color": "#555"}, "text": part.output})
            for j, (label, channels) in enumerate(part.inner):
                x0, height = _INNER_X + j * _INNER_STEP, max(_INNER_MIN, _INNER_HEIGHT * channels / tallest)
                low, high = top - 0.5 - height / 2, top - 0.5 + height / 2
                shapes.append({**ref, "type": "rect", "name": f"{i}:{part.stage}:inner{j}", "x0": x0,
                               "x1": x0 + _INNER_WIDTH, "y0": low, "y1": high,
                               "fillcolor": color, "opacity": 0.3, "line": {"color": color, "width": 1}})
                inside = height >= _LABEL_ROOM  # else above the box, never drawn through it
                notes.append({**ref, "name": f"{i}:{part.stage}:inner{j}", "x": x0 + _INNER_WIDTH / 2,
                              "y": top - 0.5 if inside else high, "yanchor": "middle" if inside else "bottom",
                              "showarrow": False, "font": {"size": 10}, "text": label})
                if j:
                    notes.append({**ref, "x": x0, "y": top - 0.5, "ax": x0 - _INNER_STEP + _INNER_WIDTH,
                                  "ay": top - 0.5, "axref": ref["xref"], "ayref": ref["yref"], "text": "",
                                  "arrowhead": 2, "arrowsize": 0.8, "arrowwidth": 1, "arrowcolor": "#999"})
            if part.note:
                notes.append({**ref, "name": f"{i}:{part.stage}:note", "x": _INNER_X, "y": top - 1.1,
                              "showarrow": False, "xanchor": "left", "font": {"size": 10, "color": "#555"},
                              "text": part.note})
        fig.add_trace(go.Scatter(x=[0.5] * len(parts), y=[-k * _ROW + 0.4 for k in range(len(parts))],
                                 mode="markers", marker={"size": 30, "opacity": 0}, showlegend=False,
                                 hovertext=[part.hover for part in parts], hoverinfo="text", **axes))
        fig.update_layout({f"xaxis{_suffix(i)}": {"range": [-0.05, right + 0.05], "visible": False},
                           f"yaxis{_suffix(i)}": {"range": [-rows * _ROW + 0.6, 1.5], "visible": False}})
    fig.update_layout(shapes=shapes, annotations=notes, height=110 * rows + 140,
                      margin={"l": 10, "r": 10, "t": 70, "b": 10})
    return fig
