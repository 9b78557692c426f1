"""``measure_latency``: time a design (or a module) on this machine, one measurement at a time per process.

Method (shared/notes/latency.md, sections 1 and 6): eval mode and ``torch.inference_mode``; weights cast
once to the dtype (no autocast per call); inputs created on the device before timing; cuDNN autotuning on;
per batch size (so per batch/dtype/layout combination) a set-up (compile or capture, then a cold call), a
warm-up, synchronised single calls until the spread is small (latency) and a back-to-back block
(throughput), see :mod:`arch_lab.latency.sampling`. A batch that fails for any reason becomes an error row,
the device is cleaned up and the sweep goes on.

Measurements hold a process-wide lock from building the model to the last call: two users of the app
timing at once would each slow the other down and both numbers would be wrong.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from arch_lab.errors import SpecError
from arch_lab.latency.devices import CpuDevice, backend_flags, device_for, is_out_of_memory
from arch_lab.latency.estimate import MeasurementCost, design_cost, record_rate
from arch_lab.latency.options import COMPILE_MODES, LatencyOptions, resolve_options
from arch_lab.latency.result import BatchLatency, LatencyResult
from arch_lab.latency.sampling import Clock, SamplingRule, sample
from arch_lab.limits import (
    Limits,
    check_batch_size,
    check_input_shape,
    check_limits,
    check_memory,
    live_activation_elements,
)
from arch_lab.models import build_model
from arch_lab.plan import plan
from arch_lab.spec import ResNetSpec

Progress = Callable[[float, str], None]

BUDGET_SPLIT = (
    "the budget covers the whole sweep, set-up included. A batch's set-up (making its input, compiling or "
    "capturing, then one cold call that carries autotuning and lazy initialisation) is charged to the sweep; "
    "what is left is shared equally among the batches still to run, and the batch's warm-up, synchronised "
    "single calls and back-to-back block are charged to its share. Budget decisions use warm calls only: a "
    "call starts only if the fastest warm call so far would end within the share, so a share is overrun by at "
    "most one call. Set-up and clean-up after a batch cannot be interrupted: a batch starts only while budget "
    "is left, so the sweep overruns the budget by at most one batch's set-up and clean-up plus one call. A "
    "batch whose single call, scaled from the largest batch measured before it (before any, estimated from the "
    "design's MACs: arch_lab.latency.estimate), would not fit its share is skipped; building the model, counting "
    "its FLOPs and checking memory come before the budget starts")

_LOCK = threading.Lock()


def measurement_in_progress() -> bool:
    """Whether some thread of this process is measuring now (a new measurement would wait for it)."""
    return _LOCK.locked()


@dataclass(frozen=True)
class _Target:
    """What to time: a spec to build, or a copy of a given module, and one image's (C, H, W)."""

    name: str
    spec: ResNetSpec | None
    module: nn.Module | None
    input_shape: tuple[int, int, int]


def measure_latency(spec_or_model: ResNetSpec | nn.Module, *, device: str = "auto",
                    batch_sizes: Sequence[int] = (1,), dtype: str = "fp32", channels_last: bool = False,
                    mode: str = "eager", budget_s: float = 10.0, progress: Progress | None = None,
                    limits: Limits | None = None, threads: int | None = None,
                    input_shape: Sequence[int] | None = None, sampling: SamplingRule | None = None) -> LatencyResult:
    """Measure per-call latency and back-to-back throughput at each batch size.

    ``spec_or_model`` is a :class:`ResNetSpec` (built here, after the request limits are checked) or an
    ``nn.Module`` (a copy is measured; ``input_shape=(C, H, W)`` is needed unless it carries a ``.spec``).
    ``threads`` fixes the CPU thread count for the measurement (default: torch's current count).
    Bad options raise :class:`SpecError` and oversized requests :class:`LimitError`, before anything is
    allocated: the static limits before queueing, the memory check (which needs the device's free memory
    once the previous measurement has released it) after. A batch that fails (out of memory, a failed
    CUDA-graph capture, any error) is an error row and the sweep goes on.
    """
    options = resolve_options(device=device, batch_sizes=batch_sizes, dtype=dtype, channels_last=channels_last,
                              mode=mode, budget_s=budget_s, threads=threads)
    target = _target(spec_or_model, input_shape)
    limits = limits or Limits()
    _check_limits(target, limits, max(options.batch_sizes))
    estimate = None if target.spec is None else design_cost(target.spec, options.batch_sizes, options.budget_s,
                                                            options.rate_key)
    if progress is not None and measurement_in_progress():
        progress(0.0, "waiting for another measurement to finish")
    asked = time.perf_counter()
    with _LOCK:
        queued_s = time.perf_counter() - asked
        where = device_for(options.device_type)
        memory = _check_memory(target, options, where)
        with backend_flags(where.kind, options.dtype, options.threads) as flags, torch.inference_mode():
            settings = {"queued_s": queued_s, "started_at": datetime.now(timezone.utc).isoformat(), **flags,
                        **memory}
            try:
                result = _measure(target, options, where, sampling or SamplingRule(), limits, settings, progress,
                                  estimate)
            finally:
                where.recover(failed=True)
    if target.spec is not None:
        _record_rates(target.spec, options, result)
    if progress is not None:
        progress(1.0, "done")
    return result


