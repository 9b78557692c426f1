"""Tables as the app shows them: the analysers' DataFrames with readable units and shapes (pure pandas).

The CSV download and the API return the library's full, exact table; these views only choose columns,
scale them to M/G with a few digits and write shapes as ``N×C×H×W`` so a student can follow the tensor
through the network.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

# (column in compare(), header in the app, divisor, decimals)
METRICS = (
    ("params", "params (M)", 1e6, 2),
    ("macs", "MACs (G)", 1e9, 3),
    ("activations", "activations (M)", 1e6, 2),
    ("weights_fp32_mb", "weights fp32 (MB)", 1, 1),
    ("train_step_mb", "train step (MB)", 1, 1),
)
MEASURED = (
    (re.compile(r"^latency_ms_b(\d+)$"), "latency b{} (ms)", 2),
    (re.compile(r"^throughput_img_s_b(\d+)$"), "throughput b{} (img/s)", 1),
)
LEADING_COLUMNS = (("depths", "depths"), ("widths", "widths"))
"""Shown before the metrics: what a student usually changes."""
TRAILING_COLUMNS = (("block", "block"), ("groups", "groups"), ("width_per_group", "width/group"), ("stem", "stem"),
                    ("shortcut", "shortcut"), ("input_size", "input"))


def text(value: Any) -> str:
    """The comparison's ``[2, 2, 2, 2]`` as ``2, 2, 2, 2`` and ``224x224`` as ``224×224``."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    value = str(value)
    if re.fullmatch(r"\d+x\d+", value):
        return value.replace("x", "×")
    return value[1:-1] if value.startswith("[") and value.endswith("]") else value


def escape_markdown(value: str) -> str:
    """User text (names, values quoted in error messages) shown in Markdown, kept literal."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~" else c for c in value)


def comparison_view(df: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """A row per design: depths and widths, each metric followed by its ratio to the baseline (``×base``),
    then the rest of the design's shape."""
    if df.empty:
        return pd.DataFrame(columns=["design", *(h for _, h in LEADING_COLUMNS), *(m[1] for m in METRICS)])
    out = pd.DataFrame({"design": [f"{n} (baseline)" if n == baseline else str(n) for n in df["name"]]})
    for col, header in LEADING_COLUMNS:
        out[header] = [text(v) for v in df[col]]
    for col, header, scale, digits in _metric_columns(df):
        out[header] = (pd.to_numeric(df[col], errors="coerce") / scale).round(digits)
        if f"{col}_vs_baseline" in df:
            out[f"{header.split(' (')[0]} ×base"] = pd.to_numeric(df[f"{col}_vs_baseline"], errors="coerce").round(2)
    for col, header in TRAILING_COLUMNS:
        out[header] = [text(v) for v in df[col]]
    return out


def _metric_columns(df: pd.DataFrame) -> list[tuple[str, str, float, int]]:
    columns = [m for m in METRICS if m[0] in df]
    for col in df.columns:
        for pattern, header, digits in MEASURED:
            if (match := pattern.match(str(col))) and df[col].notna().any():
                columns.append((col, header.format(match.group(1)), 1, digits))
    return columns


def shape_text(shape: Any) -> str:
    """``(1, 64, 56, 56)`` as ``1×64×56×56``."""
    return "×".join(str(v) for v in shape)


def _optional(values: pd.Series, fmt: str = "{}") -> list[str]:
    return ["" if pd.isna(v) else fmt.format(v) for v in values]


def layers_view(layers: pd.DataFrame) -> pd.DataFrame:
    """The per-layer table: name, type, in/out shape (N×C×H×W), kernel, stride, groups, params, MACs."""
    return pd.DataFrame({
        "layer": layers["name"],
        "type": layers["type"],
        "stage": layers["stage"],
        "input (N×C×H×W)": [shape_text(s) for s in layers["input_shape"]],
        "output (N×C×H×W)": [shape_text(s) for s in layers["output_shape"]],
        "kernel": [f"{k}×{k}" if not pd.isna(k) else "" for k in layers["kernel"]],
        "stride": _optional(layers["stride"]),
        "groups": _optional(layers["groups"]),
        "params": layers["params"],
        "MACs": layers["macs"],
    })


def stages_view(stages: pd.DataFrame) -> pd.DataFrame:
    """The per-stage table with shares as percentages."""
    out = pd.DataFrame({
        "stage": stages["stage"],
        "output (N×C×H×W)": [shape_text(s) for s in stages["output_shape"]],
        "params": stages["params"],
        "params %": (stages["params_share"] * 100).round(1),
        "MACs": stages["macs"],
        "MACs %": (stages["macs_share"] * 100).round(1),
    })
    out["output stride"] = _optional(stages["output_stride"])
    out["receptive field (px)"] = _optional(stages["receptive_field"])
    return out


def designs_view(names: Sequence[str], baseline: str | None, params: Sequence[int],
                 macs: Sequence[int]) -> pd.DataFrame:
    """The design list on the Design tab: name, baseline mark, params (M), MACs (G)."""
    return pd.DataFrame({
        "design": list(names),
        "baseline": ["★" if n == baseline else "" for n in names],
        "params (M)": [round(p / 1e6, 2) for p in params],
        "MACs (G)": [round(m / 1e9, 3) for m in macs],
    })
