"""The library calls behind the app's views: reports, the comparison table and measured latency.

``analyse`` checks the request limits of every design, so a request the library would refuse never gets
further. The latency store is plain data in a ``gr.State``: measured results keyed by the spec's
``key()``, which ignores the name, so renaming keeps a measurement and editing a design drops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from arch_lab import Report, analyse, compare
from arch_lab.spec import ResNetSpec
from arch_lab.ui.state import DesignSet

LatencyStore = Mapping[str, Mapping[str, Any]]
"""``spec.key()`` -> ``{"summary": {column: value}, "rows": [one record per batch size], "device": str}``."""


def reports_of(specs: Iterable[ResNetSpec]) -> list[Report]:
    """The reports of ``specs``; a design over the limits raises ``LimitError`` (a ``SpecError``)."""
    return [analyse(spec) for spec in specs]


def comparison(designs: DesignSet, latency: LatencyStore | None = None) -> tuple[pd.DataFrame, list[Report]]:
    """The library's comparison table of the set (ratios against its baseline), with latency columns for
    the designs that were measured, and the reports it was made from."""
    reports = reports_of(designs.designs)
    if not reports:
        return pd.DataFrame(), []
    latency = latency or {}
    extra = [dict(latency.get(spec.key(), {}).get("summary", {})) for spec in designs.designs]
    extra_columns = extra if any(extra) else None
    return compare(reports, baseline=designs.baseline_index, extra_columns=extra_columns), reports


def latency_frames(designs: DesignSet, latency: LatencyStore) -> dict[str, pd.DataFrame]:
    """Per measured design (by its current name), its rows as a DataFrame, for the latency chart."""
    return {spec.name: pd.DataFrame(latency[spec.key()]["rows"])
            for spec in designs.designs if spec.key() in latency}
