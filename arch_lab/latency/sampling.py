"""One batch size: a cold call, a warm-up, synchronised single calls (latency), one back-to-back block (throughput).

The loop only sees a :class:`Clock`, so its budget and stopping rules are tested exactly with a fake clock;
the real clocks are a host timer (CPU) and CUDA events (GPU).

Budget rules (shared/notes/latency.md, sections 1.2 and 6):

* The **cold call** always runs and is reported, but is never used to predict a call: on a GPU it carries
  cuDNN autotuning and lazy loading, 100-1000x a warm call, and predicting from it would starve the batch.
  It is set-up, charged to the sweep, not to this batch's share.
* **Warm-up** lasts until both ``warmup_calls`` calls and ``warmup_s`` seconds of work have run (clocks ramp
  up under load), but never past ``warmup_fraction`` of the share. The first warm call runs whenever the
  share is positive: before it nothing can predict a warm call.
* **Latency**: single calls, each waited for, while the fastest warm call so far would still end before the
  part of the share kept for throughput; so the share is overrun by at most one call.
* **Throughput**: one block of back-to-back calls timed between a single pair of clock readings (launch gaps
  overlap with work, as in serving), sized from the slowest single call to end within the share.
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

    def time_calls(self, fn: Callable[[], Any], count: int) -> float:
        """Run ``fn`` ``count`` times back to back, wait once for the last, and return the total, in ms."""


class HostClock:
    """``time.perf_counter`` around each call: exact on a CPU, where a call returns when its work is done."""

    description = "time.perf_counter around each call (latency) and around the back-to-back block (throughput)"

    def now(self) -> float:
        return time.perf_counter()

    def time_call(self, fn: Callable[[], Any]) -> float:
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3

    def time_calls(self, fn: Callable[[], Any], count: int) -> float:
        start = time.perf_counter()
        for _ in range(count):
            fn()
        return (time.perf_counter() - start) * 1e3


class CudaClock:
    """CUDA events on the current stream.

    Kernels run asynchronously, so a host timer alone would time the launches. For latency, an event pair
    brackets each call and the host waits for the end event, so calls never overlap and each sample is one
    request's GPU time, launch gaps included. For throughput, one event pair brackets the whole block and
    the host does not wait in between, so the CPU launches ahead while the GPU works.
    """

    description = ("CUDA events around each call, synchronised after each call (latency); one event pair around "
                   "the back-to-back block, synchronised once (throughput)")

    def __init__(self) -> None:
        self.start = torch.cuda.Event(enable_timing=True)
        self.end = torch.cuda.Event(enable_timing=True)

    def now(self) -> float:
        return time.perf_counter()

    def time_call(self, fn: Callable[[], Any]) -> float:
        return self.time_calls(fn, 1)

    def time_calls(self, fn: Callable[[], Any], count: int) -> float:
        self.start.record()
        for _ in range(count):
            fn()
        self.end.record()
        self.end.synchronize()
        return self.start.elapsed_time(self.end)


@dataclass(frozen=True)
class SamplingRule:
    """When warm-up ends and when timing stops; every field is reported with the result."""

    warmup_calls: int = 20
    """Warm-up runs at least this many warm calls (the cold call not counted) ..."""
    warmup_s: float = 1.0
    """... and at least this much work, whichever ends later ..."""
    warmup_fraction: float = 0.3
    """... but stops once it has used this fraction of the batch's share."""
    min_calls: int = 20
    """Timed single calls before the spread may stop the loop; a row with fewer says why."""
    spread_target: float = 0.05
    """Stop once IQR / median of the timed calls is at most this."""
    check_every: int = 10
    """Check the spread every this many timed calls."""
    max_calls: int = 2000
    throughput_fraction: float = 0.25
    """Part of what is left after warm-up that the latency calls leave for the throughput block."""
    throughput_calls: int = 50
    """The throughput block runs as many calls as the latency phase did, at least this many, if they fit."""

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Samples:
    cold_ms: float
    """The first call: lazy initialisation, oneDNN primitive creation, cuDNN autotuning; never a prediction."""
    warmup_calls: int = 0
    warmup_s: float = 0.0
    """Work done in warm-up calls (the cold call not included)."""
    times_ms: list[float] = field(default_factory=list)
    """Synchronised single calls."""
    stopped_by: str = "budget"
    """"spread" (small enough), "budget" (share spent) or "max_calls"."""
    throughput_calls: int = 0
    throughput_ms: float | None = None
    """The back-to-back block's total time; None when no block fitted."""
    elapsed_s: float = 0.0
    """Time charged to the share: warm-up, single calls and the block (not the cold call)."""


def sample(fn: Callable[[], Any], clock: Clock, budget_s: float, rule: SamplingRule = SamplingRule(),
           after_warmup: Callable[[], None] | None = None) -> Samples:
    """Run the cold call, then warm up and time ``fn`` within ``budget_s`` seconds (see the module docstring).

    ``after_warmup`` runs between warm-up and timing, e.g. to reset the GPU's peak-memory counter so that
    cuDNN's autotuning workspace is not reported as memory that inference needs.
    """
    samples = Samples(cold_ms=clock.time_call(fn))
    start = clock.now()
    deadline = start + budget_s
    warm: list[float] = []

    def fits(end: float, call_ms: float) -> bool:
        return clock.now() + call_ms / 1e3 <= end

    def warming() -> bool:
        if not warm:
            return budget_s > 0
        done = len(warm) >= rule.warmup_calls and sum(warm) / 1e3 >= rule.warmup_s
        return not done and clock.now() - start < rule.warmup_fraction * budget_s and fits(deadline, min(warm))

    while warming():
        warm.append(clock.time_call(fn))
    samples.warmup_calls, samples.warmup_s = len(warm), sum(warm) / 1e3
    if after_warmup is not None:
        after_warmup()
    times = samples.times_ms
    if warm:
        latency_end = deadline - rule.throughput_fraction * max(deadline - clock.now(), 0.0)
        fastest = min(warm)
        while fits(latency_end, fastest):
            times.append(clock.time_call(fn))
            fastest = min(fastest, times[-1])
            if len(times) >= rule.max_calls:
                samples.stopped_by = "max_calls"
                break
            if len(times) >= rule.min_calls and len(times) % rule.check_every == 0 \
                    and relative_iqr(times) <= rule.spread_target:
                samples.stopped_by = "spread"
                break
    if times:
        per_call_ms = max(times)  # back-to-back calls are no slower than synchronised ones, so the block fits
        room = int((deadline - clock.now()) * 1e3 / per_call_ms) if per_call_ms > 0 else rule.max_calls
        count = min(room, max(rule.throughput_calls, len(times)), rule.max_calls)
        if count >= 2:  # one call alone would be a latency sample, not a block
            samples.throughput_ms, samples.throughput_calls = clock.time_calls(fn, count), count
    samples.elapsed_s = clock.now() - start
    return samples
