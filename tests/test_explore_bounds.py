"""An exploration's bounds: a time limit (on an injected clock: no sleeping, no timed assertion), a block
count checked on the draw before it is validated or counted, progress reported from inside the run, an
honest stop reason; and the counter that adds designs up from their stages, held equal to
``sweep_metrics`` over every built-in space and random ones."""

from __future__ import annotations

import copy
import random

import pytest
from hunting import examples
from hypothesis import HealthCheck, given, settings
from test_explore import small_spaces

import arch_lab.explore.engine as engine
from arch_lab.analysis.sweep import sweep_metrics
from arch_lab.errors import SpecError
from arch_lab.explore import BUILTIN_SPACES, explore, list_spaces, load_space, parse_space
from arch_lab.explore.counter import PartsCounter, network_of
from arch_lab.explore.space import Space
from arch_lab.limits import Limits

DEEP_16 = {"name": "deep16", "base": {"block": "bottleneck", "depths": [1] * 16, "strides": [1] * 16,
                                      "input_size": 64},
           "fields": {"depths": {"range": [50, 62], "per_stage": True},
                      "widths": {"range": [8, 4096], "per_stage": True}}}
"""Issue 17's first heavy space: 16 stages of 50-62 bottleneck blocks, every draw over the limits (57.8 s)."""
REGNET_1000 = copy.deepcopy(BUILTIN_SPACES["regnetx-4gf"])
REGNET_1000["regnet"]["depth"] = {"range": [990, 1000]}
"""The second: a RegNet of 990-1000 blocks (61.7 s)."""
WIDE = {"name": "wide", "base": "resnet18", "fields": {"widths": {"range": [65000, 65536]}}}
"""The third: widths of 65,000-65,536, every draw over the parameter limit (9.3 s)."""
TOO_DEEP = {"name": "too-deep", "base": "resnet50", "fields": {"depths": {"range": [251, 300], "per_stage": True}}}
"""More blocks in every draw than max_blocks allows."""


class TickingClock:
    """Advances ``step`` seconds each time it is read: the run's own reads are its only clock."""

    def __init__(self, step: float) -> None:
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.mark.parametrize("space", [DEEP_16, REGNET_1000, WIDE], ids=["16x50-62", "regnet-990-1000", "widths-65000"])
def test_a_heavy_space_stops_at_its_time_limit_and_says_so(space):
    # one read of the clock per try: a limit of 0.2 s at 1 ms a read allows 200 tries, not the 10,000 budget
    result = explore(space, 100, max_tries=10_000, time_limit_s=0.2, clock=TickingClock(0.001))
    assert (result.stop, result.accepted, result.complete) == ("time", 0, False)
    assert 190 <= result.tries <= 200
    assert result.rejected["constraint"] == 0 and sum(result.rejected.values()) == result.tries
    assert "stopped early: the time limit of 0.2 s was reached after" in result.summary()


def test_every_try_of_the_heavy_spaces_is_rejected_as_over_the_limits():
    for space in (DEEP_16, WIDE):
        result = explore(space, 10, max_tries=30)
        assert result.rejected["over_limits"] + result.rejected["duplicate"] == 30 == result.tries, result.summary()
        assert result.stop == "tries" and "the budget of 30 tries was spent" in result.summary()


def test_a_draw_over_max_blocks_is_refused_before_it_is_validated_or_counted(monkeypatch):
    def never(*args: object, **kwargs: object) -> None:
        pytest.fail("a draw over max_blocks reached validation or counting")

    monkeypatch.setattr(Space, "build", never)
    monkeypatch.setattr(engine.PartsCounter, "metrics", never)
    result = explore(TOO_DEEP, 5, max_tries=50)
    assert result.rejected["over_limits"] == 50 and result.stop == "tries"
    assert load_space("resnet50-neighbourhood").blocks({"depths": [251, 300, 251, 300]}) > Limits().max_blocks
    regnet = parse_space(REGNET_1000)
    assert regnet.blocks(regnet.draw(random.Random(0))) >= 990


def test_the_time_limit_is_checked_and_refused_like_every_argument():
    for bad in (0, -1, float("nan"), True, "5"):
        with pytest.raises(SpecError, match="^time_limit_s: "):
            explore("cifar-resnet-depth", 5, time_limit_s=bad)
    assert explore("cifar-resnet-depth", 5, time_limit_s=60).stop == "found"


def test_progress_comes_from_inside_the_run_and_ends_with_its_totals():
    seen: list[tuple[int, int]] = []
    draws = []
    space = load_space("resnet50-neighbourhood")
    original = space.draw
    object.__setattr__(space, "draw", lambda rng: draws.append(1) or original(rng))
    result = explore(space, 300, constraints=["3.6e9<=macs<=5e9"], clock=TickingClock(0.05),
                     on_progress=lambda accepted, tries: seen.append((accepted, tries)))
    assert len(draws) == result.tries  # one run: every draw is a reported try
    assert seen[-1] == (result.accepted, result.tries) and len(seen) > 2
    assert seen == sorted(seen)


@pytest.mark.parametrize("method", ["random", "grid"])
def test_the_stop_reason_says_why_a_run_ended(method):
    found = explore("cifar-resnet-depth", 10, method=method)
    assert (found.stop, found.complete) == ("found", True)
    grid = explore("cifar-resnet-depth", None if method == "grid" else 300, method=method, max_tries=10_000)
    assert grid.stop == ("grid" if method == "grid" else "tries") and grid.accepted == 200


@pytest.mark.parametrize("name", list_spaces())
def test_the_parts_counter_gives_sweep_metrics_numbers_for_every_built_in_space(name):
    space, rng, counter = load_space(name), random.Random(7), PartsCounter()
    for _ in range(400):
        try:
            spec = space.build(space.draw(rng), "d")
        except SpecError:
            continue
        assert _outcome(counter.metrics, spec) == _outcome(sweep_metrics, spec), spec
        assert network_of(spec) == spec.network()  # the duplicate key
    assert counter.stages_counted > 0


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(space=small_spaces(), seed=...)
def test_the_parts_counter_gives_sweep_metrics_numbers_for_random_spaces(space, seed: int):
    parsed, rng, counter = parse_space(space), random.Random(seed), PartsCounter(batch_size=3)
    for _ in range(30):
        try:
            spec = parsed.build(parsed.draw(rng), "d")
        except SpecError:
            continue
        assert _outcome(counter.metrics, spec) == _outcome(lambda s: sweep_metrics(s, batch_size=3), spec)


def test_a_stage_met_again_is_not_counted_again():
    counter = PartsCounter()
    space = load_space("resnet50-neighbourhood")
    spec = space.build(space.draw(random.Random(0)), "a")
    counter.metrics(spec)
    counted = counter.stages_counted
    assert counter.metrics(spec.replace(name="b")) == counter.metrics(spec)
    assert counter.stages_counted == counted  # known parts, added up
    deeper = spec.replace(depths=[*spec.depths[:-1], spec.depths[-1] + 1])
    assert counter.metrics(deeper) == sweep_metrics(deeper)
    assert counter.stages_counted == counted + 1  # only the changed last stage


def _outcome(count, spec):
    try:
        return count(spec)
    except SpecError as exc:
        return str(exc)