def _target(spec_or_model: Any, input_shape: Sequence[int] | None) -> _Target:
    shape = None if input_shape is None else _shape(input_shape)
    if isinstance(spec_or_model, ResNetSpec):
        spec_shape = (spec_or_model.in_channels, *spec_or_model.input_size)
        if shape is not None and shape != spec_shape:
            raise SpecError("input_shape", f"{list(shape)} differs from the spec's {list(spec_shape)}; "
                                           "change the spec's in_channels/input_size instead")
        return _Target(spec_or_model.name, spec_or_model, None, spec_shape)  # type: ignore[arg-type]
    if not isinstance(spec_or_model, nn.Module):
        raise SpecError("spec_or_model",
                        f"expected a ResNetSpec or a torch.nn.Module, got {type(spec_or_model).__name__}")
    spec = getattr(spec_or_model, "spec", None)
    if isinstance(spec, ResNetSpec) and shape in (None, (spec.in_channels, *spec.input_size)):
        return _Target(spec.name, spec, spec_or_model, (spec.in_channels, *spec.input_size))  # type: ignore[arg-type]
    if shape is None:
        raise SpecError("input_shape", "a module without a spec needs input_shape=(channels, height, width)")
    return _Target(type(spec_or_model).__name__, None, spec_or_model, shape)


def _shape(value: Sequence[int]) -> tuple[int, int, int]:
    if isinstance(value, (list, tuple)) and len(value) == 3 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return tuple(value)  # type: ignore[return-value]
    raise SpecError("input_shape", f"{value!r} is not (channels, height, width) with integers >= 1")


def _check_limits(target: _Target, limits: Limits, batch_size: int) -> None:
    """Refuse before queueing: the input image's size, then the spec's analytic plan at the largest batch
    (parameters, MACs, blocks; memory comes later), else the batch size alone."""
    check_input_shape(target.input_shape, limits)
    if target.spec is not None:
        check_limits(target.spec, limits, batch_size=batch_size, running=True)
    else:
        check_batch_size(batch_size, limits)


def _check_memory(target: _Target, options: LatencyOptions, device: CpuDevice) -> dict[str, Any]:
    """Refuse the largest batch if it cannot fit in the device's memory, before building anything.

    A spec: its weights plus the plan's peak of live activations (a module's activations are unknown, so
    only its input batch is counted). Returns what was checked, for the result's settings.
    """
    bytes_per_element = torch.empty((), dtype=options.torch_dtype).element_size()
    image = target.input_shape[0] * target.input_shape[1] * target.input_shape[2]
    if target.spec is not None:
        weights = sum(layer.params for layer in plan(target.spec)) * bytes_per_element
        per_image = live_activation_elements(target.spec) * bytes_per_element
        counted = "weights + peak of live activations (arch_lab.analysis.memory)"
    else:
        weights, per_image, counted = 0, image * bytes_per_element, "the input batch only (a module without a spec)"
    available = device.available_bytes()
    check_memory(max(options.batch_sizes), weights, per_image, available, f"{device.kind} ({device.memory_source()})")
    return {"memory_checked": counted, "memory_available_mb": None if available is None else available / 1e6,
            "memory_needed_mb": (weights + max(options.batch_sizes) * per_image) / 1e6}


