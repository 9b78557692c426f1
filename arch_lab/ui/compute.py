"""The library calls behind the app's views: reports, the comparison table and measured latency.

``analyse`` checks the request limits of every design, so a request the library would refuse never gets
further. The latency store is plain data in a ``gr.State``: measured results keyed by the spec's
``key()``, which ignores the name, so renaming keeps a measurement and editing a design drops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from arch_lab.analysis import Report, analyse
from arch_lab.columns import LatencyColumn, ordered
from arch_lab.compare import SPEC_COLUMNS, compare
from arch_lab.presets import load_preset
from arch_lab.spec import ResNetSpec
from arch_lab.ui.state import DesignSet

LatencyStore = Mapping[str, Mapping[str, Any]]
"""``spec.key()`` -> ``{"summary": {column: figure}, "context": {column: how it was measured}, "columns":
(LatencyColumn, …) of both's latency columns, "rows": [one record per batch size], "device": str}`` (see
``latency_panel.entry``)."""


def units_note() -> str:
    """The counting convention in one Markdown line, with the example a student meets first: a paper's
    "4.1 GFLOPs" for ResNet-50 is the GMACs this app shows (the CLI prints the same convention)."""
    gmacs = analyse(load_preset("resnet50")).macs / 1e9
    return ("**Units** — MACs count the multiply-accumulates of conv and linear layers: what papers and torchvision "
            f"publish as “FLOPs” or “GFLOPS” (ResNet-50's “4.1 GFLOPs” is the {gmacs:.3f} GMACs here); FLOPs = 2 × "
            "MACs; activations count the values conv and linear layers output (a count, not bytes); "
            "k/M/G = 10³/10⁶/10⁹; MB = 10⁶ bytes.")


def reports_of(specs: Iterable[ResNetSpec], batch_size: int = 1) -> list[Report]:
    """The reports of ``specs`` at ``batch_size``; a design over the limits raises ``LimitError`` (a
    ``SpecError``)."""
    return [analyse(spec, batch_size=batch_size) for spec in specs]


CSV_SPEC_FIELDS = ("stem_width", "se_ratio", "in_channels", "num_classes", "conv_bias",
                   "zero_init_residual")
"""Spec fields the comparison table leaves out that can still tell two designs apart: the CSV has them."""


def csv_table(df: pd.DataFrame, specs: Iterable[ResNetSpec], baseline: str | None) -> pd.DataFrame:
    """The comparison as the CSV gets it: a ``baseline`` flag after the name, and the spec fields that
    distinguish designs (per-stage lists as ``[2, 2]``, like the table's)."""
    if df.empty:
        return df
    out = df.copy()
    out.insert(1, "baseline", [name == baseline for name in out["name"]])
    specs = list(specs)
    for i, field in enumerate(CSV_SPEC_FIELDS):
        values = [getattr(spec, field) for spec in specs]
        values = [str(list(v)) if isinstance(v, tuple) else v for v in values]
        out.insert(len(SPEC_COLUMNS) + 1 + i, field, values)
    return out


def comparison(designs: DesignSet, latency: LatencyStore | None = None) -> tuple[pd.DataFrame, list[Report]]:
    """The library's comparison table of the set (ratios against its baseline), with latency columns for
    the designs that were measured, and the reports it was made from."""
    reports = reports_of(designs.designs, designs.batch_size)
    if not reports:
        return pd.DataFrame(), []
    latency = latency or {}
    measured = [latency.get(spec.key(), {}) for spec in designs.designs]
    extra = [dict(item.get("summary", {})) for item in measured]
    context = [dict(item.get("context", {})) for item in measured]
    return compare(reports, baseline=designs.baseline_index, extra_columns=extra if any(extra) else None,
                   context_columns=context if any(context) else None), reports


def measured_columns(designs: DesignSet, latency: LatencyStore | None) -> tuple[LatencyColumn, ...]:
    """The latency columns :func:`comparison` adds for the set's measured designs, as their measurements
    recorded them (by batch size), for the table and the charts."""
    latency = latency or {}
    return ordered(column for spec in designs.designs if spec.key() in latency
                   for column in latency[spec.key()]["columns"])


def latency_frames(designs: DesignSet, latency: LatencyStore) -> dict[str, pd.DataFrame]:
    """Per measured design (by its current name), its rows as a DataFrame, for the latency chart."""
    return {spec.name: pd.DataFrame(latency[spec.key()]["rows"])
            for spec in designs.designs if spec.key() in latency}
