"""A measurement's cost, known before it starts: one call from MACs, layers and a rate; the worst case a
reservation covers (checked on the virtual clock against the sweep itself); designs too slow for their
budget refused before anything is built; the app's first refusals made without importing torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from latency_fakes import Costly, FakeDevice, VirtualClock

import arch_lab.latency.estimate as estimate
import arch_lab.latency.measure as measure_module
from arch_lab import LimitError, load_preset
from arch_lab.latency import measure_latency
from arch_lab.latency.estimate import (
    CALLS_PAST_BUDGET,
    DEFAULT_RATES,
    Rate,
    call_seconds,
    costs_within_budget,
    design_cost,
    measurement_cost,
    rate_for,
    record_rate,
)
from arch_lab.plan import count, plan

ROOT = Path(__file__).resolve().parent.parent
KEY = ("cpu", "fp32", False, "eager", 1)


@pytest.fixture(autouse=True)
def no_measured_rates(monkeypatch):
    monkeypatch.setattr(estimate, "_MEASURED", {})


def test_one_call_is_its_arithmetic_at_the_rate_plus_the_per_layer_overhead():
    rate = Rate(10e9, "test")
    assert call_seconds(4, 2e9, 100, rate) == pytest.approx(4 * 2e9 / 10e9 + 100 * estimate.PER_LAYER_S)


def test_the_worst_case_adds_building_compiling_and_the_calls_past_the_budget():
    rate = Rate(1e9, "test")
    eager = measurement_cost(1e8, 10, 5e7, (1, 8), 3.0, False, rate)
    assert eager.call_s[8] == pytest.approx(0.8 + 10 * estimate.PER_LAYER_S)
    assert eager.worst_s == pytest.approx(3.0 + estimate.BUILD_S + 1.0 + 2 * estimate.COLD_S
                                          + CALLS_PAST_BUDGET * eager.call_s[8])
    compiled = measurement_cost(1e8, 10, 5e7, (1, 8), 3.0, True, rate)
    assert compiled.worst_s - eager.worst_s == pytest.approx(estimate.COMPILE_S + 10 * estimate.COMPILE_PER_LAYER_S)
    slow = measurement_cost(1e10, 10, 0, (1,), 3.0, False, rate)  # a call longer than the budget is capped by it
    assert slow.worst_s == pytest.approx(3.0 + estimate.BUILD_S + estimate.COLD_S + CALLS_PAST_BUDGET * 3.0)


def test_the_rate_is_half_the_slowest_measured_else_the_assumed_floor():
    assert rate_for(KEY).macs_per_s == DEFAULT_RATES[("cpu", "fp32")] and "assumed" in rate_for(KEY).source
    record_rate(KEY, 1, 2e9, 0, 0.1)  # 20 GMAC/s
    record_rate(KEY, 8, 2e9, 0, 1.6)  # 10 GMAC/s
    record_rate(KEY, 1, 1e6, 1000, 0.01)  # overhead-bound: says nothing about the rate
    assert rate_for(KEY).macs_per_s == pytest.approx(5e9)
    assert rate_for(("cpu", "bf16", False, "eager", 1)).macs_per_s == DEFAULT_RATES[("cpu", "bf16")]
    for _ in range(estimate.RATES_KEPT):
        record_rate(KEY, 1, 3e9, 0, 0.1)  # the slow ones age out
    assert rate_for(KEY).macs_per_s == pytest.approx(15e9)


def test_issue_17s_design_is_refused_before_it_is_built(monkeypatch):
    """resnet152's layout at 1408x1408 with a 1 s budget ran for 38 s (three calls); it needs ~13 s a call."""
    spec = load_preset("resnet152").replace(input_size=1408)
    cost = design_cost(spec, (1,), 1.0, KEY)
    assert cost.call_s[1] > 1.0
    with pytest.raises(LimitError, match=r"^budget_s: too long for this budget: one call of resnet152 needs ~\d+"):
        costs_within_budget([load_preset("resnet18"), spec], (1,), 1.0, KEY)
    assert [c.worst_s for c in costs_within_budget([load_preset("resnet18")], (1,), 3.0, KEY)] == [
        design_cost(load_preset("resnet18"), (1,), 3.0, KEY).worst_s]
    counted = count(spec)
    assert cost.call_s[1] == call_seconds(1, counted.macs, len(plan(spec)), rate_for(KEY))


