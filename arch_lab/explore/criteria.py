"""Constraints (``"3e9<=macs<=5e9"``), objectives (``"min:params"``) and the Pareto front they define.

Constraints and objectives are text because that is how a user writes them on the command line and in a
space file; they are parsed once, against the metric columns the exploration produces, and every bad one
is a :class:`SpecError` naming the allowed metrics.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from arch_lab.errors import SpecError

MAX_CRITERION_CHARS = 200
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_SPLIT = re.compile(r"\s*(<=|>=|==|<|>)\s*")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "=="}


@dataclass(frozen=True)
class Constraint:
    """``metric OP bound`` clauses that must all hold for a design to be accepted."""

    text: str
    metric: str
    clauses: tuple[tuple[Callable[[float, float], bool], float], ...]

    def holds(self, value: float) -> bool:
        return all(op(value, bound) for op, bound in self.clauses)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Objective:
    """A metric to minimise or maximise."""

    metric: str
    maximise: bool

    def __str__(self) -> str:
        return f"{'max' if self.maximise else 'min'}:{self.metric}"


def _check_metric(name: str, metrics: Sequence[str], where: str) -> str:
    if name not in metrics:
        raise SpecError(where, f"{name[:40]!r} is not a metric; choose one of {', '.join(metrics)}")
    return name


def _bound(text: str, where: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise SpecError(where, f"{text[:40]!r} is not a number such as 4e9 or 25000000")
    value = float(text)
    if not math.isfinite(value):
        raise SpecError(where, f"{text[:40]!r} is out of range; give a finite number")
    return value


def parse_constraint(text: str, metrics: Sequence[str], where: str = "constraint") -> Constraint:
    """``"macs<=4e9"``, ``"params<25e6"``, ``"4e9>=macs"`` or ``"3e9<=macs<=5e9"`` (both ``<``-ish or both
    ``>``-ish in a chain); ``==`` is allowed for integer metrics such as ``num_stages``."""
    usage = "expected METRIC OP NUMBER or LOW OP METRIC OP HIGH with OP one of <, <=, >, >=, ==, e.g. 3e9<=macs<=5e9"
    if not isinstance(text, str) or len(text) > MAX_CRITERION_CHARS:
        raise SpecError(where, f"{usage} (at most {MAX_CRITERION_CHARS} characters)")
    parts = _SPLIT.split(text.strip().lower())
    if len(parts) == 3:
        left, op, right = parts
        if _NAME.fullmatch(left):
            metric, clauses = left, ((op, right),)
        else:
            metric, clauses = right, ((_FLIP[op], left),)
    elif len(parts) == 5 and (set(parts[1::2][:2]) <= {"<", "<="} or set(parts[1::2][:2]) <= {">", ">="}):
        low, op1, metric, op2, high = parts
        clauses = ((_FLIP[op1], low), (op2, high))
    else:
        raise SpecError(where, f"{text[:60]!r}: {usage}")
    metric = _check_metric(metric, metrics, where)
    return Constraint(text.strip(), metric, tuple((_OPS[op], _bound(num, where)) for op, num in clauses))


def parse_objective(text: str, metrics: Sequence[str], where: str = "objective") -> Objective:
    """``"min:params"`` or ``"max:macs"``."""
    if not isinstance(text, str) or len(text) > MAX_CRITERION_CHARS or text.count(":") != 1:
        raise SpecError(where, f"{str(text)[:60]!r} is not allowed; expected min:METRIC or max:METRIC")
    direction, metric = (part.strip().lower() for part in text.split(":"))
    if direction not in ("min", "max"):
        raise SpecError(where, f"{direction[:20]!r} is not a direction; expected min or max")
    return Objective(_check_metric(metric, metrics, where), direction == "max")


def pareto_mask(values: np.ndarray, maximise: Sequence[bool]) -> np.ndarray:
    """``True`` for each row of ``values`` (one column per objective) that no other row dominates.

    Row ``j`` dominates row ``i`` when it is at least as good in every objective and strictly better in
    one; equal rows do not dominate each other, and with no objectives every row is on the front. A row
    with a NaN (e.g. a failed measurement) is never on it. Each surviving point removes what it dominates,
    which costs O(n x front size) instead of the brute force's O(n^2).
    """
    values = np.asarray(values, dtype=float).reshape(len(values), len(maximise))
    mask = np.zeros(len(values), dtype=bool)
    keep = ~np.isnan(values).any(axis=1)
    if not maximise:
        return keep
    points = np.where(np.asarray(maximise, dtype=bool), -values[keep], values[keep])
    index = np.flatnonzero(keep)
    order = np.argsort(points.sum(axis=1), kind="stable")  # likely dominators first: fewer passes
    points, index = points[order], index[order]
    i = 0
    while i < len(points):
        dominated = (points[i] <= points).all(axis=1) & (points[i] < points).any(axis=1)
        points, index = points[~dominated], index[~dominated]
        i = int((~dominated[:i]).sum()) + 1
    mask[index] = True
    return mask
