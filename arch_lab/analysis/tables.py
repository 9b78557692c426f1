"""The per-layer and per-stage tables of a report, as plain records (for JSON) and DataFrames.

Shapes include the batch dimension, as torchinfo shows them: ``(N, C, H, W)``, and ``(N, features)``
around the final linear layer. Counts are for the whole batch except ``params``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from arch_lab.analysis.receptive import Field
from arch_lab.plan import CONV_TYPES, Layer

LAYER_COLUMNS = ("name", "type", "stage", "input_shape", "output_shape", "kernel", "stride", "groups", "dilation",
                 "params", "macs", "role", "block")
"""``role``: stem, branch, shortcut, se or head; ``block``: the residual block's name (empty outside blocks)."""
STAGE_COLUMNS = ("stage", "output_shape", "params", "macs", "params_share", "macs_share", "output_stride",
                 "receptive_field")
_WINDOWED = CONV_TYPES | {"MaxPool2d", "AvgPool2d", "ZeroPadShortcut"}
"""Layer types with a kernel and stride; other layers show none."""


def _shape(layer_shape: tuple[int, ...], batch_size: int, flat: bool) -> tuple[int, ...]:
    return (batch_size, layer_shape[0]) if flat else (batch_size, *layer_shape)


def layer_records(layers: Sequence[Layer], batch_size: int) -> list[dict[str, Any]]:
    """One record per counted module (ReLUs hold and count nothing and are left out)."""
    records = []
    for layer in layers:
        windowed = layer.type in _WINDOWED
        is_linear = layer.type == "Linear"
        records.append({
            "name": layer.name,
            "type": layer.type,
            "stage": layer.stage,
            "input_shape": _shape(layer.input_shape, batch_size, flat=is_linear),
            "output_shape": _shape(layer.output_shape, batch_size, flat=is_linear),
            "kernel": layer.kernel if windowed else None,
            "stride": layer.stride if windowed else None,
            "groups": layer.groups if layer.type in CONV_TYPES else None,
            "dilation": layer.dilation if layer.type in CONV_TYPES else None,
            "params": layer.params,
            "macs": batch_size * layer.macs,
            "role": layer.role,
            "block": layer.block,
        })
    return records


def stage_records(layers: Sequence[Layer], batch_size: int, fields: Mapping[str, Field]) -> list[dict[str, Any]]:
    """Stem, each stage, head: output shape, params and MACs with their share of the total, and the
    output stride and receptive field of the stage's output (none for the head, which pools globally)."""
    total_params = sum(layer.params for layer in layers)
    total_macs = sum(layer.macs for layer in layers)
    grouped: dict[str, list[Layer]] = {}
    for layer in layers:
        grouped.setdefault(layer.stage, []).append(layer)
    records = []
    for stage, members in grouped.items():
        params = sum(layer.params for layer in members)
        macs = sum(layer.macs for layer in members)
        field = fields.get(stage)
        last = [layer for layer in members if layer.role != "se"][-1]  # SE's 1x1 maps end no stage
        records.append({
            "stage": stage,
            "output_shape": _shape(last.output_shape, batch_size, flat=last.type == "Linear"),
            "params": params,
            "macs": batch_size * macs,
            "params_share": params / total_params,
            "macs_share": macs / total_macs,
            "output_stride": field.output_stride if field else None,
            "receptive_field": field.receptive_field if field else None,
        })
    return records


def frame(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    """A DataFrame of ``records``; integer columns with gaps use pandas' nullable ``Int64``."""
    df = pd.DataFrame.from_records(list(records), columns=list(columns))
    for column in ("kernel", "stride", "groups", "dilation", "output_stride", "receptive_field"):
        if column in df:
            df[column] = df[column].astype("Int64")
    return df
