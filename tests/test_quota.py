"""The measurement quota's rules, on a fake clock (no sleeping): caps per session and in all within a
sliding window, a short queue of its own, and charges settled at the time really taken."""

from __future__ import annotations

import threading

import pytest

from arch_lab.errors import SpecError
from arch_lab.ui.quota import MeasurementQuota, QuotaError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def quota(clock: Clock, **caps: float) -> MeasurementQuota:
    return MeasurementQuota(**{"session_s": 40.0, "process_s": 45.0, "window_s": 60.0, **caps}, clock=clock)


def test_a_request_larger_than_any_cap_is_refused_naming_the_budget(clock):
    with pytest.raises(QuotaError, match=r"^budget_s: this measurement may take up to 41 s, more than the 40 s"):
        quota(clock).reserve("a", 41)
    assert issubclass(QuotaError, SpecError)


def test_per_session_cap_within_the_window_then_free_again(clock):
    q = quota(clock)
    q.reserve("a", 30)
    # an unsettled reservation counts as running its full 30 s: it leaves the window 60 s after that
    with pytest.raises(QuotaError, match="for this session; 30 s are taken .* try again in 90 s"):
        q.reserve("a", 15)
    q.reserve("b", 10)  # another session still fits under the process cap (45 s)
    clock.now += 90.001
    q.reserve("a", 15)
    assert q.used("a") == 15 and q.used() == 15  # b's charge has left the window too


def test_process_cap_holds_across_sessions(clock):
    q = quota(clock)
    for session in "abc":
        q.reserve(session, 15)
    with pytest.raises(QuotaError, match="for all users together; 45 s are taken"):
        q.reserve("d", 1)


def test_a_charge_is_settled_at_the_time_really_taken(clock):
    q = quota(clock)
    with q.slot("a", 30):
        clock.now += 4
    assert q.used("a") == 4
    q.reserve("a", 36)  # 4 + 36 = 40: exactly the cap is allowed


def test_a_charge_leaves_the_window_a_window_after_it_ended(clock):
    q = quota(clock, process_s=10, session_s=10)
    with q.slot("a", 10):
        clock.now += 10  # ran from 1000 to 1010
    clock.now += 59
    with pytest.raises(QuotaError, match="try again in 1 s"):
        q.reserve("b", 1)
    clock.now += 1.5
    q.reserve("b", 1)


def test_only_one_runs_and_at_most_max_waiting_wait(clock):
    q = quota(clock, session_s=100, process_s=100)
    running, release = threading.Event(), threading.Event()
    inside: list[str] = []

    def run(name: str) -> None:
        with q.slot(name, 1):
            inside.append(name)
            running.set()
            release.wait(5)

    first = threading.Thread(target=run, args=("first",))
    first.start()
    running.wait(5)
    waiting = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(q.max_waiting)]
    for thread in waiting:
        thread.start()
    while q._waiting < q.max_waiting:  # the waiters have reserved and queued (bounded: they only block on the slot)
        threading.Event().wait(0.001)
    with pytest.raises(QuotaError, match=f"{q.max_waiting} measurements are already waiting"):
        with q.slot("late", 1):
            pass
    assert inside == ["first"]  # nobody entered while the first ran
    release.set()
    for thread in [first, *waiting]:
        thread.join(5)
    assert sorted(inside) == sorted(["first", *(f"w{i}" for i in range(q.max_waiting))])


def test_check_applies_the_rules_without_reserving(clock):
    q = quota(clock)
    q.check("a", 40)
    assert q.used() == 0
    q.reserve("a", 30)
    with pytest.raises(QuotaError, match="for this session; 30 s are taken"):
        q.check("a", 11)
    with pytest.raises(QuotaError, match="^budget_s: this measurement may take up to 41 s"):
        q.check("b", 41)
    assert q.used() == 30
