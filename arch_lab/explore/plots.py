"""Plots of explored designs (plotly): metric against metric with the Pareto front, and EDFs of spaces.

Published models are drawn as labelled reference points: torchvision's ResNets, counted by our own
``sweep_metrics`` (so they sit on the same axes as the samples) and labelled with torchvision's published
ImageNet acc@1 (:mod:`arch_lab.reference`). Accuracy belongs to those trained weights only: no sampled
design is ever given one. The axes are the sampled designs' (published models outside them are left out
and counted in the legend) and read in the app's units (:data:`arch_lab.display.METRIC_UNITS`: MACs in G,
parameters in M). The EDF is the RegNet paper's way to compare spaces: F(x) = the fraction of a space's
designs with a value <= x (pycls ``sweep/plotting.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from arch_lab.analysis.sweep import sweep_metrics
from arch_lab.charts import log_ticks
from arch_lab.display import metric_unit
from arch_lab.errors import SpecError
from arch_lab.explore.result import ExploreResult
from arch_lab.presets import load_preset
from arch_lab.reference import TORCHVISION_PRESETS, reference


def _table(data: ExploreResult | pd.DataFrame) -> pd.DataFrame:
    return data.table if isinstance(data, ExploreResult) else data


def _column(table: pd.DataFrame, name: str) -> pd.Series:
    if name not in table.columns:
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        raise SpecError("metric", f"{name!r} is not a column; choose one of {', '.join(numeric)}")
    return table[name]


def known_models(x: str, y: str, presets: Sequence[str] = TORCHVISION_PRESETS) -> pd.DataFrame:
    """A row per published model: its ``x`` and ``y`` metrics (our counts) and its published acc@1 (%)."""
    rows = []
    for preset in presets:
        spec = load_preset(preset)
        metrics = {**sweep_metrics(spec), "num_stages": spec.num_stages, "num_blocks": spec.num_blocks}
        found = reference(preset)
        rows.append({"model": preset, x: metrics[x], y: metrics[y],
                     "acc1": found.acc1 if found else float("nan"), "weights": found.weights if found else ""})
    return pd.DataFrame(rows)


def _axis(values: pd.Series, metric: str) -> dict:
    """An axis fitted to the designs' ``values`` (already in the metric's unit): titled with its unit, log
    when they span more than ten times, with a little room around them."""
    title = metric_unit(metric)[0]
    low, high = float(values.min()), float(values.max())
    if low > 0 and high / low > 10:
        pad = max(np.log10(high / low) * 0.06, 0.02)
        span = [np.log10(low) - pad, np.log10(high) + pad]
        return {"title": title, "type": "log", "range": span, **log_ticks(10 ** span[0], 10 ** span[1])}
    pad = (high - low) * 0.06 or abs(high) * 0.05 or 1.0
    return {"title": title, "type": "linear", "range": [low - pad, high + pad], "exponentformat": "none"}


def _inside(values: pd.Series, axis: dict) -> pd.Series:
    low, high = axis["range"]
    if axis["type"] == "log":
        values = np.log10(values.where(values > 0))
    return (values >= low) & (values <= high)


def scatter(data: ExploreResult | pd.DataFrame, x: str = "macs", y: str = "params",
            known: Sequence[str] = ()) -> go.Figure:
    """``y`` against ``x`` for every design, the Pareto designs highlighted and joined in ``x`` order, and
    the ``known`` presets (e.g. :data:`~arch_lab.reference.TORCHVISION_PRESETS`) that fall within the designs'
    range as labelled points.

    The axes are the designs' (a 0.4-GMAC space beside ResNet-152's 11.5 GMACs would be a strip), in the
    app's units (MACs in G, parameters in M); the legend says how many published models lie outside."""
    table = _table(data)
    xs, ys = _column(table, x) / metric_unit(x)[1], _column(table, y) / metric_unit(y)[1]
    x_axis, y_axis = _axis(xs, x), _axis(ys, y)
    hover = f"%{{text}}<br>{x_axis['title']} %{{x:.4g}}<br>{y_axis['title']} %{{y:.4g}}<extra></extra>"
    figure = go.Figure()
    figure.add_trace(go.Scattergl(x=xs, y=ys, mode="markers", name="designs", text=table["name"],
                                  marker={"size": 5, "opacity": 0.45, "color": "#7f8fa6"}, hovertemplate=hover))
    front = table["pareto"].to_numpy(dtype=bool)
    order = np.argsort(xs[front].to_numpy(), kind="stable")
    figure.add_trace(go.Scatter(x=xs[front].iloc[order], y=ys[front].iloc[order], mode="lines+markers",
                                name="Pareto front", text=table["name"][front].iloc[order], hovertemplate=hover,
                                line={"shape": "hv", "color": "#d62728", "width": 2},
                                marker={"size": 8, "color": "#d62728"}))
    if known:
        models = known_models(x, y, known)
        mx, my = models[x] / metric_unit(x)[1], models[y] / metric_unit(y)[1]
        shown = _inside(mx, x_axis) & _inside(my, y_axis)
        labels = [f"{m} {a:.1f}%" if a == a else m for m, a in zip(models["model"], models["acc1"], strict=True)]
        right = _inside(mx, {**x_axis, "range": [sum(x_axis["range"]) / 2, x_axis["range"][1]]})[shown]
        above = mx[shown].rank(method="first").astype(int) % 2 == 1  # neighbours in x alternate above and below
        figure.add_trace(go.Scatter(  # labels written away from the nearer edge, so none is cut
            x=mx[shown], y=my[shown], mode="markers+text", text=[t for t, s in zip(labels, shown, strict=True) if s],
            textposition=[f"{'top' if a else 'bottom'} {'left' if r else 'right'}" for a, r in
                          zip(above, right, strict=True)], textfont={"size": 10},
            cliponaxis=False, hovertemplate=hover,
            name=f"published models, ImageNet acc@1 ({int(shown.sum())} of {len(models)} within these axes)",
            marker={"symbol": "star", "size": 12, "color": "#ff7f0e", "line": {"color": "#222", "width": 1}}))
    figure.update_layout(xaxis=x_axis, yaxis=y_axis, legend={"orientation": "h", "y": -0.2})
    return figure


def edf_points(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and F at each: F = fraction of values <= it (ties get the highest F of their group)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    ordered = ordered[~np.isnan(ordered)]
    return ordered, np.searchsorted(ordered, ordered, side="right") / max(len(ordered), 1)


def edf(spaces: Mapping[str, ExploreResult | pd.DataFrame], metric: str = "macs") -> go.Figure:
    """The EDF of ``metric`` of each space (name -> result or table), overlaid as in the RegNet paper, in the
    metric's unit."""
    title, divisor, _ = metric_unit(metric)
    figure = go.Figure()
    for name, data in spaces.items():
        xs, fs = edf_points(_column(_table(data), metric) / divisor)
        figure.add_trace(go.Scatter(x=xs, y=fs, mode="lines", line={"shape": "hv"}, name=f"{name} (n={len(xs):,})"))
    figure.update_layout(xaxis={"title": title, "exponentformat": "none"},
                         yaxis={"title": f"fraction of designs with {title.split(' (')[0]} ≤ x", "range": [0, 1]},
                         legend={"orientation": "h", "y": -0.25})
    return figure
