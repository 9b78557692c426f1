"""Warm up, then time calls one by one until the spread is small or the time share is spent.

The loop only sees a :class:`Clock`, so its budget and stopping rules are tested exactly with a fake
clock; the real clocks are a host timer (CPU) and CUDA events (GPU).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import torch

from arch_lab.latency.stats import relative_iqr


class Clock(Protocol):
    def now(self) -> float:
        """Host time in seconds (for deadlines)."""

    def time_call(self, fn: Callable[[], Any]) -> float:
        """Run ``fn`` to completion and return how long it took, in ms."""


class HostClock:
    """``time.perf_counter`` around each call: exact on a CPU, where a call returns when its work is done."""

    description = "time.perf_counter around each call"

    def now(self) -> float:
        return time.perf_counter()

    def time_call(self, fn: Callable[[], Any]) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3


class CudaClock:
    """A CUDA event pair around each call, then a wait for the end event.

    Kernels run asynchronously, so a host timer alone would time the launches. The events time the GPU
    stream from the first to the last kernel of the call (launch gaps included), and waiting for the end
    event after every call keeps calls from overlapping, so each sample is one request's latency.
    """

    description = "CUDA events around each call, synchronised after each call"

    def __init__(self) -> None:
        self.start = torch.cuda.Event(enable_timing=True)
        self.end = torch.cuda.Event(enable_timing=True)

    def now(self) -> float:
        return time.perf_counter()

    def time_call(self, fn: Callable[[], Any]) -> float:
        self.start.record()
        fn()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end)


@dataclass(frozen=True)
class SamplingRule:
    """When warm-up ends and when timing stops; every field is reported with the result."""

    warmup_calls: int = 10
    """Warm-up calls at most, the first (cold) call included ..."""
    warmup_fraction: float = 0.25
    """... or fewer, once warm-up has used this fraction of the batch's time share."""
    min_calls: int = 20
    """Timed calls before the spread may stop the loop."""
    spread_target: float = 0.05
    """Stop once IQR / median of the timed calls is at most this."""
    check_every: int = 10
    """Check the spread every this many timed calls."""
    max_calls: int = 2000

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Samples:
    cold_ms: float
    """The first call: it pays for lazy initialisation, oneDNN primitive creation, cuDNN autotuning."""
    warmup_calls: int
    times_ms: list[float] = field(default_factory=list)
    stopped_by: str = "budget"
    """"spread" (small enough), "budget" (time share spent) or "max_calls"."""
    elapsed_s: float = 0.0


def sample(fn: Callable[[], Any], clock: Clock, budget_s: float, rule: SamplingRule = SamplingRule()) -> Samples:
    """Warm up and time ``fn`` within ``budget_s`` seconds.

    A call is started only if the fastest call seen so far would still end by the deadline, so the loop
    overruns its share by at most one call (a call is never interrupted). The cold call always runs.
    """
    start = clock.now()
    deadline = start + budget_s
    cold_ms = clock.time_call(fn)
    fastest_s = cold_ms / 1e3
    samples = Samples(cold_ms=cold_ms, warmup_calls=1)

    def fits() -> bool:
        return clock.now() + fastest_s <= deadline

    while (samples.warmup_calls < rule.warmup_calls and clock.now() - start < rule.warmup_fraction * budget_s
           and fits()):
        fastest_s = min(fastest_s, clock.time_call(fn) / 1e3)
        samples.warmup_calls += 1
    times = samples.times_ms
    while fits():
        times.append(clock.time_call(fn))
        fastest_s = min(fastest_s, times[-1] / 1e3)
        if len(times) >= rule.max_calls:
            samples.stopped_by = "max_calls"
            break
        if len(times) >= rule.min_calls and len(times) % rule.check_every == 0 \
                and relative_iqr(times) <= rule.spread_target:
            samples.stopped_by = "spread"
            break
    samples.elapsed_s = clock.now() - start
    return samples
