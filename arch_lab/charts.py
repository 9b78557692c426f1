"""Plotly figures of a comparison: pure functions of the analysers' DataFrames and Reports, no gradio.

Each design keeps one colour in every chart (its position in the comparison), every axis names its unit,
and a figure with nothing to show says so instead of drawing empty axes. The UI, the CLI or a notebook can
all use these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

PALETTE = tuple(px.colors.qualitative.Plotly) + tuple(px.colors.qualitative.Dark2)
"""Sixteen-plus distinct colours, one per design (the app compares at most 16)."""
STAGE_PALETTE = px.colors.sequential.Viridis
HEIGHT_PX = 380
LATENCY_COLUMN = re.compile(r"^latency_ms_b(\d+)$")
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


def latency_column(df: pd.DataFrame) -> str | None:
    """The measured latency column at the smallest batch size (``latency_ms_b<n>``), if any was measured."""
    found = [(int(m.group(1)), col) for col in df.columns if (m := LATENCY_COLUMN.match(str(col)))]
    found = [(batch, col) for batch, col in sorted(found) if df[col].notna().any()]
    return found[0][1] if found else None


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


def metric_bars(df: pd.DataFrame, baseline: str | None = None) -> go.Figure:
    """Parameters, MACs and (when measured) latency side by side: one bar per design, labelled with the
    ratio against the baseline, whose bar is outlined."""
    if df.empty:
        return empty_figure("Add designs to compare")
    metrics = [("params", "Parameters (M)", 1e6), ("macs", "MACs (G)", 1e9)]
    if (col := latency_column(df)) is not None:
        metrics.append((col, f"Latency, batch {col.rsplit('_b', 1)[1]} (ms)", 1.0))
    names = df["name"].astype(str).tolist()
    colors = design_colors(names)
    fig = panels([label for _, label, _ in metrics])
    for i, (col, label, scale) in enumerate(metrics):
        ratio_col = f"{col}_vs_baseline"
        ratios = df[ratio_col] if ratio_col in df else pd.Series([None] * len(df))
        fig.add_trace(go.Bar(
            x=names, y=df[col] / scale, name=label, showlegend=False, **_axes(i),
            marker={"color": [colors[n] for n in names],
                    "line": {"color": "#222", "width": [2.5 if n == baseline else 0 for n in names]}},
            text=[f"×{r:.2f}" if pd.notna(r) else "" for r in ratios], textposition="outside", cliponaxis=False,
            hovertemplate="%{x}<br>%{y:.3g}<extra>" + label + "</extra>",
        ))
    _titles(fig, "y", [label for _, label, _ in metrics], rangemode="tozero")
    return fig


def efficiency_scatter(df: pd.DataFrame) -> go.Figure:
    """MACs against parameters (and against latency when measured), each point labelled with its design."""
    if df.empty:
        return empty_figure("Add designs to compare")
    axes = [("params", "Parameters (M)", 1e6)]
    if (col := latency_column(df)) is not None:
        axes.append((col, f"Latency, batch {col.rsplit('_b', 1)[1]} (ms)", 1.0))
    names = df["name"].astype(str).tolist()
    colors = design_colors(names)
    fig = panels([f"MACs vs {label.split(' (')[0].lower()}" for _, label, _ in axes])
    for i, (col, label, scale) in enumerate(axes):
        fig.add_trace(go.Scatter(
            x=df[col] / scale, y=df["macs"] / 1e9, mode="markers+text", text=names, **_axes(i),
            textposition=_label_positions(df[col]), showlegend=False, cliponaxis=False,
            marker={"size": 12, "color": [colors[n] for n in names], "line": {"color": "#222", "width": 1}},
            hovertemplate="%{text}<br>%{x:.3g} " + label + "<br>%{y:.3g} GMACs<extra></extra>",
        ))
    _titles(fig, "x", [label for _, label, _ in axes])
    _titles(fig, "y", ["MACs (G)"] * len(axes))
    return fig


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
    fig = panels(["Parameters per stage (M)", "MACs per stage (G)"])
    traces = []
    for k, stage in enumerate(stages):
        color = STAGE_PALETTE[round(k * (len(STAGE_PALETTE) - 1) / max(1, len(stages) - 1))]
        for i, (metric, scale, unit, _) in enumerate(metrics):
            values = [float(t.at[stage, metric]) / scale if stage in t.index else 0.0 for t in tables]
            traces.append(go.Bar(x=names, y=values, name=stage, legendgroup=stage, showlegend=i == 0,
                                 marker_color=color, **_axes(i),
                                 hovertemplate="%{x} " + stage + ": %{y:.3g} " + unit + "<extra></extra>"))
    fig.add_traces(traces)
    _titles(fig, "y", [title for *_, title in metrics])
    fig.update_layout(barmode="stack", legend_title_text="stage")
    return fig


def latency_curves(frames: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Median latency (p10-p90 as error bars) and throughput against batch size, a line per design.

    ``frames`` maps a design name to its ``LatencyResult.to_frame()`` (a row per batch size)."""
    frames = {name: f[f["median_ms"].notna()] for name, f in frames.items() if not f.empty}
    frames = {name: f for name, f in frames.items() if not f.empty}
    if not frames:
        return empty_figure("Measure latency to see it against batch size")
    colors = design_colors(list(frames))
    fig = panels(["Latency vs batch size (ms)", "Throughput vs batch size (images/s)"])
    for name, frame in frames.items():
        errors = None
        if {"p10_ms", "p90_ms"} <= set(frame.columns):
            errors = {"type": "data", "array": frame["p90_ms"] - frame["median_ms"],
                      "arrayminus": frame["median_ms"] - frame["p10_ms"], "visible": True}
        style = {"mode": "lines+markers", "line": {"color": colors[name]}, "legendgroup": name, "name": name}
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["median_ms"], error_y=errors, **_axes(0),
                                 hovertemplate="batch %{x}: %{y:.3g} ms<extra>" + name + "</extra>", **style))
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["throughput_img_s"], showlegend=False, **_axes(1),
                                 hovertemplate="batch %{x}: %{y:.4g} images/s<extra>" + name + "</extra>",
                                 **style))
    batches = sorted({int(b) for f in frames.values() for b in f["batch_size"]})
    ticks = {"type": "log", "tickvals": batches, "ticktext": [str(b) for b in batches]}
    _titles(fig, "x", ["batch size"] * 2, **ticks)
    _titles(fig, "y", ["median latency (ms)", "throughput (images/s)"], rangemode="tozero")
    return fig
