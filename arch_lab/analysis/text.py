"""Readable text of reports and comparisons (the CLI's output), with the unit in every label.

Counts are shown in the largest decimal unit (K = 1e3, M = 1e6, G = 1e9) that keeps the largest value of
a row or column at or above 1, so a CIFAR ResNet's 0.27 M params read "params (K) 269.722"; memory is
always in MB (1e6 bytes). The CLI prints ASCII (shapes as ``1x64x112x112``); the formatting is
:mod:`arch_lab.display`'s, shared with the app.
"""

from __future__ import annotations

import pandas as pd

from arch_lab.analysis.report import Report
from arch_lab.columns import ratio_column
from arch_lab.display import optional_text, scaled, shape_text

CONVENTION_LINE = ("MACs = multiply-accumulates of conv and linear layers (torchvision's published 'GFLOPS'); "
                   "FLOPs = 2 x MACs; K/M/G = 1e3/1e6/1e9; MB = 1e6 bytes")

LABELS: dict[str, str] = {
    "params": "params",
    "trainable_params": "trainable params",
    "macs": "MACs",
    "flops": "FLOPs",
    "activations": "activations",
    "weights_fp32_mb": "weights fp32 (MB)",
    "weights_bf16_mb": "weights bf16 (MB)",
    "weights_fp16_mb": "weights fp16 (MB)",
    "weights_int8_mb": "weights int8 (MB)",
    "activations_mb": "inference activations peak, fp32 (MB)",
    "train_activations_fp32_mb": "saved for backward, fp32 (MB)",
    "train_step_fp32_mb": "training step, fp32 + Adam (MB)",
    "train_activations_mixed_mb": "saved for backward, bf16/fp16 AMP (MB)",
    "train_step_mixed_mb": "training step, bf16/fp16 AMP + Adam (MB)",
}
"""Report key -> label; counts (labels without a unit) get a K/M/G unit from their magnitude."""
ASCII_TIMES = "x"


def summary_text(report: Report, layers: bool = False) -> str:
    """Headline numbers, fvcore's per-operator breakdown and the stage table (and the layer table)."""
    height, width = report.input_size
    size = _shape((report.spec.in_channels, height, width))
    lines = [f"{report.name}: input {size}, batch {report.batch_size}",
             CONVENTION_LINE, ""]
    for key, label in LABELS.items():
        label, (value,) = scaled(label, [getattr(report, key)])
        lines.append(f"{label:<42}{value:>12,.3f}")
    ops_label, counts = scaled("fvcore ops, 1 multiply-add = 1", list(report.ops.values()))
    ops = ", ".join(f"{op} {count}" for op, count in zip(report.ops, counts, strict=True))
    lines += [f"{ops_label:<42}  {ops}", "", "Stages:", stage_table(report).to_string(index=False)]
    if layers:
        lines += ["", "Layers:", layer_table(report).to_string(index=False)]
    return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return shape_text(shape, times=ASCII_TIMES)


def _optional(column: pd.Series) -> list[str]:
    """Integers with "-" where the value does not apply (a BN's kernel, the head's receptive field)."""
    return optional_text(column, missing="-")


def _columns(df: pd.DataFrame, labels: dict[str, str]) -> dict[str, list[float]]:
    return dict(scaled(label, df[key].tolist()) for key, label in labels.items())


def stage_table(report: Report) -> pd.DataFrame:
    df = report.stages
    return pd.DataFrame({
        "stage": df["stage"],
        "output shape": df["output_shape"].map(_shape),
        **_columns(df, {"params": "params", "macs": "MACs"}),
        "params (%)": (100 * df["params_share"]).round(1),
        "MACs (%)": (100 * df["macs_share"]).round(1),
        "output stride (px)": _optional(df["output_stride"]),
        "receptive field (px)": _optional(df["receptive_field"]),
    })


def layer_table(report: Report) -> pd.DataFrame:
    df = report.layers
    return pd.DataFrame({
        "name": df["name"],
        "type": df["type"],
        "input shape": df["input_shape"].map(_shape),
        "output shape": df["output_shape"].map(_shape),
        "kernel": _optional(df["kernel"]),
        "stride": _optional(df["stride"]),
        "groups": _optional(df["groups"]),
        "params": df["params"],
        **_columns(df, {"macs": "MACs"}),
    })


def comparison_text(df: pd.DataFrame) -> str:
    """The comparison transposed (a column per design), metrics in labelled units; ratios as ``x``."""
    rows: dict[str, list[object]] = {}
    ratio_of = {ratio_column(column): column for column in df.columns}
    for column in df.columns:
        values = df[column].tolist()
        if column in LABELS:
            label, values = scaled(LABELS[column], values)
        elif column in ratio_of:
            key = ratio_of[column]
            label = f"{LABELS.get(key, key).split(' (')[0]} vs baseline (x)"
            values = [round(v, 3) for v in values]
        elif column == "name":
            continue
        else:  # spec fields, and extra columns such as measured latency (their names carry the unit)
            label = column
            values = [round(v, 3) if isinstance(v, float) else v for v in values]
        rows[label] = values
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[str(name) for name in df["name"]])
    return "\n".join([CONVENTION_LINE, table.to_string()])