def _measure(target: _Target, options: LatencyOptions, device: CpuDevice, rule: SamplingRule, limits: Limits,
             settings: dict[str, Any], progress: Progress | None, estimate: MeasurementCost | None) -> LatencyResult:
    matched = device.peak(options.dtype)
    clock = device.clock()
    settings.update(
        name=target.name, device=options.device, device_type=device.kind, device_name=device.name,
        dtype=options.dtype, torch_dtype=str(options.torch_dtype), weights_cast="once, before timing (no autocast)",
        mode=options.mode, compile_options=_compile_options(options.mode), channels_last=options.channels_last,
        batch_sizes=list(options.batch_sizes), input_shape=list(target.input_shape), budget_s=options.budget_s,
        budget_split=BUDGET_SPLIT, eval_mode=True, inference_mode=True, timer=clock.description,
        sampling=rule.to_dict(), peak_gpu=matched[0] if matched else None,
        peak_tflops=matched[1] if matched else None, **device.environment())
    try:
        model = _prepare_model(target, options, device, limits)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        device.recover(failed=True)
        rows = [BatchLatency(b, error="out of memory while loading the model") for b in options.batch_sizes]
        settings.update(flops_per_image=None, flops_source=None)
        return LatencyResult(target.name, device.kind, device.name, 0, settings, rows)
    flops, source = _flops_per_image(target, model, options, device)
    settings.update(flops_per_image=flops, flops_source=source)
    rows: list[BatchLatency] = []
    spent_s = 0.0
    count = len(options.batch_sizes)
    for index, batch_size in enumerate(options.batch_sizes):
        remaining_s = options.budget_s - spent_s
        if progress is not None:
            progress(index / count, f"batch {batch_size} ({index + 1}/{count}): setting up, warming up and timing")
        measured = [row for row in rows if row.min_ms is not None]
        refusal = _over_budget(batch_size, remaining_s / (count - index), measured[-1] if measured else None,
                               estimate)
        if refusal is not None:
            rows.append(BatchLatency(batch_size, budget_s=max(remaining_s / (count - index), 0.0), error=refusal))
            continue
        started = clock.now()
        try:
            row = _measure_batch(model, batch_size, target, options, device, clock, remaining_s, count - index,
                                 rule, flops, matched[1] if matched else None)
        except Exception as exc:  # any failure of one batch: report it, clean up, go on with the next
            row = BatchLatency(batch_size, elapsed_s=clock.now() - started, error=_describe(exc))
        device.recover(failed=row.error is not None)
        rows.append(row)
        spent_s += clock.now() - started
    return LatencyResult(target.name, device.kind, device.name, flops, settings, rows)


def _record_rates(spec: ResNetSpec, options: LatencyOptions, result: LatencyResult) -> None:
    """Each batch's fastest call, as the MAC rate the next estimates for these options start from."""
    layers = plan(spec)
    macs = sum(layer.macs for layer in layers)
    for row in result.rows:
        if row.min_ms is not None:
            record_rate(options.rate_key, row.batch_size, macs, len(layers), row.min_ms / 1e3)


def _describe(exc: BaseException) -> str:
    """A failed batch's error: "out of memory" for any OOM, else the exception's type and first line."""
    if is_out_of_memory(exc):
        return "out of memory"
    first_line = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first_line[:300]}"


def _over_budget(batch_size: int, share_s: float, previous: BatchLatency | None,
                 estimate: MeasurementCost | None) -> str | None:
    """Why a batch is not started: no budget left, or one call of it would overrun its share: predicted
    from the largest batch measured so far (its fastest call, scaled linearly with the batch size), else
    from the design's estimate (:mod:`arch_lab.latency.estimate`).

    Linear scaling usually overestimates (larger batches tend to run more images per second), so a batch is
    skipped only when even this cautious guess says it cannot fit.
    """
    if share_s <= 0:
        return "time budget spent before this batch"
    if previous is not None and previous.min_ms is not None:
        expected_s = previous.min_ms / 1e3 * batch_size / previous.batch_size
        if expected_s > share_s:
            return (f"skipped: one call would take about {expected_s:.2f} s (batch {previous.batch_size}'s fastest "
                    f"call scaled to {batch_size} images), more than this batch's {share_s:.2f} s share of the "
                    "budget; raise budget_s")
    elif estimate is not None and estimate.call_s[batch_size] > share_s:
        return (f"skipped: one call would take about {estimate.call_s[batch_size]:.2f} s (estimated at "
                f"{estimate.rate.macs_per_s / 1e9:.3g} GMAC/s, {estimate.rate.source}), more than this batch's "
                f"{share_s:.2f} s share of the budget; raise budget_s")
    return None


