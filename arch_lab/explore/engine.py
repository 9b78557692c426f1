"""``explore()``: sample a design space, count every design, keep those that meet the constraints.

Every design gets :func:`arch_lab.analysis.sweep.sweep_metrics`'s numbers (the same as ``analyse()``),
added up from the stages it shares with designs counted before (:mod:`arch_lab.explore.counter`). A
sampled design that is not a valid spec (or is beyond the request limits) is a rejected try, not an
error: a space's ranges are meant to be wider than the valid designs. Designs met twice are rejected as
duplicates, so every row is a distinct network. A try costs the sampling, a block count of the draw
(refused over ``max_blocks`` before anything else), one spec validation and one count; only a row of
plain values is kept per accepted design.

A run stops when it has ``n`` designs, when ``max_tries`` are spent, at the end of a grid, or at
``time_limit_s`` (checked before every try, so it is overrun by at most one try: a try counts at most
``max_blocks`` blocks); :attr:`ExploreResult.stop` says which.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from arch_lab.analysis.sweep import SWEEP_METRICS
from arch_lab.errors import LimitError, SpecError
from arch_lab.explore.counter import PartsCounter, network_of
from arch_lab.explore.criteria import Constraint, Objective, pareto_mask, parse_constraint, parse_objective
from arch_lab.explore.finalists import LATENCY_COLUMNS, add_latency, finalists
from arch_lab.explore.result import ExploreResult
from arch_lab.explore.space import SPEC_FIELDS, Space, parse_space
from arch_lab.explore.spaces import load_space
from arch_lab.limits import Limits, check_batch_size, check_blocks
from arch_lab.spec import ResNetSpec

METHODS = ("random", "grid", "optuna")
STRUCTURE_COLUMNS = ("num_stages", "num_blocks")
"""Counts of the design itself, usable in constraints (pycls constrains RegNets to 4 stages)."""
METRIC_COLUMNS = (*SWEEP_METRICS, *STRUCTURE_COLUMNS)
MAX_DESIGNS = 1_000_000
MAX_TRIES = 100_000_000
MAX_TIME_S = 86_400.0
PROGRESS_EVERY_S = 0.25
"""Least time between two ``on_progress`` reports."""


class _Rows:
    """The growing table, one list per column, the tallies of rejected tries, and when to stop."""

    def __init__(self, space: Space, constraints: Sequence[Constraint], batch_size: int, extra: Sequence[str],
                 stop_at: float, clock: Callable[[], float], on_progress: Callable[[int, int], None] | None):
        self.space, self.constraints = space, constraints
        self.limits = Limits()
        check_batch_size(batch_size, self.limits)
        self.counter = PartsCounter(batch_size, self.limits)
        self.columns: dict[str, list[Any]] = {name: [] for name in (*SPEC_FIELDS, *METRIC_COLUMNS, *extra)}
        self.rejected = {"invalid": 0, "over_limits": 0, "duplicate": 0, "constraint": 0}
        self.tries = 0
        self.stop_at, self.clock, self.on_progress = stop_at, clock, on_progress
        self.timed_out = False
        self._reported = clock()
        # hashes, not the networks: the set stays a small fraction of the table (a 64-bit collision between
        # two of 100,000 designs, about 1 in 10^9, would drop one design as a duplicate)
        self._seen: set[int] = set()

    def __len__(self) -> int:
        return len(self.columns["name"])

    def out_of_time(self) -> bool:
        """Whether the time limit is reached (reporting progress on the way, at most every
        :data:`PROGRESS_EVERY_S`)."""
        now = self.clock()
        if self.on_progress is not None and now - self._reported >= PROGRESS_EVERY_S:
            self._reported = now
            self.on_progress(len(self), self.tries)
        self.timed_out = self.timed_out or now >= self.stop_at
        return self.timed_out

    def offer(self, values: dict[str, Any]) -> tuple[ResNetSpec, dict[str, Any]] | None:
        """The design of ``values`` and its metrics if it is a new, valid design meeting every constraint."""
        self.tries += 1
        try:
            check_blocks(self.space.blocks(values), self.limits)  # a try's cost is bounded before it starts
            spec = self.space.build(values, f"{self.space.name}-{len(self)}")
            key = hash(network_of(spec))
            if key in self._seen:
                self.rejected["duplicate"] += 1
                return None
            self._seen.add(key)
            metrics: dict[str, Any] = self.counter.metrics(spec)
        except LimitError:  # too big to count is too big to keep
            self.rejected["over_limits"] += 1
            return None
        except SpecError:
            self.rejected["invalid"] += 1
            return None
        metrics["num_stages"], metrics["num_blocks"] = spec.num_stages, spec.num_blocks
        for constraint in self.constraints:
            if not constraint.holds(metrics[constraint.metric]):
                self.rejected["constraint"] += 1
                return None
        return spec, metrics

    def add(self, spec: ResNetSpec, metrics: dict[str, Any]) -> None:
        columns = self.columns
        for name, value in spec.to_dict().items():
            columns[name].append(value)
        for name, value in metrics.items():
            columns[name].append(value)


def explore(space: Space | str | Mapping[str, Any], n: int | None = 100, *, seed: int = 0,
            constraints: Sequence[str] = (), objectives: Sequence[str] = (), method: str = "random",
            max_tries: int | None = None, objective: Callable[[ResNetSpec], float] | None = None,
            batch_size: int = 1, measure_top: int = 0, budget_s: float = 2.0, executor: str = "local",
            address: str | None = None, on_measured: Callable[[int, dict[str, Any]], None] | None = None,
            time_limit_s: float | None = None, on_progress: Callable[[int, int], None] | None = None,
            clock: Callable[[], float] = time.monotonic) -> ExploreResult:
    """Find up to ``n`` distinct designs of ``space`` that satisfy ``constraints`` (and the space's own).

    ``space`` is a :class:`Space`, a built-in name, a JSON file path or the parsed JSON. ``method``:
    ``"random"`` draws seeded uniform samples until ``n`` designs pass or ``max_tries`` (default
    ``max(10_000, 100 * n)``) are spent; ``"grid"`` walks the full grid (refused above
    :data:`~arch_lab.explore.space.MAX_GRID`), stopping early once ``n`` pass (``n=None``: all);
    ``"optuna"`` lets Optuna's seeded TPE sampler minimise ``objective(spec)``, counting invalid and
    constrained trials as pruned, and adds an ``objective`` column. The same arguments give the same table.
    ``objectives`` (``"min:params"``, ``"max:macs"``) set the ``pareto`` column.

    ``measure_top=k`` times the finalists on this machine (``executor="local"``, one after another, each
    within ``budget_s``) or as Ray tasks (``executor="ray"``, ``address`` of a cluster or None for a local
    instance), see :mod:`arch_lab.explore.finalists`; ``on_measured(row, figures)`` reports each as it
    finishes. Constraints and objectives may then use ``latency_ms`` (measured: unmeasured designs fail a
    latency constraint) and ``latency_est_ms`` (estimated for all once enough were timed).

    ``time_limit_s`` bounds the sampling by ``clock`` (a result then says ``stop == "time"``; measuring
    finalists comes after it, bounded by ``budget_s`` each); ``on_progress(accepted, tries)`` is called
    during the sampling, at most every :data:`PROGRESS_EVERY_S`, and once at its end.
    """
    space = _space(space)
    _check_int("seed", seed, 0, 2**63 - 1)
    _check_int("batch_size", batch_size, 1, 4096)
    if method not in METHODS:
        raise SpecError("method", f"{str(method)[:40]!r} is not allowed; choose one of {', '.join(METHODS)}")
    if n is None and method != "grid":
        raise SpecError("n", "give the number of designs to find (only the grid method runs to its end)")
    if n is not None:
        _check_int("n", n, 1, MAX_DESIGNS)
    if max_tries is None:
        max_tries = MAX_TRIES if n is None else min(MAX_TRIES, max(10_000, 100 * n))
    _check_int("max_tries", max_tries, 1, MAX_TRIES)
    if (method == "optuna") != (objective is not None):
        raise SpecError("objective", "the optuna method needs an objective callable (spec -> float to minimise) "
                                     "and the other methods take none")
    if isinstance(constraints, str) or isinstance(objectives, str):
        raise SpecError("constraints", "give a list of texts, e.g. [\"macs<=4e9\"]")
    _check_int("measure_top", measure_top, 0, MAX_DESIGNS)
    known = (*METRIC_COLUMNS, *LATENCY_COLUMNS) if measure_top else METRIC_COLUMNS
    parsed = [parse_constraint(text, METRIC_COLUMNS, f"space.constraints[{i}]")
              for i, text in enumerate(space.constraints)]
    parsed += [parse_constraint(text, known, f"constraints[{i}]") for i, text in enumerate(constraints)]
    goals = [parse_objective(text, known, f"objectives[{i}]") for i, text in enumerate(objectives)]
    timed = [c for c in parsed if c.metric in LATENCY_COLUMNS]
    parsed = [c for c in parsed if c.metric not in LATENCY_COLUMNS]

    if time_limit_s is not None and (isinstance(time_limit_s, bool) or not isinstance(time_limit_s, (int, float))
                                     or not 0 < time_limit_s <= MAX_TIME_S):
        raise SpecError("time_limit_s", f"{str(time_limit_s)[:40]!r} is not allowed; expected seconds above 0 and "
                                        f"at most {MAX_TIME_S:,.0f}")
    stop_at = float("inf") if time_limit_s is None else clock() + time_limit_s
    rows = _Rows(space, parsed, batch_size, ("objective",) if objective else (), stop_at, clock, on_progress)
    wanted = MAX_DESIGNS if n is None else n
    ended = False  # the grid was enumerated to its end
    if method == "random":
        rng = random.Random(seed)
        while len(rows) < wanted and rows.tries < max_tries and not rows.out_of_time():
            _keep(rows, rows.offer(space.draw(rng)))
    elif method == "grid":
        for values in space.grid():
            if len(rows) >= wanted or rows.tries >= max_tries or rows.out_of_time():
                break
            _keep(rows, rows.offer(values))
        else:
            ended = True
    else:
        from arch_lab.explore.search import optuna_search

        optuna_search(space, rows, objective, wanted, seed, max_tries)  # type: ignore[arg-type]
    stop = "time" if rows.timed_out else "found" if len(rows) >= wanted else "grid" if ended else "tries"
    if on_progress is not None:
        on_progress(len(rows), rows.tries)

    table = pd.DataFrame(rows.columns)
    counted_goals = [goal for goal in goals if goal.metric not in LATENCY_COLUMNS]
    table["pareto"] = _front(table, counted_goals)
    model = None
    if measure_top and len(table):
        table, model = add_latency(table, finalists(table, counted_goals, measure_top), batch_size=batch_size,
                                   budget_s=budget_s, executor=executor, address=address, on_result=on_measured)
        for constraint in timed:
            kept = table[constraint.metric].map(lambda v, c=constraint: v == v and c.holds(v))  # NaN fails
            rows.rejected["constraint"] += int((~kept).sum())
            table = table[kept].reset_index(drop=True)
        table["pareto"] = _front(table, goals)
    latency = ("latency_ms", "throughput_img_s", "latency_est_ms") if measure_top else ()
    return ExploreResult(table=table, space=space.name, method=method, seed=seed, tries=rows.tries,
                         rejected=dict(rows.rejected), constraints=tuple(str(c) for c in (*parsed, *timed)),
                         objectives=tuple(str(goal) for goal in goals), requested=n, stop=stop,
                         time_limit_s=time_limit_s,
                         metric_columns=(*METRIC_COLUMNS, *(("objective",) if objective else ()), *latency),
                         latency_model=model)


def _front(table: pd.DataFrame, goals: Sequence[Objective]) -> np.ndarray:
    if not len(table):
        return np.zeros(0, dtype=bool)
    return pareto_mask(table[[goal.metric for goal in goals]].to_numpy(dtype=float), [goal.maximise for goal in goals])


def _keep(rows: _Rows, found: tuple[ResNetSpec, dict[str, Any]] | None) -> None:
    if found is not None:
        rows.add(*found)


def _space(space: Space | str | Mapping[str, Any]) -> Space:
    if isinstance(space, Space):
        return space
    if isinstance(space, str):
        return load_space(space)
    return parse_space(dict(space) if isinstance(space, Mapping) else space)


def _check_int(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SpecError(name, f"{str(value)[:40]!r} is not allowed; expected an integer from {low:,} to {high:,}")
