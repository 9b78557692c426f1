"""A cap on latency measurement, the app's heaviest work: seconds per minute, per session and in all.

A measurement keeps the CPU (or GPU) busy for its whole budget and more (building the model, calls that
run past the budget: :mod:`arch_lab.latency.estimate`), and any script can start one through the queue.
So each request *reserves* its worst case, as that module estimates it, before it may wait or run; it is
refused at once — with a message saying how long to wait — if the session or the whole process would go
over its cap within the sliding window, or if more than ``max_waiting`` requests already wait. When it
finishes, the reservation is settled at the time it really took. :meth:`MeasurementQuota.check` applies
the same rules without reserving, so the app can refuse before it loads torch to estimate. The clock is
injectable, so the rules are tested without sleeping.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from arch_lab.errors import SpecError


class QuotaError(SpecError):
    """A measurement refused because it would exceed the measurement cap; the message says when to retry."""

    title = "Measurement quota reached"


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass
class _Charge:
    session: str
    start: float
    seconds: float


@dataclass
class MeasurementQuota:
    """Sliding-window caps on measurement seconds (see the module docstring).

    Defaults: 40 s per session and 45 s for everyone per 60 s window, at most 2 requests waiting behind the
    running one. Environment variables ``ARCH_LAB_LATENCY_SESSION_S``, ``ARCH_LAB_LATENCY_PROCESS_S`` and
    ``ARCH_LAB_LATENCY_WINDOW_S`` change them.
    """

    session_s: float = field(default_factory=lambda: _env_float("ARCH_LAB_LATENCY_SESSION_S", 40.0))
    process_s: float = field(default_factory=lambda: _env_float("ARCH_LAB_LATENCY_PROCESS_S", 45.0))
    window_s: float = field(default_factory=lambda: _env_float("ARCH_LAB_LATENCY_WINDOW_S", 60.0))
    max_waiting: int = 2
    clock: Callable[[], float] = time.monotonic
    _charges: list[_Charge] = field(default_factory=list)
    _waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _run: threading.Lock = field(default_factory=threading.Lock)

    def used(self, session: str | None = None) -> float:
        """Seconds charged in the current window, for one session or (``None``) for everyone."""
        with self._lock:
            return sum(c.seconds for c in self._live(session))

    def check(self, session: str, seconds: float) -> None:
        """Raise :class:`QuotaError` if a request of ``seconds`` would be refused now (nothing is reserved)."""
        with self._lock:
            self._check(session, seconds)

    def reserve(self, session: str, seconds: float) -> _Charge:
        """Charge ``seconds`` (the request's worst case) now, or raise :class:`QuotaError`."""
        with self._lock:
            self._check(session, seconds)
            charge = _Charge(session, self.clock(), seconds)
            self._charges.append(charge)
            return charge

    def _check(self, session: str, seconds: float) -> None:
        largest = min(self.session_s, self.process_s)
        if seconds > largest:
            raise QuotaError("budget_s", f"this measurement may take up to {seconds:.0f} s, more than the "
                                         f"{largest:.0f} s one request may use; time fewer designs or lower "
                                         "the time budget per design")
        for whose, charges, cap in (("this session", self._live(session), self.session_s),
                                    ("all users together", self._live(None), self.process_s)):
            used = sum(c.seconds for c in charges)
            if used + seconds > cap:
                raise QuotaError("latency", f"measurement is capped at {cap:.0f} s per {self.window_s:.0f} s "
                                            f"for {whose}; {used:.0f} s are taken and this request may need "
                                            f"{seconds:.0f} s — try again in "
                                            f"{self._free_in(charges, cap - seconds):.0f} s")

    @contextmanager
    def slot(self, session: str, seconds: float) -> Iterator[None]:
        """Reserve ``seconds``, wait for the single measurement slot (refused at once if too many wait), run
        the body, then settle the charge at the time it really took."""
        charge = self.reserve(session, seconds)
        with self._lock:
            if self._waiting >= self.max_waiting:
                self._charges.remove(charge)
                raise QuotaError("latency", f"{self._waiting} measurements are already waiting; try again when "
                                            "they are done")
            self._waiting += 1
        with self._run:
            with self._lock:
                self._waiting -= 1
                charge.start = self.clock()
            try:
                yield
            finally:
                with self._lock:
                    charge.seconds = self.clock() - charge.start

    def _live(self, session: str | None) -> list[_Charge]:
        """Charges that ended less than a window ago (or have not ended), dropping the others for good."""
        cutoff = self.clock() - self.window_s
        self._charges = [c for c in self._charges if c.start + c.seconds > cutoff]
        return [c for c in self._charges if session is None or c.session == session]

    def _free_in(self, charges: list[_Charge], room: float) -> float:
        """Seconds until ``charges`` still in the window sum to at most ``room`` (each leaves the window
        ``window_s`` after it ends)."""
        total, wait = sum(c.seconds for c in charges), 0.0
        for charge in sorted(charges, key=lambda c: c.start + c.seconds):
            if total <= room:
                break
            total -= charge.seconds
            wait = charge.start + charge.seconds + self.window_s - self.clock()
        return max(1.0, math.ceil(wait))
