"""Latency for an exploration's finalists, and an estimated latency for every design.

Measuring takes seconds a design, so only the finalists are timed: the ``k`` best, taking the Pareto
designs of the objectives that need no measurement first, each group best first by the first objective.
Once at least :data:`~arch_lab.explore.estimate.MIN_DESIGNS` have been timed, a per-device model fitted
to them (:mod:`arch_lab.explore.estimate`) estimates every design's latency, in the column
``latency_est_ms``: always labelled estimated, with its cross-validated error beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arch_lab.explore.criteria import Objective
from arch_lab.explore.estimate import ESTIMATE_COLUMN, MIN_DESIGNS, LatencyModel, fit_latency_model, latency_features
from arch_lab.explore.space import SPEC_FIELDS
from arch_lab.spec import ResNetSpec

LATENCY_COLUMNS = ("latency_ms", ESTIMATE_COLUMN)
"""Latency metrics constraints and objectives may use once finalists are measured."""
MEASURED_COLUMNS = ("latency_ms", "throughput_img_s", "latency_device", "latency_error")


def finalists(table: pd.DataFrame, goals: Sequence[Objective], k: int) -> list[int]:
    """Row positions of the ``k`` designs to time: the Pareto rows, then the others, each group best
    first by the first objective (in table order without objectives)."""
    order = np.arange(len(table))
    if goals:
        values = table[goals[0].metric].to_numpy(dtype=float)
        order = np.argsort(-values if goals[0].maximise else values, kind="stable")
    pareto = table["pareto"].to_numpy()[order]
    return [int(i) for i in np.concatenate([order[pareto], order[~pareto]])[:k]]


def add_latency(table: pd.DataFrame, rows: Sequence[int], *, batch_size: int, budget_s: float, executor: str,
                address: str | None, on_result: Callable[[int, dict[str, Any]], None] | None
                ) -> tuple[pd.DataFrame, LatencyModel | None]:
    """``table`` with the measured columns filled for ``rows`` (NaN/empty elsewhere) and, when enough
    designs were timed, ``latency_est_ms`` for every row; and the fitted model (None if too few)."""
    from arch_lab.explore.measure import measure_designs  # torch is imported only when something is timed

    every = specs_of(table)
    specs = [every[i] for i in rows]
    measured = measure_designs(specs, batch_size=batch_size, budget_s=budget_s, executor=executor, address=address,
                               on_result=on_result)
    table = table.copy()
    table["latency_ms"] = np.nan
    table["throughput_img_s"] = np.nan
    table["latency_device"] = ""
    table["latency_error"] = ""
    for column, source in zip(MEASURED_COLUMNS, ("latency_ms", "throughput_img_s", "device", "error"), strict=True):
        table.iloc[list(rows), table.columns.get_loc(column)] = measured[source].to_numpy()
    ok = measured["latency_ms"].notna().to_numpy()
    if ok.sum() < MIN_DESIGNS:
        table[ESTIMATE_COLUMN] = np.nan
        return table, None
    features = latency_features(every, batch_size=batch_size)
    timed = [row for row, good in zip(rows, ok, strict=True) if good]
    model = fit_latency_model(features.iloc[timed].reset_index(drop=True), measured["latency_ms"][ok])
    table[ESTIMATE_COLUMN] = model.predict(features)
    return table, model


def specs_of(table: pd.DataFrame) -> list[ResNetSpec]:
    """The design of every row, validated again from its columns."""
    return [ResNetSpec.from_dict(record) for record in table[list(SPEC_FIELDS)].to_dict("records")]