def test_measure_latency_skips_a_batch_its_estimate_says_cannot_fit(monkeypatch):
    clock = VirtualClock()
    device = FakeDevice(clock, kind="cpu")
    monkeypatch.setattr(measure_module, "device_for", lambda kind: device)
    monkeypatch.setattr(measure_module, "_prepare_model", lambda *args: Costly(clock, 0.001))
    spec = load_preset("resnet50").replace(input_size=1024)  # ~86 GMACs: about 17 s at the assumed rate
    result = measure_latency(spec, batch_sizes=(1,), budget_s=2.0, device="cpu", threads=1)
    assert result.rows[0].error.startswith("skipped: one call would take about")
    assert clock.t == 0  # nothing was called


@pytest.mark.parametrize(("per_image_s", "batches", "budget_s"), [
    (0.01, (1, 8), 2.0), (0.4, (1, 2, 4), 2.0), (0.9, (1,), 1.0), (0.05, (1, 8, 64), 3.0), (0.3, (1, 8), 1.0),
    (0.0001, (1, 8, 64, 256), 0.5), (0.2, (1, 8, 64), 10.0)])
def test_the_reserved_worst_case_covers_the_sweep(monkeypatch, per_image_s, batches, budget_s):
    """On the virtual clock, a design that takes ``per_image_s`` an image (its cold call at each batch size
    twice that, as on a CPU), estimated at its true rate, is measured within the worst case reserved for it."""
    clock = VirtualClock()
    device = FakeDevice(clock, kind="cpu")
    device.model = model = Costly(clock, per_image_s, cold_factor=2.0)
    model.spec = spec = load_preset("resnet20")  # what the estimate reads; the fake is what runs
    macs, layers = count(spec).macs, len(plan(spec))
    true = Rate(macs / per_image_s, "the fake's")
    monkeypatch.setattr(estimate, "rate_for", lambda key: true)
    monkeypatch.setattr(measure_module, "device_for", lambda kind: device)
    measure_latency(model, batch_sizes=batches, budget_s=budget_s, device="cpu", threads=1)
    worst = measurement_cost(macs, layers, 0, batches, budget_s, False, true)
    assert clock.t <= worst.worst_s - estimate.BUILD_S, (clock.t, worst)


def test_the_first_latency_refusals_do_not_import_torch():
    """An invalid setting and an exhausted quota are refused before torch is loaded (it took 4.7 s)."""
    code = textwrap.dedent("""
        import sys
        from types import SimpleNamespace
        import gradio as gr
        from arch_lab.ui import latency_panel
        from arch_lab.ui.state import default_designs
        request = SimpleNamespace(session_hash="s")
        messages = []
        both = list(default_designs().names)
        for settings in ([[1], "fp64", False, "eager", 3], [[1], "fp32", False, "eager", 30]):  # 2 x 30 s > 40 s
            try:
                latency_panel.measure(default_designs(), both, *settings, request)
            except gr.Error as exc:
                messages.append((exc.title, exc.message))
        latency_panel.QUOTA.reserve("s", latency_panel.QUOTA.session_s)
        try:
            latency_panel.measure(default_designs(), ["resnet18"], [1], "fp32", False, "eager", 3, request)
        except gr.Error as exc:
            messages.append((exc.title, exc.message))
        print(messages)
        assert "torch" not in sys.modules, "torch was imported"
        assert [title for title, _ in messages] == ["Measurement refused", "Measurement quota reached",
                                                    "Measurement quota reached"], messages
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False", "PATH": "/usr/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
