"""Tables as the app shows them: the analysers' DataFrames with readable units and shapes (pure pandas).

The CSV download and the API return the library's full, exact table; these views only choose columns,
scale them to M/G with a few digits and write shapes as ``N×C×H×W`` so a student can follow the tensor
through the network. The formatting itself is :mod:`arch_lab.display`'s, shared with the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from arch_lab.columns import LatencyColumn, ratio_column
from arch_lab.display import (
    METRIC_UNITS,
    bytes_text,
    count_text,
    fp32_bytes,
    measured_header,
    optional_text,
    shape_text,
    share_text,
    text,
    unit_texts,
)
from arch_lab.latency.reliability import MARK, unreliable

# (column in compare(), header in the app, divisor, decimals)
METRICS = (
    ("params", *METRIC_UNITS["params"]),
    ("macs", *METRIC_UNITS["macs"]),
    ("activations", *METRIC_UNITS["activations"]),
    ("weights_fp32_mb", "weights fp32 (MB)", 1, 1),
    ("weights_bf16_mb", "weights bf16/fp16 (MB)", 1, 1),
    ("activations_mb", "inference activations fp32 (MB)", 1, 1),
    ("train_step_fp32_mb", "train step fp32 (MB)", 1, 1),
    ("train_step_mixed_mb", "train step mixed bf16/fp16 (MB)", 1, 1),
)
LEADING_COLUMNS = (("depths", "depths"), ("widths", "widths"), ("strides", "strides"))
"""Shown before the metrics: what a student usually changes."""
TRAILING_COLUMNS = (("block", "block"), ("groups", "groups"), ("width_per_group", "width/group"), ("stem", "stem"),
                    ("shortcut", "shortcut"), ("input_size", "input"))


def escape_markdown(value: str) -> str:
    """User text (names, values quoted in error messages) shown in Markdown, kept literal."""
    return "".join("\\" + c if c in "\\`*_{}[]<>()#+-.!|~" else c for c in value)


COLUMN_GROUPS = {
    "shape": "depths, widths, strides",
    "size": "params, MACs",
    "memory": "activation count, weights in fp32 and 16 bits, inference activations, a training step in fp32 "
              "and mixed precision",
    "ratios": "×base ratios",
    "latency": "measured latency and throughput",
    "details": "block, groups, width/group, stem, shortcut, input",
}
"""The Compare table's column groups (the name is always shown); the user picks which to show."""
DEFAULT_GROUPS = ("shape", "size", "ratios", "latency", "details")
_METRIC_GROUP = {"params": "size", "macs": "size", "activations": "memory", "weights_fp32_mb": "memory",
                 "weights_bf16_mb": "memory", "activations_mb": "memory",
                 "train_step_fp32_mb": "memory", "train_step_mixed_mb": "memory"}


def comparison_view(df: pd.DataFrame, baseline: str | None = None, groups: Sequence[str] = DEFAULT_GROUPS,
                    measured: Sequence[LatencyColumn] = ()) -> pd.DataFrame:
    """A row per design: the name, then the chosen groups (:data:`COLUMN_GROUPS`): params and MACs
    first (the key columns, pinned beside the name), each metric followed by its ratio to the baseline
    (``×base``), then the input size and the rest of the design's shape. ``measured`` are the latency
    columns ``df`` holds (as their producer recorded them); those with a value are shown."""
    groups = set(groups)
    if df.empty:
        return pd.DataFrame(columns=["design", *(m[1] for m in METRICS if _METRIC_GROUP[m[0]] in groups)])
    out = pd.DataFrame({"design": [f"{n} (baseline)" if n == baseline else str(n) for n in df["name"]]})
    latency = {column.name: column for column in measured}
    base = list(df["name"]).index(baseline) if baseline in set(df["name"]) else 0
    ratios = {}
    for col, header, scale, digits in _metric_columns(df, measured):
        if _METRIC_GROUP.get(col, "latency") not in groups:
            continue
        values = pd.to_numeric(df[col], errors="coerce") / scale
        ratio = ratio_column(col)
        ratio_values = pd.to_numeric(df[ratio], errors="coerce") if ratio in df else None
        if col in latency:  # a measured figure: marked where it is thin, and so is a ratio built on it
            thin = unreliable(df, latency[col].batch_size)
            out[header] = marked(values, digits, thin)
            if ratio_values is not None:
                ratio_values = marked(ratio_values, 2, thin | bool(thin.iloc[base]))
        else:
            out[header] = values.round(digits)
            if ratio_values is not None:
                ratio_values = ratio_values.round(2)
        if col == "macs" and "details" in groups:
            out["input"] = [text(v) for v in df["input_size"]]
        if ratio_values is not None:
            ratios[f"{header.split(' (')[0]} ×base"] = ratio_values
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


def marked(values: pd.Series, digits: int, thin: pd.Series) -> list[str]:
    """Figures as text with ``digits`` decimals and :data:`~arch_lab.latency.reliability.MARK` beside the
    thin ones ("" where there is none)."""
    return ["" if pd.isna(v) else f"{v:.{digits}f}" + (f" {MARK}" if flag else "")
            for v, flag in zip(values, thin, strict=True)]


