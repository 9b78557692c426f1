"""Side-by-side comparison of designs: one row per design, its spec fields, every report metric and the
ratio of each metric to a baseline design."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from arch_lab.analysis import METRICS, Report, analyse
from arch_lab.columns import ratio_column
from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec

SPEC_COLUMNS = ("name", "block", "depths", "widths", "strides", "groups", "width_per_group", "stem", "shortcut",
                "input_size", "batch_size")


def as_report(item: ResNetSpec | Report) -> Report:
    """A report as given, or the default analysis (spec's input size, batch 1) of a spec."""
    if isinstance(item, Report):
        return item
    if isinstance(item, ResNetSpec):
        return analyse(item)
    raise SpecError("items", f"expected a ResNetSpec or a Report, got {type(item).__name__}")


def _listed(values: Sequence[Any]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def spec_fields(report: Report) -> dict[str, Any]:
    """The comparison's description of a design; per-stage lists as text such as ``[3, 4, 6, 3]``."""
    spec = report.spec
    height, width = report.input_size
    return {
        "name": spec.name,
        "block": spec.block if isinstance(spec.block, str) else _listed(spec.block),
        "depths": _listed(spec.depths),
        "widths": _listed(spec.widths),  # type: ignore[arg-type]
        "strides": _listed(spec.strides),  # type: ignore[arg-type]
        "groups": spec.groups,
        "width_per_group": spec.width_per_group,
        "stem": spec.stem,
        "shortcut": spec.shortcut,
        "input_size": f"{height}x{width}",
        "batch_size": report.batch_size,
    }


def _baseline_index(reports: Sequence[Report], baseline: int | str) -> int:
    if isinstance(baseline, str):
        names = [report.name for report in reports]
        if baseline not in names:
            raise SpecError("baseline", f"no design is named {baseline!r}; the designs are {', '.join(names)}")
        return names.index(baseline)
    if isinstance(baseline, bool) or not isinstance(baseline, int) or not -len(reports) <= baseline < len(reports):
        raise SpecError("baseline", f"{baseline!r} is not allowed; give a design name or an index from 0 to "
                                    f"{len(reports) - 1}")
    return baseline % len(reports)


def _per_item(field: str, columns: Sequence[Mapping[str, Any]] | None, count: int) -> list[dict[str, Any]]:
    """One mapping of added columns per design (empty ones when ``columns`` is None), none of them named
    like a comparison column."""
    if columns is None:
        return [{} for _ in range(count)]
    if len(columns) != count:
        raise SpecError(field, f"has {len(columns)} entries for {count} designs; give one mapping per design")
    for mapping in columns:
        if clash := sorted(set(mapping) & {*SPEC_COLUMNS, *METRICS}):
            raise SpecError(field, f"{clash[0]!r} is already a comparison column; name it differently")
    return [dict(mapping) for mapping in columns]


def compare(items: Sequence[ResNetSpec | Report], baseline: int | str = 0,
            extra_columns: Sequence[Mapping[str, float]] | None = None,
            context_columns: Sequence[Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """A row per design: :data:`SPEC_COLUMNS`, the report metrics (:data:`arch_lab.analysis.METRICS`),
    any ``extra_columns`` (one mapping per item, e.g. measured latency), any ``context_columns``, then the
    ratio column (:func:`arch_lab.columns.ratio_column`, ``<metric>_vs_baseline``) = metric / the baseline
    design's metric for every numeric column but the context (NaN where the baseline's is 0).

    ``context_columns`` (one mapping per item) say how the extra figures were obtained — timed calls,
    threads, device — rather than measure the design, so a ratio of them would mean nothing.
    ``baseline`` is an index into ``items`` or a design name (the first design of that name).
    """
    reports = [as_report(item) for item in items]
    if not reports:
        raise SpecError("items", "nothing to compare; give at least one design")
    extra = _per_item("extra_columns", extra_columns, len(reports))
    context = _per_item("context_columns", context_columns, len(reports))
    base = _baseline_index(reports, baseline)
    rows = []
    for report, figures, conditions in zip(reports, extra, context, strict=True):
        rows.append({**spec_fields(report), **report.metrics(), **figures, **conditions})
    df = pd.DataFrame(rows)
    plain = {column for conditions in context for column in conditions}
    numeric = [column for column in df.columns[len(SPEC_COLUMNS):]
               if column not in plain and pd.api.types.is_numeric_dtype(df[column])]
    for column in numeric:
        reference = df[column].iloc[base]
        df[ratio_column(column)] = df[column] / reference if reference else float("nan")
    return df
