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
from plotly.subplots import make_subplots

PALETTE = tuple(px.colors.qualitative.Plotly) + tuple(px.colors.qualitative.Dark2)
"""Sixteen-plus distinct colours, one per design (the app compares at most 16)."""
STAGE_PALETTE = px.colors.sequential.Viridis
HEIGHT_PX = 380
LATENCY_COLUMN = re.compile(r"^latency_ms_b(\d+)$")


def design_colors(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def latency_column(df: pd.DataFrame) -> str | None:
    """The measured latency column at the smallest batch size (``latency_ms_b<n>``), if any was measured."""
    found = [(int(m.group(1)), col) for col in df.columns if (m := LATENCY_COLUMN.match(str(col)))]
    found = [(batch, col) for batch, col in sorted(found) if df[col].notna().any()]
    return found[0][1] if found else None


def empty_figure(message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 15, "color": "#666"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _styled(fig, height=200)


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
    fig = make_subplots(rows=1, cols=len(metrics), subplot_titles=[label for _, label, _ in metrics],
                        horizontal_spacing=0.08)
    for i, (col, label, scale) in enumerate(metrics, start=1):
        ratio_col = f"{col}_vs_baseline"
        ratios = df[ratio_col] if ratio_col in df else pd.Series([None] * len(df))
        fig.add_trace(go.Bar(
            x=names, y=df[col] / scale, name=label, showlegend=False,
            marker={"color": [colors[n] for n in names],
                    "line": {"color": "#222", "width": [2.5 if n == baseline else 0 for n in names]}},
            text=[f"×{r:.2f}" if pd.notna(r) else "" for r in ratios], textposition="outside",
            hovertemplate="%{x}<br>%{y:.3g}<extra>" + label + "</extra>",
        ), row=1, col=i)
        fig.update_yaxes(title_text=label, row=1, col=i)
    fig.update_yaxes(rangemode="tozero")
    return _styled(fig)


def efficiency_scatter(df: pd.DataFrame) -> go.Figure:
    """MACs against parameters (and against latency when measured), each point labelled with its design."""
    if df.empty:
        return empty_figure("Add designs to compare")
    axes = [("params", "Parameters (M)", 1e6)]
    if (col := latency_column(df)) is not None:
        axes.append((col, f"Latency, batch {col.rsplit('_b', 1)[1]} (ms)", 1.0))
    names = df["name"].astype(str).tolist()
    colors = design_colors(names)
    fig = make_subplots(rows=1, cols=len(axes), horizontal_spacing=0.1,
                        subplot_titles=[f"MACs vs {label.split(' (')[0].lower()}" for _, label, _ in axes])
    for i, (col, label, scale) in enumerate(axes, start=1):
        fig.add_trace(go.Scatter(
            x=df[col] / scale, y=df["macs"] / 1e9, mode="markers+text", text=names,
            textposition="top center", showlegend=False,
            marker={"size": 12, "color": [colors[n] for n in names], "line": {"color": "#222", "width": 1}},
            hovertemplate="%{text}<br>%{x:.3g} " + label + "<br>%{y:.3g} GMACs<extra></extra>",
        ), row=1, col=i)
        fig.update_xaxes(title_text=label, row=1, col=i)
        fig.update_yaxes(title_text="MACs (G)", row=1, col=i)
    return _styled(fig)


def stage_breakdown(reports: Sequence) -> go.Figure:
    """Per-stage stacked bars of parameters and MACs for every design (Reports with a ``stages`` table)."""
    if not reports:
        return empty_figure("Add designs to compare")
    names = [str(r.name) for r in reports]
    stages: list[str] = []
    for report in reports:
        stages += [s for s in report.stages["stage"] if s not in stages]
    stages.sort(key=lambda s: (s != "stem", s == "head"))  # stem, layer1.., head; stable within
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Parameters per stage (M)", "MACs per stage (G)"])
    for k, stage in enumerate(stages):
        color = STAGE_PALETTE[round(k * (len(STAGE_PALETTE) - 1) / max(1, len(stages) - 1))]
        for col, (metric, scale, unit) in enumerate([("params", 1e6, "M params"), ("macs", 1e9, "GMACs")], 1):
            values = [_stage_value(r, stage, metric) / scale for r in reports]
            fig.add_trace(go.Bar(x=names, y=values, name=stage, legendgroup=stage, showlegend=col == 1,
                                 marker_color=color,
                                 hovertemplate="%{x} " + stage + ": %{y:.3g} " + unit + "<extra></extra>"),
                          row=1, col=col)
    fig.update_yaxes(title_text="Parameters (M)", row=1, col=1)
    fig.update_yaxes(title_text="MACs (G)", row=1, col=2)
    fig.update_layout(barmode="stack", legend_title_text="stage")
    return _styled(fig)


def latency_curves(frames: Mapping[str, pd.DataFrame]) -> go.Figure:
    """Median latency (p10-p90 as error bars) and throughput against batch size, a line per design.

    ``frames`` maps a design name to its ``LatencyResult.to_frame()`` (a row per batch size)."""
    frames = {name: f[f["median_ms"].notna()] for name, f in frames.items() if not f.empty}
    frames = {name: f for name, f in frames.items() if not f.empty}
    if not frames:
        return empty_figure("Measure latency to see it against batch size")
    colors = design_colors(list(frames))
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=["Latency vs batch size (ms)", "Throughput vs batch size (images/s)"])
    for name, frame in frames.items():
        errors = None
        if {"p10_ms", "p90_ms"} <= set(frame.columns):
            errors = {"type": "data", "array": frame["p90_ms"] - frame["median_ms"],
                      "arrayminus": frame["median_ms"] - frame["p10_ms"], "visible": True}
        style = {"mode": "lines+markers", "line": {"color": colors[name]}, "legendgroup": name}
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["median_ms"], name=name, error_y=errors,
                                 hovertemplate="batch %{x}: %{y:.3g} ms<extra>" + name + "</extra>", **style),
                      row=1, col=1)
        fig.add_trace(go.Scatter(x=frame["batch_size"], y=frame["throughput_img_s"], name=name, showlegend=False,
                                 hovertemplate="batch %{x}: %{y:.4g} images/s<extra>" + name + "</extra>",
                                 **style), row=1, col=2)
    batches = sorted({int(b) for f in frames.values() for b in f["batch_size"]})
    fig.update_xaxes(type="log", tickvals=batches, ticktext=[str(b) for b in batches], title_text="batch size")
    fig.update_yaxes(title_text="median latency (ms)", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="throughput (images/s)", rangemode="tozero", row=1, col=2)
    return _styled(fig)


def _stage_value(report, stage: str, metric: str) -> float:
    rows = report.stages[report.stages["stage"] == stage]
    return float(rows[metric].sum()) if not rows.empty else 0.0


def _styled(fig: go.Figure, height: int = HEIGHT_PX) -> go.Figure:
    fig.update_layout(template="plotly_white", height=height, margin={"l": 60, "r": 20, "t": 80, "b": 60},
                      font={"size": 12}, hoverlabel={"namelength": -1})
    return fig