def _prepare_model(target: _Target, options: LatencyOptions, device: CpuDevice, limits: Limits) -> nn.Module:
    """The model in eval mode on the device, its weights cast once to the dtype and, if asked, NHWC."""
    if target.module is None:
        model: nn.Module = build_model(target.spec, device=device.torch_device, limits=limits)  # type: ignore[arg-type]
    else:
        model = copy.deepcopy(target.module)
    model = model.eval().to(device=device.torch_device, dtype=options.torch_dtype)
    return model.to(memory_format=torch.channels_last) if options.channels_last else model


def _make_input(batch_size: int, target: _Target, options: LatencyOptions, device: CpuDevice) -> torch.Tensor:
    x = torch.randn((batch_size, *target.input_shape), device=device.torch_device, dtype=options.torch_dtype)
    return x.contiguous(memory_format=torch.channels_last) if options.channels_last else x


def _flops_per_image(target: _Target, model: nn.Module, options: LatencyOptions,
                     device: CpuDevice) -> tuple[int, str]:
    """FLOPs (2 x MACs) of one image: the analytic plan for a spec, else ``FlopCounterMode`` on one image."""
    if target.spec is not None:
        return 2 * sum(layer.macs for layer in plan(target.spec)), "arch_lab.plan (2 x conv/linear MACs)"
    counter = FlopCounterMode(display=False)
    with counter:
        model(_make_input(1, target, options, device))
    return counter.get_total_flops(), "torch.utils.flop_counter.FlopCounterMode, one image"


def _measure_batch(model: nn.Module, batch_size: int, target: _Target, options: LatencyOptions, device: CpuDevice,
                   clock: Clock, remaining_s: float, batches_left: int, rule: SamplingRule, flops: int,
                   peak: float | None) -> BatchLatency:
    """Set up (input, compile or capture), then share what is left of the budget and sample."""
    started = clock.now()
    x = _make_input(batch_size, target, options, device)
    fn, compile_s, compile_cache = _callable(model, x, options, device)
    before_sampling_s = clock.now() - started
    share_s = max(remaining_s - before_sampling_s, 0.0) / batches_left
    samples = sample(fn, clock, share_s, rule, after_warmup=device.reset_peak_memory)
    allocated_mb, reserved_mb = device.peak_memory_mb()
    return BatchLatency.from_samples(
        batch_size, samples, flops_per_image=flops, peak=peak, min_calls=rule.min_calls, compile_s=compile_s,
        compile_cache=compile_cache, setup_s=before_sampling_s + samples.cold_ms / 1e3, budget_s=share_s,
        peak_memory_mb=allocated_mb, peak_reserved_mb=reserved_mb, **device.telemetry())


def _compile_options(mode: str) -> dict[str, Any] | None:
    if mode not in COMPILE_MODES:
        return None
    return {"backend": "inductor", "mode": COMPILE_MODES[mode], "dynamic": False,
            "reset": "torch.compiler.reset() before each batch size"}


def _callable(model: nn.Module, x: torch.Tensor, options: LatencyOptions,
              device: CpuDevice) -> tuple[Callable[[], Any], float | None, str | None]:
    """The call to time in the chosen mode; in compile modes also the compile time (resetting the compiler,
    ``torch.compile`` and the first, compiling, call) and whether Inductor's on-disk cache served it."""
    if options.mode in COMPILE_MODES:
        from torch._dynamo.utils import counters  # compile modes only: importing dynamo takes about a second

        started = time.perf_counter()
        torch.compiler.reset()  # a fresh graph per batch size: no recompile limit, no stale guards
        def cache_counts() -> tuple[int, int]:
            """Hits and misses of Inductor's FX-graph cache and of the AOTAutograd cache in front of it
            (a hit there skips Inductor, whose counters then do not move)."""
            inductor, aot = counters["inductor"], counters["aot_autograd"]
            return (inductor["fxgraph_cache_hit"] + aot["autograd_cache_hit"],
                    inductor["fxgraph_cache_miss"] + aot["autograd_cache_miss"])

        hits, misses = cache_counts()
        config = _compile_options(options.mode) or {}
        compiled = torch.compile(model, **{k: v for k, v in config.items() if k != "reset"})
        compiled(x)
        device.synchronize()
        hits, misses = (now - before for now, before in zip(cache_counts(), (hits, misses), strict=True))
        cache = "cold (compiled)" if misses else "warm (cache hit)" if hits else "unknown"
        return (lambda: compiled(x)), time.perf_counter() - started, cache
    if options.mode == "cuda_graph":
        return device.capture(model, x), None, None
    return (lambda: model(x)), None, None
