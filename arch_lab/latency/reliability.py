"""Whether a measured latency figure can be trusted, and what budget would make it so (no torch).

A median of one timed call, or of calls that scatter widely, looks as solid in a table as one of a hundred.
Every surface that shows a measured figure (the Latency tab, the Compare table and its ``×base`` ratios,
the charts) marks the thin ones with :data:`MARK`, by the same two rules: fewer than
:data:`MIN_TIMED_CALLS` timed calls, or p90 above :data:`MAX_SPREAD` times the median. A design with a
thin or missing figure is told the budget that would give every batch enough calls
(:func:`needed_budget_s`), worked out from its measured call time and the sampler's own rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from arch_lab.columns import CALLS, MEDIAN, P90, LatencyColumn

MIN_TIMED_CALLS = 10
"""Fewer timed calls than this: the median and percentiles rest on too little."""
MAX_SPREAD = 1.25
"""p90 / median above this: the timings scatter (a busy machine, frequency changes)."""
MARK = "⚠"
"""Beside a figure (or a ratio built on one) that breaks a rule."""
SAMPLING_DEFAULTS = {"warmup_calls": 20, "warmup_s": 1.0, "warmup_fraction": 0.3, "throughput_fraction": 0.25}
"""``arch_lab.latency.sampling.SamplingRule``'s defaults for the fields :func:`needed_budget_s` reads (a
measurement records its rule in ``settings["sampling"]``, which wins)."""


def problems(count: Any, median_ms: Any, p90_ms: Any, short: bool = False) -> list[str]:
    """Why a measured figure is thin, in words ([] when it is not); ``short`` for a table cell."""
    found = []
    count = 0 if count is None or pd.isna(count) else int(count)
    if count < MIN_TIMED_CALLS:
        calls = f"{count} timed call{'s' if count != 1 else ''}"
        found.append(calls if short else f"only {calls} (want ≥ {MIN_TIMED_CALLS})")
    if _known(median_ms) and _known(p90_ms) and median_ms > 0 and (spread := p90_ms / median_ms) > MAX_SPREAD:
        found.append(f"p90 {spread:.2f}× median" if short else
                     f"wide spread: p90 is {spread:.2f}× the median (machine busy?)")
    return found


def _known(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def unreliable(df: pd.DataFrame, batch_size: int) -> pd.Series:
    """Per row of a comparison, whether its figures at ``batch_size`` exist and break a rule; False where the
    comparison does not record the timed calls (nothing to judge by) or there is no figure."""
    column = LatencyColumn(MEDIAN, batch_size)
    calls, p90 = column.at(CALLS).name, column.at(P90).name
    if column.name not in df or calls not in df:
        return pd.Series(False, index=df.index)
    spread = df[p90] if p90 in df else pd.Series(None, index=df.index)
    return pd.Series([_known(m) and bool(problems(c, m, p)) for m, c, p in zip(df[column.name], df[calls], spread,
                                                                               strict=True)], index=df.index)


def call_seconds(rows: Sequence[Mapping[str, Any]]) -> dict[int, float]:
    """Seconds one call takes at each batch size of a measurement's rows: the median of the timed calls, else
    the warm-up's average; a batch with neither (skipped, or no warm call fitted) is scaled linearly from the
    nearest batch that has one, as the sweep predicts a skipped batch. Empty when no call was timed."""
    known = {}
    for row in rows:
        if _known(row.get("median_ms")):
            known[row["batch_size"]] = row["median_ms"] / 1e3
        elif row.get("warmup_calls") and _known(row.get("warmup_s")):
            known[row["batch_size"]] = row["warmup_s"] / row["warmup_calls"]
    if not known:
        return {}
    seconds = {}
    for row in rows:
        batch = row["batch_size"]
        nearest = min(known, key=lambda b: abs(math.log(b / batch)))
        seconds[batch] = known.get(batch, known[nearest] * batch / nearest)
    return seconds


def needed_budget_s(rows: Sequence[Mapping[str, Any]], sampling: Mapping[str, Any] | None = None) -> float | None:
    """A time budget (whole seconds) in which every batch of the measurement would get
    :data:`MIN_TIMED_CALLS` timed calls and its throughput block, by the sampler's rule run backwards.

    Per batch, with ``t`` seconds a call: warm-up takes ``w = min(a, f·s)`` of a share ``s`` (``a`` = its
    calls and seconds, whichever take longer; ``f`` its fraction of the share), and the timed calls end
    where the throughput block's part ``p`` of the rest begins, so ``N`` calls need ``(1 - p)(s - w) ≥ N·t``:
    ``s = min(a + c, c / (1 - f))`` with ``c = N·t / (1 - p)``. The sweep splits what is left equally among
    the batches still to run and charges each batch's set-up (the cold call) to the sweep, so the budget is
    the batch count times the largest share (plus one call's overrun) plus every set-up. None when no call
    was timed at all (nothing to scale from).
    """
    rule = {**SAMPLING_DEFAULTS, **(sampling or {})}
    seconds = call_seconds(rows)
    if not seconds:
        return None
    shares, setups = [], 0.0
    for row in rows:
        t = seconds[row["batch_size"]]
        warmup = max(rule["warmup_calls"] * t, rule["warmup_s"])
        timed = MIN_TIMED_CALLS * t / (1 - rule["throughput_fraction"])
        shares.append(min(warmup + timed, timed / (1 - rule["warmup_fraction"])) + t)
        setups += row["cold_ms"] / 1e3 if _known(row.get("cold_ms")) else t
    return float(math.ceil(len(rows) * max(shares) + setups))
