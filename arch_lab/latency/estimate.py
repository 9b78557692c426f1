"""How long a latency measurement can take, known before it starts (plain arithmetic: no torch import).

A measurement keeps to its budget only between calls: a call cannot be interrupted, so the last batch
size it starts can run past the budget by its cold call (up to two warm calls' time, plus lazy
initialisation) and one warm call; a batch starts only if one call fits its share; building the model
comes before the budget, and in compile modes one batch's compile can run past it (see
``BUDGET_SPLIT``). The worst case of one design is therefore ::

    budget + build + compile (compile modes) + COLD_S x batch sizes
           + CALLS_PAST_BUDGET x one call of its largest batch (at most the budget)

with one call estimated from the design's MACs and layers and the device's rate::

    call_s(batch) = batch x macs_per_image / rate + layers x PER_LAYER_S

``rate`` is half the slowest MAC rate this process has *measured* on the same device, dtype, layout, mode
and threads (the last :data:`RATES_KEPT` measurements of a spec: a design's rate varies about 2x with its
shape and with the machine's load), and an assumed :data:`DEFAULT_RATES` figure, well below what this
class of device does, before any was measured. A design whose single
call at its smallest batch would not fit the budget is refused before anything is built
(:func:`check_fits_budget`): it could not time a single call, and would only hold the machine.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from arch_lab.errors import LimitError
from arch_lab.latency.catalog import COMPILE_MODES
from arch_lab.plan import count, plan
from arch_lab.spec import ResNetSpec

PER_LAYER_S = 30e-6
"""Framework overhead of one counted layer in eager mode (launch, Python dispatch): what a tiny design's
call costs even with no arithmetic to speak of."""
BUILD_S = 0.3
BUILD_PARAMS_PER_S = 50e6
"""Building a model: a fixed part plus random initialisation of its parameters (both conservative)."""
COMPILE_S = 10.0
COMPILE_PER_LAYER_S = 0.05
"""One ``torch.compile`` of a design in the compile modes (cold: Inductor's first compile of a process)."""
CALLS_PAST_BUDGET = 3
"""Calls a measurement can run past its budget: the last batch's cold call (up to two) and one warm call."""
COLD_S = 0.5
"""Lazy initialisation in a batch's cold call beyond its arithmetic (oneDNN primitives, cuDNN autotuning)."""
DEFAULT_RATES = {("cpu", "fp32"): 10e9, ("cpu", "bf16"): 5e8, ("cpu", "fp16"): 5e8,
                 ("cuda", "fp32"): 2e12, ("cuda", "tf32"): 5e12, ("cuda", "bf16"): 5e12, ("cuda", "fp16"): 5e12}
"""MACs per second assumed until one is measured, per (device kind, dtype). Set well below what such a
device does for ResNets (a 2-core VM ran them at 20-35 GMAC/s in fp32, 1-3 GMAC/s in bf16 without
native bf16; an H100 at tens of TMAC/s), yet so that the app's default run (resnet18 and resnet50 at
batches 1 and 8) can reserve a 10 s budget each within a session's 40 s."""
RATES_KEPT = 8
SAFETY = 2.0
"""Measured rates are divided by this: the next design may run slower than the ones measured so far."""

RateKey = tuple[str, str, bool, str, int]
"""(device kind, dtype, channels_last, mode, threads)."""
_MEASURED: dict[RateKey, deque[float]] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Rate:
    """MACs per second one call of a design is estimated to run at, and where the figure comes from."""

    macs_per_s: float
    source: str


def rate_for(key: RateKey) -> Rate:
    """The slowest measured rate for ``key`` among the last :data:`RATES_KEPT`, else the assumed one."""
    with _LOCK:
        measured = list(_MEASURED.get(key, ()))
    if measured:
        return Rate(min(measured) / SAFETY, f"half the slowest of the last {len(measured)} rates measured here")
    kind, dtype = key[0], key[1]
    return Rate(DEFAULT_RATES.get((kind, dtype), DEFAULT_RATES[(kind, "fp32")]),
                f"assumed for a {kind} in {dtype} until a measurement here says better")


def record_rate(key: RateKey, batch_size: int, macs_per_image: int, layers: int, fastest_s: float) -> None:
    """Remember the MAC rate a measured call reached (its time beyond the per-layer overhead)."""
    compute_s = fastest_s - layers * PER_LAYER_S
    if macs_per_image <= 0 or compute_s <= 0:  # overhead-bound: says nothing about the MAC rate
        return
    with _LOCK:
        _MEASURED.setdefault(key, deque(maxlen=RATES_KEPT)).append(batch_size * macs_per_image / compute_s)


def call_seconds(batch_size: int, macs_per_image: int, layers: int, rate: Rate) -> float:
    """Estimated seconds of one call at ``batch_size``."""
    return batch_size * macs_per_image / rate.macs_per_s + layers * PER_LAYER_S


@dataclass(frozen=True)
class MeasurementCost:
    """The estimate for one design: one call per batch size, and the most the measurement can take."""

    call_s: dict[int, float]
    worst_s: float
    rate: Rate


def measurement_cost(macs_per_image: int, layers: int, params: int, batch_sizes: Sequence[int], budget_s: float,
                     compiled: bool, rate: Rate) -> MeasurementCost:
    """The cost of measuring a design at ``batch_sizes`` within ``budget_s`` (see the module docstring)."""
    calls = {batch: call_seconds(batch, macs_per_image, layers, rate) for batch in batch_sizes}
    past = CALLS_PAST_BUDGET * min(max(calls.values()), budget_s)  # a batch slower than its share is skipped
    build = BUILD_S + params / BUILD_PARAMS_PER_S
    compile_s = COMPILE_S + COMPILE_PER_LAYER_S * layers if compiled else 0.0
    return MeasurementCost(calls, budget_s + build + compile_s + COLD_S * len(calls) + past, rate)


def check_fits_budget(name: str, cost: MeasurementCost, budget_s: float) -> None:
    """Raise :class:`LimitError` when one call at the smallest batch would not fit ``budget_s``."""
    batch = min(cost.call_s)
    needed = cost.call_s[batch]
    if needed > budget_s:
        raise LimitError("budget_s", f"too long for this budget: one call of {name} needs ~{needed:.1f} s at batch "
                                     f"{batch} (estimated at {cost.rate.macs_per_s / 1e9:.3g} GMAC/s, "
                                     f"{cost.rate.source}), more than the {budget_s:g} s budget; raise the budget "
                                     f"to at least {math.ceil(needed)} s or time a smaller design or input size")


def design_cost(spec: ResNetSpec, batch_sizes: Sequence[int], budget_s: float, key: RateKey) -> MeasurementCost:
    """:func:`measurement_cost` of ``spec`` from its analytic count, with the rate known for ``key``."""
    counted = count(spec)
    return measurement_cost(counted.macs, len(plan(spec)), counted.params, batch_sizes, budget_s,
                            key[3] in COMPILE_MODES, rate_for(key))


def costs_within_budget(specs: Sequence[ResNetSpec], batch_sizes: Sequence[int], budget_s: float,
                        key: RateKey) -> list[MeasurementCost]:
    """Each design's cost, after refusing (:func:`check_fits_budget`) any whose one call cannot fit: what the
    app and the CLI check before they start or queue a measurement."""
    costs = [design_cost(spec, batch_sizes, budget_s, key) for spec in specs]
    for spec, cost in zip(specs, costs, strict=True):
        check_fits_budget(spec.name, cost, budget_s)
    return costs
