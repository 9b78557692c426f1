"""Readable text of reports and comparisons (the CLI's output), with the unit in every label."""

from __future__ import annotations

import pandas as pd

from arch_lab.analysis.report import Report

CONVENTION_LINE = ("MACs = multiply-accumulates of conv and linear layers (torchvision's published 'GFLOPS'); "
                   "FLOPs = 2 x MACs; MB = 1e6 bytes")

LABELS: dict[str, tuple[str, float]] = {
    "params": ("params (M)", 1e6),
    "trainable_params": ("trainable params (M)", 1e6),
    "macs": ("MACs (G)", 1e9),
    "flops": ("FLOPs (G)", 1e9),
    "activations": ("activations (M)", 1e6),
    "weights_fp32_mb": ("weights fp32 (MB)", 1),
    "weights_bf16_mb": ("weights bf16 (MB)", 1),
    "activations_mb": ("inference activations peak (MB)", 1),
    "train_activations_mb": ("activations saved for backward (MB)", 1),
    "train_step_mb": ("training step, fp32 + Adam (MB)", 1),
}
"""Report key -> (label with unit, divisor into that unit)."""


def _number(key: str, value: float) -> str:
    label, divisor = LABELS[key]
    return f"{label:<38}{value / divisor:>12,.3f}"


def summary_text(report: Report, layers: bool = False) -> str:
    """Headline numbers, fvcore's per-operator breakdown and the stage table (and the layer table)."""
    height, width = report.input_size
    lines = [f"{report.name}: input {report.spec.in_channels}x{height}x{width}, batch {report.batch_size}",
             CONVENTION_LINE, ""]
    lines += [_number(key, getattr(report, key)) for key in LABELS]
    ops = ", ".join(f"{op} {count / 1e9:.4f}" for op, count in report.ops.items())
    lines += [f"{'fvcore ops (G, 1 multiply-add = 1)':<38}  {ops}", ""]
    lines += ["Stages:", stage_table(report).to_string(index=False)]
    if layers:
        lines += ["", "Layers:", layer_table(report).to_string(index=False)]
    return "\n".join(lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


def _optional(column: pd.Series) -> pd.Series:
    """Integers with "-" where the value does not apply (a BN's kernel, the head's receptive field)."""
    return column.map(lambda value: "-" if pd.isna(value) else str(value))


def stage_table(report: Report) -> pd.DataFrame:
    df = report.stages
    return pd.DataFrame({
        "stage": df["stage"],
        "output shape": df["output_shape"].map(_shape),
        "params (M)": (df["params"] / 1e6).round(3),
        "MACs (G)": (df["macs"] / 1e9).round(3),
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
        "MACs (M)": (df["macs"] / 1e6).round(3),
    })


def comparison_text(df: pd.DataFrame) -> str:
    """The comparison transposed (a column per design), metrics in labelled units; ratios as ``x``."""
    rows: dict[str, list[object]] = {}
    for column in df.columns:
        values = df[column].tolist()
        if column in LABELS:
            label, divisor = LABELS[column]
            rows[label] = [round(v / divisor, 3) for v in values]
        elif column.endswith("_vs_baseline"):
            key = column.removesuffix("_vs_baseline")
            label = LABELS[key][0].split(" (")[0] if key in LABELS else key
            rows[f"{label} vs baseline (x)"] = [round(v, 3) for v in values]
        elif column != "name":
            rows[column] = values
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[str(name) for name in df["name"]])
    return "\n".join([CONVENTION_LINE, table.to_string()])
