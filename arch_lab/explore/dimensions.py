"""One sampled value of a design space: a choice from a list, an integer range, or a quantised log-uniform.

Each kind answers the three ways a space is searched: ``draw`` (seeded uniform random sampling),
``grid`` (every value, for the full grid) and ``suggest`` (an Optuna trial picks it). Sampling uses
``random.Random.random()`` only, whose sequence is fixed for a seed across Python versions and platforms,
so the same seed gives the same designs everywhere. The log-uniform kind follows pycls's
``sweep/random.py::log_uniform`` (uniform in log space, then rounded to a multiple of the quantum).

Parsing a hand-written sampler (``{"choices": [...]}``, ``{"range": [lo, hi], "step": s}``,
``{"log_uniform": [lo, hi], "quantum": q}``) lives here too, so every bound is checked in one place and
every error names the sampler's path in the space file.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.spec import MAX_STAGES

MAX_CHOICES = 256
"""Most values in one ``choices`` list."""
MAX_NUMBER = 1e9
"""Largest magnitude of any number in a sampler: far beyond every spec bound, small enough for floats."""
MIN_QUANTUM = 1e-6
"""Finest log-uniform quantum (RegNet's w_m uses 0.001), so the count of multiples stays a finite number."""
MAX_TEXT = 60
"""Longest text choice (a spec's longest value is its 60-character name)."""
Scalar = bool | int | float | str | None


@dataclass(frozen=True)
class Choice:
    """One of a list of values (each a scalar or, for a per-stage field, a whole per-stage list)."""

    values: tuple[Any, ...]

    @property
    def size(self) -> int:
        return len(self.values)

    def draw(self, rng: random.Random) -> Any:
        return self.values[int(rng.random() * len(self.values))]

    def grid(self) -> tuple[Any, ...]:
        return self.values

    def suggest(self, trial: Any, name: str) -> Any:
        # an index keeps Optuna's categorical distribution to plain ints whatever the values are (lists, None)
        return self.values[trial.suggest_categorical(name, list(range(len(self.values))))]


@dataclass(frozen=True)
class IntRange:
    """An integer ``low, low + step, ...`` up to ``high`` (inclusive), each equally likely."""

    low: int
    high: int
    step: int = 1

    @property
    def size(self) -> int:
        return (self.high - self.low) // self.step + 1

    def draw(self, rng: random.Random) -> int:
        return self.low + self.step * int(rng.random() * self.size)

    def grid(self) -> range:
        return range(self.low, self.high + 1, self.step)

    def suggest(self, trial: Any, name: str) -> int:
        return trial.suggest_int(name, self.low, self.low + self.step * (self.size - 1), step=self.step)


@dataclass(frozen=True)
class LogUniform:
    """``exp(uniform(log low, log high))`` rounded to a multiple of ``quantum`` within ``[low, high]``
    (pycls's ``log_uniform``); an integer quantum gives integers."""

    low: float
    high: float
    quantum: float

    @property
    def first(self) -> int:
        """Smallest multiple index ``k`` with ``k * quantum >= low`` (tolerating float error)."""
        return math.ceil(self.low / self.quantum - 1e-9)

    @property
    def last(self) -> int:
        return math.floor(self.high / self.quantum + 1e-9)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def _value(self, x: float) -> int | float:
        k = min(max(round(x / self.quantum), self.first), self.last)
        return k * self.quantum if isinstance(self.quantum, int) else round(k * self.quantum, 9)

    def draw(self, rng: random.Random) -> int | float:
        lo = math.log(self.low)
        return self._value(math.exp(lo + rng.random() * (math.log(self.high) - lo)))

    def grid(self) -> list[int | float]:
        return [self._value(k * self.quantum) for k in range(self.first, self.last + 1)]

    def suggest(self, trial: Any, name: str) -> int | float:
        return self._value(trial.suggest_float(name, self.low, self.high, log=True))


Dimension = Choice | IntRange | LogUniform
SAMPLER_KEYS = {"choices": (), "range": ("step",), "log_uniform": ("quantum",)}
"""Each sampler kind's key and the options it may add (plus ``per_stage`` on a per-stage field)."""


def parse_dimension(data: Any, where: str, per_stage_ok: bool) -> tuple[Dimension, bool]:
    """The dimension described by ``data`` and its ``per_stage`` flag; ``where`` is its path for errors."""
    if not isinstance(data, dict):
        raise SpecError(where, "expected an object such as {\"choices\": [...]}, {\"range\": [lo, hi]} or "
                               "{\"log_uniform\": [lo, hi], \"quantum\": 8}")
    kinds = [key for key in SAMPLER_KEYS if key in data]
    if len(kinds) != 1:
        raise SpecError(where, f"give exactly one of {', '.join(SAMPLER_KEYS)}")
    kind = kinds[0]
    allowed = {kind, *SAMPLER_KEYS[kind], "per_stage"}
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise SpecError(f"{where}.{unknown[0][:40]}", f"unknown key; allowed keys are {', '.join(sorted(allowed))}")
    per_stage = data.get("per_stage", False)
    if not isinstance(per_stage, bool):
        raise SpecError(f"{where}.per_stage", "expected true or false")
    if per_stage and not per_stage_ok:
        raise SpecError(f"{where}.per_stage", "this field has one value for the whole network; only per-stage "
                                              "fields (depths, widths, strides, block, ...) take per_stage")
    if kind == "choices":
        return _choice(data["choices"], f"{where}.choices", per_stage_ok and not per_stage), per_stage
    if kind == "range":
        return _int_range(data["range"], data.get("step", 1), where), per_stage
    return _log_uniform(data["log_uniform"], data.get("quantum", 1), where), per_stage


def _choice(values: Any, where: str, lists_ok: bool) -> Choice:
    if not isinstance(values, list) or not 1 <= len(values) <= MAX_CHOICES:
        raise SpecError(where, f"expected a list of 1 to {MAX_CHOICES} values")
    return Choice(tuple(_choice_value(value, f"{where}[{i}]", lists_ok) for i, value in enumerate(values)))


def _choice_value(value: Any, where: str, lists_ok: bool) -> Any:
    if isinstance(value, list):
        if not lists_ok:
            raise SpecError(where, "a list is allowed only as a whole per-stage value (a per-stage field without "
                                   "per_stage); give a scalar")
        if not 1 <= len(value) <= MAX_STAGES:
            raise SpecError(where, f"expected a list of 1 to {MAX_STAGES} per-stage values")
        return tuple(_scalar(item, f"{where}[{i}]") for i, item in enumerate(value))
    return _scalar(value, where)


def _scalar(value: Any, where: str) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise SpecError(where, f"text of {len(value):,} characters is too long; at most {MAX_TEXT}")
        return value
    if isinstance(value, (int, float)):
        return _number(value, where)
    raise SpecError(where, f"a {type(value).__name__} is not allowed; expected a number, text, true/false or null")


def _number(value: Any, where: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(where, f"{str(value)[:40]!r} is not a number")
    if not -MAX_NUMBER <= value <= MAX_NUMBER:  # False for NaN; exact for huge ints
        raise SpecError(where, f"must be a finite number of magnitude at most {MAX_NUMBER:.0e}")
    return value


def _pair(value: Any, where: str) -> tuple[int | float, int | float]:
    if not isinstance(value, list) or len(value) != 2:
        raise SpecError(where, "expected [low, high]")
    low, high = _number(value[0], f"{where}[0]"), _number(value[1], f"{where}[1]")
    if low > high:
        raise SpecError(where, f"low {low} is above high {high}; expected low <= high")
    return low, high


def _int_range(bounds: Any, step: Any, where: str) -> IntRange:
    low, high = _pair(bounds, f"{where}.range")
    if not (isinstance(low, int) and isinstance(high, int)):
        raise SpecError(f"{where}.range", "expected integers; use log_uniform with a quantum for real numbers")
    if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= MAX_NUMBER:
        raise SpecError(f"{where}.step", f"expected an integer from 1 to {MAX_NUMBER:.0e}")
    return IntRange(low, high, step)


def _log_uniform(bounds: Any, quantum: Any, where: str) -> LogUniform:
    low, high = _pair(bounds, f"{where}.log_uniform")
    if low <= 0:
        raise SpecError(f"{where}.log_uniform", f"low {low} must be > 0 (a log-uniform needs positive bounds)")
    quantum = _number(quantum, f"{where}.quantum")
    if quantum < MIN_QUANTUM:
        raise SpecError(f"{where}.quantum", f"{quantum} is too small; expected a number >= {MIN_QUANTUM}")
    dimension = LogUniform(low, high, quantum)
    if dimension.size < 1:
        raise SpecError(f"{where}.quantum", f"no multiple of {quantum} lies in [{low}, {high}]")
    return dimension
