"""``measure_latency``: time a design (or a module) on this machine, one measurement at a time per process.

Method (shared/notes/latency.md, sections 1 and 6): eval mode and ``torch.inference_mode``; weights cast
once to the dtype (no autocast per call); inputs created on the device before timing; cuDNN autotuning on;
a warm-up for every batch size (so every batch/dtype/layout combination); each call timed on its own and
repeated until the spread is small or the time share is spent (see :mod:`arch_lab.latency.sampling`).

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

from arch_lab.build import build_model
from arch_lab.errors import SpecError
from arch_lab.latency.devices import (
    backend_flags,
    device_name,
    environment,
    free_memory,
    is_out_of_memory,
    peak_memory_mb,
    peak_tflops,
    reset_peak_memory,
)
from arch_lab.latency.options import LatencyOptions, resolve_options
from arch_lab.latency.result import BatchLatency, LatencyResult
from arch_lab.latency.sampling import Clock, CudaClock, HostClock, SamplingRule, sample
from arch_lab.limits import Limits, check_batch_size, check_limits
from arch_lab.plan import plan
from arch_lab.spec import ResNetSpec

Progress = Callable[[float, str], None]

BUDGET_SPLIT = (
    "each batch size gets an equal share of the budget still unspent when it starts; warm-up (from the first "
    "call) and timed calls are charged to it, as is cuda_graph capture; a call starts only if the fastest call "
    "so far would end within the share, so a batch overruns it by at most one call; compile mode's compilation "
    "(torch.compile and its first call) cannot be interrupted, is reported as compile_s and is not charged; "
    "a batch whose single call, scaled from the largest batch measured before it, would not fit its share is "
    "skipped; building the model and counting its FLOPs come before the budget starts")
COMPILE_OPTIONS = {"backend": "inductor", "mode": "default", "dynamic": False,
                   "reset": "torch.compiler.reset() before each batch size"}

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
    """Measure per-call latency and throughput at each batch size.

    ``spec_or_model`` is a :class:`ResNetSpec` (built here, after the request limits are checked) or an
    ``nn.Module`` (a copy is measured; ``input_shape=(C, H, W)`` is needed unless it carries a ``.spec``).
    ``threads`` fixes the CPU thread count for the measurement (default: torch's current count).
    Bad options raise :class:`SpecError` and oversized requests :class:`LimitError`, before anything is
    allocated or queued. A batch that runs out of memory is reported as such and the sweep goes on.
    """
    options = resolve_options(device=device, batch_sizes=batch_sizes, dtype=dtype, channels_last=channels_last,
                              mode=mode, budget_s=budget_s, threads=threads)
    target = _target(spec_or_model, input_shape)
    _check_limits(target, limits, max(options.batch_sizes))
    if progress is not None and measurement_in_progress():
        progress(0.0, "waiting for another measurement to finish")
    asked = time.perf_counter()
    with _LOCK:
        queued_s = time.perf_counter() - asked
        with backend_flags(options.device_type, options.dtype, options.threads) as flags, torch.inference_mode():
            settings = {"queued_s": queued_s, "started_at": datetime.now(timezone.utc).isoformat(), **flags}
            result = _measure(target, options, sampling or SamplingRule(), limits, settings, progress)
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


def _check_limits(target: _Target, limits: Limits | None, batch_size: int) -> None:
    """Refuse before allocating: the spec's analytic plan at the largest batch, else the batch size alone."""
    if target.spec is not None:
        check_limits(target.spec, limits, batch_size=batch_size)
        return
    check_batch_size(batch_size, limits)


def _measure(target: _Target, options: LatencyOptions, rule: SamplingRule, limits: Limits | None,
             settings: dict[str, Any], progress: Progress | None) -> LatencyResult:
    device_type = options.device_type
    name = device_name(device_type)
    matched = peak_tflops(name, options.dtype) if device_type == "cuda" else None
    clock: Clock = CudaClock() if device_type == "cuda" else HostClock()
    settings.update(
        name=target.name, device=options.device, device_type=device_type, device_name=name, dtype=options.dtype,
        torch_dtype=str(options.torch_dtype), weights_cast="once, before timing (no autocast)",
        mode=options.mode, compile_options=COMPILE_OPTIONS if options.mode == "compile" else None,
        channels_last=options.channels_last, batch_sizes=list(options.batch_sizes),
        input_shape=list(target.input_shape), budget_s=options.budget_s, budget_split=BUDGET_SPLIT,
        eval_mode=True, inference_mode=True, timer=clock.description, sampling=rule.to_dict(),
        peak_gpu=matched[0] if matched else None, peak_tflops=matched[1] if matched else None,
        **environment(device_type))
    try:
        model = _prepare_model(target, options, limits)
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        free_memory(device_type)
        rows = [BatchLatency(b, error="out of memory while loading the model") for b in options.batch_sizes]
        settings.update(flops_per_image=None, flops_source=None)
        return LatencyResult(target.name, device_type, name, 0, settings, rows)
    flops, source = _flops_per_image(target, model, options)
    settings.update(flops_per_image=flops, flops_source=source)
    rows: list[BatchLatency] = []
    spent_s = 0.0
    count = len(options.batch_sizes)
    for index, batch_size in enumerate(options.batch_sizes):
        share_s = (options.budget_s - spent_s) / (count - index)
        if progress is not None:
            progress(index / count, f"batch {batch_size} ({index + 1}/{count}): warming up and timing")
        measured = [row for row in rows if row.min_ms is not None]
        refusal = _over_budget(batch_size, share_s, measured[-1] if measured else None)
        if refusal is not None:
            rows.append(BatchLatency(batch_size, budget_s=max(share_s, 0.0), error=refusal))
            continue
        started = clock.now()
        reset_peak_memory(device_type)
        try:
            row = _measure_batch(model, batch_size, target, options, clock, share_s, rule, flops,
                                 matched[1] if matched else None)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise
            row = BatchLatency(batch_size, budget_s=share_s, elapsed_s=clock.now() - started, error="out of memory")
        free_memory(device_type)
        rows.append(row)
        spent_s += row.elapsed_s or 0.0
    return LatencyResult(target.name, device_type, name, flops, settings, rows)


def _over_budget(batch_size: int, share_s: float, previous: BatchLatency | None) -> str | None:
    """Why a batch is not started: no budget left, or one call of it, predicted from the largest batch
    measured so far (its fastest call, scaled linearly with the batch size), would overrun its share.

    Linear scaling usually overestimates (larger batches tend to run more images per second), so a batch is
    skipped only when even this cautious guess says it cannot fit; the first batch is never predicted.
    """
    if share_s <= 0:
        return "time budget spent before this batch"
    if previous is not None and previous.min_ms is not None:
        expected_s = previous.min_ms / 1e3 * batch_size / previous.batch_size
        if expected_s > share_s:
            return (f"skipped: one call would take about {expected_s:.2f} s (batch {previous.batch_size}'s fastest "
                    f"call scaled to {batch_size} images), more than this batch's {share_s:.2f} s share of the "
                    "budget; raise budget_s")
    return None


def _prepare_model(target: _Target, options: LatencyOptions, limits: Limits | None) -> nn.Module:
    """The model in eval mode on the device, its weights cast once to the dtype and, if asked, NHWC."""
    if target.module is None:
        model: nn.Module = build_model(target.spec, device=options.device_type, limits=limits)  # type: ignore[arg-type]
    else:
        model = copy.deepcopy(target.module)
    model = model.eval().to(device=options.device_type, dtype=options.torch_dtype)
    return model.to(memory_format=torch.channels_last) if options.channels_last else model


def _make_input(batch_size: int, target: _Target, options: LatencyOptions) -> torch.Tensor:
    x = torch.randn((batch_size, *target.input_shape), device=options.device_type, dtype=options.torch_dtype)
    return x.contiguous(memory_format=torch.channels_last) if options.channels_last else x


def _flops_per_image(target: _Target, model: nn.Module, options: LatencyOptions) -> tuple[int, str]:
    """FLOPs (2 x MACs) of one image: the analytic plan for a spec, else ``FlopCounterMode`` on one image."""
    if target.spec is not None:
        return 2 * sum(layer.macs for layer in plan(target.spec)), "arch_lab.plan (2 x conv/linear MACs)"
    counter = FlopCounterMode(display=False)
    with counter:
        model(_make_input(1, target, options))
    return counter.get_total_flops(), "torch.utils.flop_counter.FlopCounterMode, one image"


def _measure_batch(model: nn.Module, batch_size: int, target: _Target, options: LatencyOptions, clock: Clock,
                   share_s: float, rule: SamplingRule, flops: int, peak: float | None) -> BatchLatency:
    started = clock.now()
    x = _make_input(batch_size, target, options)
    fn, compile_s = _callable(model, x, options)
    charged_s = clock.now() - started - (compile_s or 0.0)
    samples = sample(fn, clock, share_s - charged_s, rule)
    return BatchLatency.from_samples(
        batch_size, samples, flops_per_image=flops, peak=peak, compile_s=compile_s, budget_s=share_s,
        elapsed_s=charged_s + samples.elapsed_s, peak_memory_mb=peak_memory_mb(options.device_type))


def _callable(model: nn.Module, x: torch.Tensor, options: LatencyOptions) -> tuple[Callable[[], Any], float | None]:
    """The call to time in the chosen mode, and the compile time (compile mode only: resetting the
    compiler caches, ``torch.compile`` and the first, compiling, call)."""
    if options.mode == "compile":
        started = time.perf_counter()
        torch.compiler.reset()  # a fresh graph per batch size: no recompile limit, no stale guards
        compiled = torch.compile(model, **{k: v for k, v in COMPILE_OPTIONS.items() if k != "reset"})
        compiled(x)
        _synchronize(options.device_type)
        return (lambda: compiled(x)), time.perf_counter() - started
    if options.mode == "cuda_graph":
        return _capture(model, x), None
    return (lambda: model(x)), None


def _capture(model: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
    """Record one forward pass as a CUDA graph; a replay relaunches all its kernels in one call.

    Warm-up runs on a side stream first, as the CUDA-graph docs require (and lets cuDNN autotune).
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            model(x)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        static_output = model(x)

    def replay() -> torch.Tensor:
        graph.replay()
        return static_output

    return replay


def _synchronize(device_type: str) -> None:
    if device_type == "cuda":
        torch.cuda.synchronize()
