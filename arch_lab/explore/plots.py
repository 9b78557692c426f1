"""Plots of explored designs (plotly): metric against metric with the Pareto front, and EDFs of spaces.

Published models are drawn as labelled reference points: torchvision's ResNets, counted by our own
``sweep_metrics`` (so they sit on the same axes as the samples) and labelled with torchvision's published
ImageNet acc@1 (:mod:`arch_lab.reference`). Accuracy belongs to those trained weights only: no sampled
design is ever given one. The EDF is the RegNet paper's way to compare spaces: F(x) = the fraction of a
space's designs with a value <= x (pycls ``sweep/plotting.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from arch_lab.analysis.sweep import sweep_metrics
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


def scatter(data: ExploreResult | pd.DataFrame, x: str = "macs", y: str = "params",
            known: Sequence[str] = ()) -> go.Figure:
    """``y`` against ``x`` for every design, the Pareto designs highlighted and joined in ``x`` order, and
    the ``known`` presets (e.g. :data:`~arch_lab.reference.TORCHVISION_PRESETS`) as labelled points."""
    table = _table(data)
    xs, ys = _column(table, x), _column(table, y)
    figure = go.Figure()
    figure.add_trace(go.Scattergl(x=xs, y=ys, mode="markers", name="designs", text=table["name"],
                                  marker={"size": 5, "opacity": 0.5}))
    front = table[table["pareto"]].sort_values(x)
    figure.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines+markers", name="Pareto front",
                                text=front["name"], line={"shape": "hv"}))
    if known:
        models = known_models(x, y, known)
        labels = [f"{m} ({a:.1f}% acc@1)" if a == a else m for m, a in zip(models["model"], models["acc1"],
                                                                           strict=True)]
        # labels on hover: 25 published models written out would cover the designs
        figure.add_trace(go.Scatter(x=models[x], y=models[y], mode="markers", name="published models "
                                    "(torchvision; hover: ImageNet acc@1)", text=labels, hoverinfo="text+x+y",
                                    marker={"symbol": "star", "size": 11}))
    # log axes: sampled designs and published models span orders of magnitude
    figure.update_layout(xaxis={"title": x, "type": "log"}, yaxis={"title": y, "type": "log"},
                         legend={"orientation": "h", "y": -0.25})
    return figure


def edf_points(values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and F at each: F = fraction of values <= it (ties get the highest F of their group)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    ordered = ordered[~np.isnan(ordered)]
    return ordered, np.searchsorted(ordered, ordered, side="right") / max(len(ordered), 1)


def edf(spaces: Mapping[str, ExploreResult | pd.DataFrame], metric: str = "macs") -> go.Figure:
    """The EDF of ``metric`` of each space (name -> result or table), overlaid as in the RegNet paper."""
    figure = go.Figure()
    for name, data in spaces.items():
        xs, fs = edf_points(_column(_table(data), metric))
        figure.add_trace(go.Scatter(x=xs, y=fs, mode="lines", line={"shape": "hv"}, name=f"{name} (n={len(xs):,})"))
    figure.update_layout(xaxis_title=metric, yaxis_title=f"fraction of designs with {metric} <= x",
                         yaxis_range=[0, 1])
    return figure
