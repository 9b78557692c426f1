"""What an exploration returns: a table with a row per accepted design, and its CSV/JSON exports.

The table holds each design's spec fields as columns (lists for per-stage fields), its metrics and a
``pareto`` flag. Nothing else is kept per design (no report, no layer plan), so a sweep of 100,000 designs
costs the memory of its table. The JSON export is ``{"designs": [{"spec": {...}, "metrics": {...},
"pareto": ...}]}``: every ``spec`` reloads with :meth:`ResNetSpec.from_dict` into the same design, and
``compare`` reads the file like its own ``--json`` export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from arch_lab.explore.estimate import LatencyModel
from arch_lab.explore.finalists import specs_of
from arch_lab.explore.space import SPEC_FIELDS
from arch_lab.export import comparison_to_csv
from arch_lab.spec import ResNetSpec


@dataclass(frozen=True)
class ExploreResult:
    """The accepted designs (``table``) and how many tries it took to find them."""

    table: pd.DataFrame
    space: str
    method: str
    seed: int
    tries: int
    rejected: dict[str, int]
    """Tries that produced no row, by reason: ``invalid`` spec, ``duplicate`` design, failed ``constraint``."""
    constraints: tuple[str, ...]
    objectives: tuple[str, ...]
    requested: int | None
    """The ``n`` asked for (None: the whole grid)."""
    stop: str = "found"
    """Why the sampling ended: ``"found"`` the designs asked for, spent the ``"tries"``, enumerated the
    ``"grid"``, or reached the ``"time"`` limit."""
    time_limit_s: float | None = None
    """The sampling time limit the run had (None: none)."""
    metric_columns: tuple[str, ...] = field(default=())
    latency_model: LatencyModel | None = None
    """The per-device estimate fitted to the measured finalists (None: none measured, or too few)."""

    @property
    def accepted(self) -> int:
        return len(self.table)

    @property
    def acceptance_rate(self) -> float:
        """Accepted designs per try (0 when nothing was tried)."""
        return self.accepted / self.tries if self.tries else 0.0

    @property
    def complete(self) -> bool:
        """Whether the ``n`` requested designs were found (a grid is complete once enumerated)."""
        return self.requested is None or self.accepted >= self.requested

    @property
    def pareto(self) -> pd.DataFrame:
        """The rows no other row beats on every objective."""
        return self.table[self.table["pareto"]]

    def summary(self) -> str:
        """One line on what was found, for logs and the CLI."""
        wanted = "" if self.requested is None else f" of {self.requested:,} requested"
        return (f"space {self.space}, {self.method} (seed {self.seed}): {self.accepted:,} designs{wanted} from "
                f"{self.tries:,} tries (acceptance {self.acceptance_rate:.1%}; rejected: {self.rejections()}); "
                f"{int(self.table['pareto'].sum()):,} on the Pareto front of {', '.join(self.objectives) or '-'}"
                + self._latency_summary() + ("" if self.complete else f"; {self.stopped_early()}"))

    def rejections(self) -> str:
        """The rejected tries by reason, in words ("none" if there were none)."""
        reasons = ", ".join(f"{count:,} {reason.replace('_', ' ')}" for reason, count in self.rejected.items()
                            if count)
        return reasons or "none"

    def stopped_early(self) -> str:
        """Why fewer designs than requested were found ("" when the run is complete)."""
        if self.complete:
            return ""
        if self.stop == "time":
            return f"stopped early: the time limit of {self.time_limit_s:g} s was reached after {self.tries:,} tries"
        if self.stop == "grid":
            return "the grid has no more designs"
        if self.stop == "found":
            return "the latency constraints left fewer designs than were found"
        return f"stopped early: the budget of {self.tries:,} tries was spent"

    def _latency_summary(self) -> str:
        if "latency_ms" not in self.table:
            return ""
        timed = int(self.table["latency_ms"].notna().sum())
        if self.latency_model is None:
            return f"; {timed} timed (too few for a latency estimate)"
        return (f"; {timed} timed, latency_est_ms ESTIMATED for all (held-out error "
                f"{self.latency_model.cv_error:.0%}, {self.latency_model.cv_folds}-fold)")

    def specs(self) -> Iterator[ResNetSpec]:
        """Each row's design, validated again from its columns."""
        yield from specs_of(self.table)

    def to_csv(self, path: str | Path | None = None) -> str:
        """The table as CSV (per-stage lists as JSON text), safe from spreadsheet formula injection."""
        return comparison_to_csv(flat_lists(self.table), path)

    def to_json(self, path: str | Path | None = None) -> str:
        """The designs export described in the module docstring, with how they were found."""
        designs = []
        metrics = [c for c in self.metric_columns if c in self.table.columns]
        for record in self.table.to_dict("records"):
            designs.append({"spec": {name: record[name] for name in SPEC_FIELDS},
                            "metrics": {name: _plain(record[name]) for name in metrics},
                            "pareto": bool(record["pareto"])})
        body: dict[str, Any] = {
            "space": self.space, "method": self.method, "seed": self.seed, "tries": self.tries,
            "accepted": self.accepted, "acceptance_rate": self.acceptance_rate, "rejected": self.rejected,
            "constraints": list(self.constraints), "objectives": list(self.objectives), "designs": designs}
        text = json.dumps(body, separators=(",", ":"))
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text


def flat_lists(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with per-stage lists as JSON text (what a CSV or a table cell holds)."""
    flat = table.copy()
    for column in flat.columns:
        if flat[column].dtype == object:
            flat[column] = flat[column].map(lambda v: json.dumps(v) if isinstance(v, (list, tuple)) else v)
    return flat


def _plain(value: Any) -> Any:
    """A JSON-ready number: NaN (a failed measurement) becomes null."""
    return None if isinstance(value, float) and value != value else value