PINNED_COLUMNS = 3
"""design, params (M), MACs (G): what every comparison is about stays in view while the rest scrolls."""


def _metric_columns(df: pd.DataFrame, measured: Sequence[LatencyColumn]) -> list[tuple[str, str, float, int]]:
    """(column, header, divisor, decimals) of the report metrics in ``df``, then of the measured columns
    that have a value (a failed or untimed batch size is left out)."""
    columns = [m for m in METRICS if m[0] in df]
    for column in measured:
        if (shown := measured_header(column)) is not None and df[column.name].notna().any():
            columns.append((column.name, shown[0], 1, shown[1]))
    return columns


def execution_order(layers: pd.DataFrame) -> pd.DataFrame:
    """The layers in the order a forward pass runs them: a block's shortcut (``downsample``) after its
    conv branch, just before the two are added (the plan lists it first, as torchvision registers it).
    Read from the table's ``role`` and ``block`` columns."""
    order: list[int] = []
    pending: list[int] = []
    current = None
    for i, (role, block) in enumerate(zip(layers["role"], layers["block"], strict=True)):
        if block != current:
            order, pending, current = order + pending, [], block
        if role == "shortcut":
            pending.append(i)
        else:
            order.append(i)
    return layers.iloc[order + pending].reset_index(drop=True)


def _with_total(out: pd.DataFrame, total: dict[str, str], macs: Sequence[int], by_total: bool) -> pd.DataFrame:
    """``out`` with its MACs column in one unit (chosen by the total, ``by_total``, or by the largest row: a
    layer table's small layers would read 0.000 G) and the totals row ``total`` under it."""
    values = [*macs, sum(macs)]
    prefix, texts = unit_texts(values, largest=None if by_total else max(macs, default=0))
    header = f"MACs ({prefix})" if prefix else "MACs"
    out = out.assign(MACs=texts[:-1]).rename(columns={"MACs": header})
    if not len(out):
        return out
    row = {column: "" for column in out.columns}
    row.update(total, **{header: texts[-1]})
    return pd.concat([out, pd.DataFrame([row])], ignore_index=True)


def layers_view(layers: pd.DataFrame) -> pd.DataFrame:
    """The per-layer table in execution order: name, type, in/out shape (N×C×H×W), kernel, stride, groups,
    params (exact, with separators), MACs (one unit for the column), the output's fp32 memory, and a totals
    row."""
    layers = execution_order(layers)
    out = pd.DataFrame({
        "layer": layers["name"],
        "type": layers["type"],
        "stage": layers["stage"],
        "input (N×C×H×W)": [shape_text(s) for s in layers["input_shape"]],
        "output (N×C×H×W)": [shape_text(s) for s in layers["output_shape"]],
        "kernel": ["" if pd.isna(k) else shape_text((k, k)) for k in layers["kernel"]],
        "stride": optional_text(layers["stride"]),
        "groups": optional_text(layers["groups"]),
        "params": [count_text(p) for p in layers["params"]],
        "MACs": "",
        "output memory (fp32)": [bytes_text(fp32_bytes(s)) for s in layers["output_shape"]],
    })
    total = {"layer": "total", "type": f"{len(layers)} layers", "params": count_text(layers["params"].sum()),
             "output memory (fp32)": bytes_text(sum(fp32_bytes(s) for s in layers["output_shape"]))}
    return _with_total(out, total, [int(m) for m in layers["macs"]], by_total=False)


def stages_view(stages: pd.DataFrame) -> pd.DataFrame:
    """The per-stage table: exact params with separators, MACs in one unit (the total's), shares as
    percentages (a small share keeps two significant digits) and a totals row."""
    out = pd.DataFrame({
        "stage": stages["stage"],
        "output (N×C×H×W)": [shape_text(s) for s in stages["output_shape"]],
        "params": [count_text(p) for p in stages["params"]],
        "params %": [share_text(v) for v in stages["params_share"]],
        "MACs": "",
        "MACs %": [share_text(v) for v in stages["macs_share"]],
    })
    out["output stride"] = optional_text(stages["output_stride"])
    out["receptive field (px)"] = optional_text(stages["receptive_field"])
    total = {"stage": "total", "params": count_text(stages["params"].sum()), "params %": "100 %", "MACs %": "100 %"}
    return _with_total(out, total, [int(m) for m in stages["macs"]], by_total=True)


def explored_view(table: pd.DataFrame) -> pd.DataFrame:
    """The Explore tab's table of designs: ★ for a Pareto design, the metrics in the units the Compare tab
    and the plots use (params in M, MACs in G, …; numbers, so columns still sort), the spec fields as they
    are. The CSV keeps the exact counts."""
    out = table.copy()
    out["pareto"] = ["★" if flag else "" for flag in table["pareto"]]
    shown = {}
    for column in table.columns:
        if column in METRIC_UNITS:
            header, divisor, digits = METRIC_UNITS[column]
            if divisor != 1 or digits:
                out[column] = (pd.to_numeric(table[column]) / divisor).round(digits)
            shown[column] = header
    return out.rename(columns={**shown, "pareto": "Pareto"})


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
