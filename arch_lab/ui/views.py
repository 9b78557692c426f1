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


COLUMN_GROUPS = {
    "shape": "depths, widths",
    "size": "params, MACs",
    "memory": "activations, weights, train step",
    "ratios": "×base ratios",
    "latency": "measured latency and throughput",
    "details": "block, groups, width/group, stem, shortcut, input",
}
"""The Compare table's column groups (the name is always shown); the user picks which to show."""
DEFAULT_GROUPS = ("shape", "size", "ratios", "latency", "details")
_METRIC_GROUP = {"params": "size", "macs": "size", "activations": "memory", "weights_fp32_mb": "memory",
                 "train_step_mb": "memory"}


def comparison_view(df: pd.DataFrame, baseline: str | None = None,
                    groups: Sequence[str] = DEFAULT_GROUPS) -> pd.DataFrame:
    """A row per design: the name, then the chosen groups (:data:`COLUMN_GROUPS`): params and MACs
    first (the key columns, pinned beside the name), each metric followed by its ratio to the baseline
    (``×base``), then the input size and the rest of the design's shape."""
    groups = set(groups)
    if df.empty:
        return pd.DataFrame(columns=["design", *(m[1] for m in METRICS if _METRIC_GROUP[m[0]] in groups)])
    out = pd.DataFrame({"design": [f"{n} (baseline)" if n == baseline else str(n) for n in df["name"]]})
    ratios = {}
    for col, header, scale, digits in _metric_columns(df):
        if _METRIC_GROUP.get(col, "latency") not in groups:
            continue
        out[header] = (pd.to_numeric(df[col], errors="coerce") / scale).round(digits)
        if col == "macs" and "details" in groups:
            out["input"] = [text(v) for v in df["input_size"]]
        if f"{col}_vs_baseline" in df:
            ratios[f"{header.split(' (')[0]} ×base"] = pd.to_numeric(df[f"{col}_vs_baseline"], errors="coerce").round(2)
    if "ratios" in groups:
        for header, values in ratios.items():
            out[header] = values
    if "details" in groups and "input" not in out:
        out["input"] = [text(v) for v in df["input_size"]]
    if "shape" in groups:
        for col, header in LEADING_COLUMNS:
            out[header] = [text(v) for v in df[col]]
    if "details" in groups:
        for col, header in TRAILING_COLUMNS:
            if col != "input_size":
                out[header] = [text(v) for v in df[col]]
    return out


PINNED_COLUMNS = 3
"""design, params (M), MACs (G): what every comparison is about stays in view while the rest scrolls."""


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


SHORTCUT_LAYER = re.compile(r"^(?P<block>.+?)\.(?:downsample|shortcut)(?:\.|$)")
FP32_BYTES = 4


def execution_order(layers: pd.DataFrame) -> pd.DataFrame:
    """The layers in the order a forward pass runs them: a block's shortcut (``downsample``) after its
    conv branch, just before the two are added (the plan lists it first, as torchvision registers it)."""
    names = [str(n) for n in layers["name"]]
    order: list[int] = []
    pending: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        if (match := SHORTCUT_LAYER.match(name)) is not None:
            pending.setdefault(match["block"] + ".", []).append(i)
            continue
        for block in [b for b in pending if not name.startswith(b)]:
            order += pending.pop(block)
        order.append(i)
    for rest in pending.values():
        order += rest
    return layers.iloc[order].reset_index(drop=True)


def count_text(value: Any) -> str:
    """An exact count with thousands separators: ``11689512`` -> ``11,689,512``."""
    return "" if pd.isna(value) else f"{int(value):,}"


def si_text(value: Any, unit: str = "") -> str:
    """A count in readable units: ``118013952`` -> ``118.0 M``; small values as they are."""
    if pd.isna(value):
        return ""
    value = float(value)
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def bytes_text(count: float) -> str:
    """Bytes as kB/MB/GB (powers of 1000, like the report's MB)."""
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count:.0f} B"


def share_text(fraction: Any) -> str:
    """A share as a percentage that never reads "0" for a small but real part (the stem's 0.037 %)."""
    if pd.isna(fraction):
        return ""
    percent = float(fraction) * 100
    if percent == 0:
        return "0 %"
    return f"{percent:.1f} %" if percent >= 1 else f"{percent:.2g} %"


def _output_bytes(shape: Any) -> float:
    count = 1
    for n in shape:
        count *= int(n)
    return float(count * FP32_BYTES)


def layers_view(layers: pd.DataFrame) -> pd.DataFrame:
    """The per-layer table in execution order: name, type, in/out shape (N×C×H×W), kernel, stride, groups,
    params (exact, with separators), MACs (in k/M/G), the output's fp32 memory, and a totals row."""
    layers = execution_order(layers)
    out = pd.DataFrame({
        "layer": layers["name"],
        "type": layers["type"],
        "stage": layers["stage"],
        "input (N×C×H×W)": [shape_text(s) for s in layers["input_shape"]],
        "output (N×C×H×W)": [shape_text(s) for s in layers["output_shape"]],
        "kernel": [f"{k}×{k}" if not pd.isna(k) else "" for k in layers["kernel"]],
        "stride": _optional(layers["stride"]),
        "groups": _optional(layers["groups"]),
        "params": [count_text(p) for p in layers["params"]],
        "MACs": [si_text(m) for m in layers["macs"]],
        "output memory (fp32)": [bytes_text(_output_bytes(s)) for s in layers["output_shape"]],
    })
    if len(layers):
        total = {column: "" for column in out.columns}
        total.update({"layer": "total", "type": f"{len(layers)} layers", "params": count_text(layers["params"].sum()),
                      "MACs": si_text(layers["macs"].sum()),
                      "output memory (fp32)": bytes_text(sum(_output_bytes(s) for s in layers["output_shape"]))})
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    return out


def stages_view(stages: pd.DataFrame) -> pd.DataFrame:
    """The per-stage table: exact params with separators, MACs in units, shares as percentages (a small
    share keeps two significant digits) and a totals row."""
    out = pd.DataFrame({
        "stage": stages["stage"],
        "output (N×C×H×W)": [shape_text(s) for s in stages["output_shape"]],
        "params": [count_text(p) for p in stages["params"]],
        "params %": [share_text(v) for v in stages["params_share"]],
        "MACs": [si_text(m) for m in stages["macs"]],
        "MACs %": [share_text(v) for v in stages["macs_share"]],
    })
    out["output stride"] = _optional(stages["output_stride"])
    out["receptive field (px)"] = _optional(stages["receptive_field"])
    if len(stages):
        total = {column: "" for column in out.columns}
        total.update({"stage": "total", "params": count_text(stages["params"].sum()), "params %": "100 %",
                      "MACs": si_text(stages["macs"].sum()), "MACs %": "100 %"})
        out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    return out


def designs_view(names: Sequence[str], baseline: str | None, params: Sequence[int],
                 macs: Sequence[int], inputs: Sequence[str] | None = None) -> pd.DataFrame:
    """The design list on the Design tab: name, baseline mark, input size, params (M), MACs (G)."""
    return pd.DataFrame({
        "design": list(names),
        "baseline": ["★" if n == baseline else "" for n in names],
        "input": list(inputs) if inputs is not None else [""] * len(names),
        "params (M)": [round(p / 1e6, 2) for p in params],
        "MACs (G)": [round(m / 1e9, 3) for m in macs],
    })
