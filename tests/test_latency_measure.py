"""``measure_latency``: every CPU option, failures, limits, the lock; budgets and GPU logic with a fake device.

Budgets, set-up charging, capture failure and peak memory are checked with a virtual clock and a fake
device (``latency_fakes``), so the counts are exact and nothing is timed. Two tests sleep on purpose: one
checks the real host clock against a module's own timings, one checks that measurements serialise across
threads. Real models run on one thread: on a 2-core machine shared with other processes, a 2-thread pool can
be 100x slower. Tests that need a GPU are marked ``cuda`` and skip without one.
"""

from __future__ import annotations

import json
import statistics
import threading
import time

import pytest
import torch
from latency_fakes import Costly, FakeDevice, VirtualClock
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import arch_lab.latency.measure as measure_module
from arch_lab import LimitError, Limits, ResNetSpec, SpecError, build_model, load_preset, measure_latency
from arch_lab.analysis.memory import inference_activation_elements
from arch_lab.latency import measurement_in_progress
from arch_lab.latency.devices import CpuDevice, cpu_available_bytes
from arch_lab.plan import count, plan

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (none here)")
TINY = ResNetSpec(name="tiny", depths=(1, 1), widths=(8, 16), strides=(1, 2), stem="cifar", stem_width=8,
                  num_classes=10, input_size=16)


class SharedLog(list):
    """A list that survives ``copy.deepcopy`` as itself (measure_latency times a copy of a given module)."""

    def __deepcopy__(self, memo: dict) -> SharedLog:
        return self


class Sleeper(nn.Module):
    """Sleeps a known time per call and records, independently of the code under test, when each call ran."""

    def __init__(self, seconds: float, label: str = "", log: SharedLog | None = None) -> None:
        super().__init__()
        self.seconds, self.label = seconds, label
        self.log = SharedLog() if log is None else log
        self.in_progress = SharedLog()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        start = time.perf_counter()
        time.sleep(self.seconds)
        self.log.append((self.label, start, time.perf_counter()))
        self.in_progress.append(measurement_in_progress())
        return x


class Probe(nn.Module):
    """A conv that records the dtype/layout of what it sees and the thread count in force."""

    seen: list = []

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        Probe.seen.append((x.dtype, self.conv.weight.dtype, x.is_contiguous(memory_format=torch.channels_last),
                           x.shape[0], torch.get_num_threads(), torch.is_inference_mode_enabled(), self.training))
        return self.conv(x)


class FailsAtBatch(nn.Module):
    """Raises ``error`` for one batch size, as a GPU does when a batch does not fit."""

    def __init__(self, batch_size: int, error: Exception) -> None:
        super().__init__()
        self.batch_size, self.error = batch_size, error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] == self.batch_size:
            raise self.error
        return x * 2


def test_a_module_that_sleeps_a_known_time_is_measured_correctly():
    # The real host clock, checked against the module's own timings (this test sleeps on purpose).
    model = Sleeper(0.02)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(4,), budget_s=1.0, device="cpu")
    row = result.row(4)
    assert row.error is None and row.count >= 5 and row.throughput_calls >= 2
    block = model.log[-row.throughput_calls:]
    single = model.log[-row.throughput_calls - row.count:-row.throughput_calls]
    own = [(end - start) * 1e3 for _, start, end in single]    # the module's own timings of the single calls
    assert row.median_ms >= 20.0                                 # sleep never returns early
    assert row.median_ms == pytest.approx(statistics.median(own), abs=1.0)
    assert row.p10_ms <= row.median_ms <= row.p90_ms and row.min_ms <= row.p10_ms
    assert row.mean_ms == pytest.approx(statistics.mean(own), abs=1.0)
    block_s = block[-1][2] - block[0][1]                          # first start to last end of the block
    assert row.throughput_img_s == pytest.approx(4 * row.throughput_calls / block_s, rel=0.05)
    assert row.tflops == 0.0 and result.flops_per_image == 0 and row.peak_fraction is None
    assert row.peak_memory_mb is None and row.peak_reserved_mb is None  # no per-measurement peak on a CPU


@pytest.mark.parametrize("dtype", ["fp32", "bf16", "fp16"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_every_cpu_dtype_and_layout_runs_as_asked(dtype, channels_last):
    Probe.seen = []
    probe = Probe()
    result = measure_latency(probe, input_shape=(3, 8, 8), batch_sizes=(1, 2), dtype=dtype,
                             channels_last=channels_last, budget_s=0.3, threads=1, device="cpu")
    expected = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
    assert [row.error for row in result.rows] == [None, None] and all(row.count >= 1 for row in result.rows)
    assert probe.conv.weight.dtype == torch.float32               # a copy was cast, not the caller's module
    timed = Probe.seen
    assert {(x, w, threads, inference, training) for x, w, _, _, threads, inference, training in timed} == {
        (expected, expected, 1, True, False)}
    assert {cl for _, _, cl, *_ in timed} == {channels_last}
    assert {b for _, _, _, b, *_ in timed} == {1, 2}
    s = result.settings
    assert (s["dtype"], s["channels_last"], s["threads"], s["mode"], s["device_type"]) == (
        dtype, channels_last, 1, "eager", "cpu")
    # FLOPs from torch's counter, by hand: 2 x (4 out x 3 in x 3 x 3) x (6 x 6) outputs per image
    assert result.flops_per_image == 2 * 4 * 3 * 9 * 36


def test_a_spec_is_built_and_its_flops_come_from_the_plan():
    spec = load_preset("resnet20")
    result = measure_latency(spec, batch_sizes=(1, 2), budget_s=0.5, threads=1, device="cpu")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        build_model(spec)(torch.randn(1, 3, 32, 32))
    assert result.flops_per_image == counter.get_total_flops()
    assert result.name == "resnet20" and result.settings["input_shape"] == [3, 32, 32]
    for row in result.rows:
        assert row.error is None and row.throughput_img_s is not None
        assert row.tflops == pytest.approx(result.flops_per_image * row.throughput_img_s / 1e12)


def test_the_json_carries_every_setting():
    result = measure_latency(TINY, batch_sizes=(2, 1), dtype="bf16", channels_last=True, budget_s=0.4,
                             threads=1, device="cpu")
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    s = data["settings"]
    assert (s["device"], s["device_type"], s["dtype"], s["torch_dtype"], s["mode"], s["channels_last"],
            s["batch_sizes"], s["budget_s"], s["threads"]) == (
        "cpu", "cpu", "bf16", "torch.bfloat16", "eager", True, [1, 2], 0.4, 1)
    for key in ("torch_version", "cuda_version", "cudnn_version", "python_version", "device_name", "cpu_model",
                "timer", "sampling", "budget_split", "flops_per_image", "flops_source", "input_shape",
                "inference_mode", "eval_mode", "weights_cast", "queued_s", "started_at", "cudnn_benchmark",
                "peak_tflops", "compile_options", "float32_matmul_precision", "memory_checked",
                "memory_available_mb", "memory_needed_mb"):
        assert key in s, key
    assert s["torch_version"] == torch.__version__ and s["sampling"]["min_calls"] >= 1
    assert [row["batch_size"] for row in data["rows"]] == [1, 2]
    assert data["rows"][0]["budget_s"] <= 0.2                     # first share: at most half the budget


def test_compile_mode_reports_compile_time_and_cache_state():
    # a generous budget: with a cold Inductor cache on a busy 2-core machine, compiling alone can take 10 s+,
    # and set-up is charged to the budget (the tiny model's warm calls then take about a second)
    result = measure_latency(TINY, batch_sizes=(2,), mode="compile", budget_s=60.0, threads=1, device="cpu")
    row = result.row(2)
    assert row.error is None and row.count >= 1
    assert row.compile_s is not None and row.compile_s > 0.1     # compiling takes seconds
    assert row.setup_s >= row.compile_s                         # compile time is set-up, charged to the sweep
    assert row.compile_cache in ("cold (compiled)", "warm (cache hit)")
    assert result.settings["compile_options"] == {"backend": "inductor", "mode": "default", "dynamic": False,
                                                  "reset": "torch.compiler.reset() before each batch size"}


def test_an_out_of_memory_batch_is_reported_and_the_sweep_goes_on(monkeypatch):
    freed: list[int] = []
    monkeypatch.setattr(CpuDevice, "recover", lambda self, failed: freed.append(failed))
    model = FailsAtBatch(3, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    result = measure_latency(model, input_shape=(1, 4, 4), batch_sizes=(2, 3, 8), budget_s=0.3, device="cpu")
    assert [row.error for row in result.rows] == [None, "out of memory", None]
    assert result.row(3).median_ms is None and result.row(8).count >= 1
    assert freed == [False, True, False, True]        # after every batch (fully after a failure), and at the end


def test_a_real_cpu_allocation_failure_is_an_out_of_memory_row():
    class HugeAtBatch8(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[0] == 8:
                torch.empty(1 << 62, dtype=torch.uint8)   # refused by the allocator without allocating
            return x

    result = measure_latency(HugeAtBatch8(), input_shape=(1, 2, 2), batch_sizes=(1, 8), budget_s=0.2, device="cpu")
    assert [row.error for row in result.rows] == [None, "out of memory"]


def test_any_failed_batch_is_an_error_row_and_everything_is_released():
    # Finding 4: only OOM used to be caught; any other failure (a failed CUDA-graph capture, a cuDNN error)
    # aborted the sweep and discarded the rows already measured.
    threads = torch.get_num_threads()
    model = FailsAtBatch(2, RuntimeError("CUDA error: operation failed due to a previous error during capture\nmore"))
    result = measure_latency(model, input_shape=(1, 2, 2), batch_sizes=(1, 2, 4), budget_s=3.0, threads=1,
                             device="cpu")
    assert [row.error for row in result.rows] == [
        None, "RuntimeError: CUDA error: operation failed due to a previous error during capture", None]
    assert result.row(1).count >= 1 and result.row(4).count >= 1
    assert not measurement_in_progress() and torch.get_num_threads() == threads
    assert not torch.is_inference_mode_enabled()


def test_requests_over_the_limits_are_refused_before_building(monkeypatch):
    monkeypatch.setattr(measure_module, "build_model", lambda *a, **k: pytest.fail("built a refused design"))
    with pytest.raises(LimitError, match="max_batch_size"):
        measure_latency(TINY, batch_sizes=(1, 16), limits=Limits(max_batch_size=8), device="cpu")
    with pytest.raises(LimitError, match="max_macs"):
        measure_latency(load_preset("resnet50"), batch_sizes=(64,), limits=Limits(max_macs=10**11), device="cpu")
    with pytest.raises(LimitError, match="max_batch_size"):
        measure_latency(Sleeper(0), input_shape=(1, 1, 1), batch_sizes=(9,), limits=Limits(max_batch_size=8))


def _refuse_to_allocate(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("allocated for a request that should have been refused")

    monkeypatch.setattr(measure_module, "_prepare_model", fail)


def test_a_huge_module_input_is_refused_before_anything_is_allocated(monkeypatch):
    # From issue 8: a module without a spec has no plan, so its input image is bounded; the old code
    # allocated 120 GB for the FLOP count.
    _refuse_to_allocate(monkeypatch)
    monkeypatch.setattr(measure_module, "device_for", lambda kind: pytest.fail("looked at the device"), raising=False)
    with pytest.raises(LimitError) as info:
        measure_latency(nn.Identity(), input_shape=(3, 100000, 100000), device="cpu")
    assert info.value.field == "max_input_elements"
    assert "3 x 100,000 x 100,000 = 30,000,000,000 elements" in str(info.value)
    assert "allowed range of 1 to 50,331,648" in str(info.value) and "ARCH_LAB_MAX_INPUT_ELEMENTS" in str(info.value)


def test_a_bad_device_is_a_spec_error():
    for device in ("nonsense", "cuda:0", 0):
        with pytest.raises(SpecError) as info:
            measure_latency(nn.Identity(), input_shape=(1, 1, 1), device=device)
        assert info.value.field == "device" and "auto, cpu, cuda" in str(info.value)


class _Accepted(Exception):
    """Raised where the model would be built: the request got past every limit."""


def _accept_at_build(monkeypatch: pytest.MonkeyPatch) -> None:
    def accepted(*args: object, **kwargs: object) -> None:
        raise _Accepted

    monkeypatch.setattr(measure_module, "_prepare_model", accepted)


@pytest.mark.parametrize(("preset", "batch_sizes"), [("resnet50", (1, 256)), ("resnet152", (1, 128)),
                                                      ("wide_resnet50_2", (128,))])
def test_normal_gpu_batches_pass_the_default_limits(monkeypatch, preset, batch_sizes):
    # Finding 2: the sum of every layer's output capped ResNet-50 at batch 89 and ResNet-152 at 44. A
    # measurement is bounded by the live activations against the device's memory (an 80 GB fake GPU here).
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(measure_module, "device_for", lambda kind: FakeDevice(VirtualClock()))
    _accept_at_build(monkeypatch)
    with pytest.raises(_Accepted):
        measure_latency(load_preset(preset), batch_sizes=batch_sizes, device="cuda")


def test_resnet50_at_batch_256_passes_the_default_limits_on_this_host(monkeypatch):
    # "Done when": measure_latency(resnet50, batch_sizes=(1, 256), device=...) is accepted. Needs
    # weights + 256 x the live activations (about 3.1 GB in fp32) within half this host's free memory.
    spec = load_preset("resnet50")
    layers = plan(spec)
    needed = 4 * (sum(layer.params for layer in layers) + 256 * inference_activation_elements(count(spec)))
    if (cpu_available_bytes() or 0) // 2 < needed:
        pytest.skip(f"this host has less than {2 * needed / 1e9:.1f} GB free")
    _accept_at_build(monkeypatch)
    with pytest.raises(_Accepted):
        measure_latency(spec, batch_sizes=(1, 256), device="cpu")


def test_a_cpu_measurement_is_bounded_by_host_memory(monkeypatch):
    monkeypatch.setattr(CpuDevice, "available_bytes", lambda self: 16 * 10**9)
    _accept_at_build(monkeypatch)
    with pytest.raises(_Accepted):
        measure_latency(load_preset("resnet50"), batch_sizes=(1, 256), device="cpu")


def test_a_batch_that_cannot_fit_the_device_is_refused_naming_what_fits(monkeypatch):
    spec = load_preset("resnet50")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(measure_module, "device_for",
                        lambda kind: FakeDevice(VirtualClock(), available_bytes=10**9))
    _refuse_to_allocate(monkeypatch)
    with pytest.raises(LimitError) as info:
        measure_latency(spec, batch_sizes=(1, 256), device="cuda", dtype="bf16")
    layers = plan(spec)
    per_image = inference_activation_elements(count(spec)) * 2       # bf16
    weights = sum(layer.params for layer in layers) * 2
    largest = (10**9 - weights) // per_image                                  # by hand: 1 GB of bf16
    assert info.value.field == "memory" and largest > 100
    assert f"batch sizes from 1 to {largest:,} fit" in str(info.value)
    assert "the fake device's memory" in str(info.value)


def test_refusals_do_not_wait_for_a_running_measurement():
    errors: list[Exception] = []

    def refused() -> None:
        try:
            measure_latency(TINY, batch_sizes=(4096 * 2,), device="cpu")
        except SpecError as exc:
            errors.append(exc)

    with measure_module._LOCK:            # another measurement is running
        worker = threading.Thread(target=refused)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive() and isinstance(errors[0], LimitError)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"spec_or_model": "resnet20"}, "spec_or_model"),
    ({"spec_or_model": nn.Identity()}, "input_shape"),
    ({"spec_or_model": nn.Identity(), "input_shape": (3, 0, 4)}, "input_shape"),
    ({"spec_or_model": TINY, "input_shape": (3, 32, 32)}, "input_shape"),
])
def test_bad_targets_are_refused(kwargs, field):
    with pytest.raises(SpecError) as info:
        measure_latency(**kwargs, device="cpu")
    assert info.value.field == field


@pytest.mark.skipif(CUDA, reason="checks the refusal where there is no GPU")
def test_asking_for_cuda_without_a_gpu_is_refused():
    with pytest.raises(SpecError, match="device: 'cuda' is not available"):
        measure_latency(TINY, device="cuda")


def test_measurements_are_serialised_process_wide():
    log = SharedLog()
    first_running = threading.Event()
    messages: list[str] = []

    class Announcing(Sleeper):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            first_running.set()
            return super().forward(x)

    first, second = Announcing(0.005, "A", log), Sleeper(0.005, "B", log)
    runs = [threading.Thread(target=measure_latency, args=(first,),
                             kwargs={"input_shape": (1, 1, 1), "budget_s": 0.4, "batch_sizes": (1, 2),
                                     "device": "cpu"}),
            threading.Thread(target=measure_latency, args=(second,),
                             kwargs={"input_shape": (1, 1, 1), "budget_s": 0.4, "device": "cpu",
                                     "progress": lambda fraction, message: messages.append(message)})]
    runs[0].start()
    assert first_running.wait(timeout=30)
    runs[1].start()
    for run in runs:
        run.join(timeout=60)
    labels = [label for label, _, _ in sorted(log, key=lambda call: call[1])]
    assert labels == sorted(labels) and {"A", "B"} == set(labels)   # all of A's calls, then all of B's
    last_a = max(end for label, _, end in log if label == "A")
    first_b = min(start for label, start, _ in log if label == "B")
    assert last_a <= first_b
    assert messages[0] == "waiting for another measurement to finish" and messages[-1] == "done"
    assert all(second.in_progress) and not measurement_in_progress()


def _fake_gpu(monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> tuple[VirtualClock, FakeDevice]:
    clock = VirtualClock()
    device = FakeDevice(clock, **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(measure_module, "device_for", lambda kind: device)
    return clock, device


def _charged_s(row) -> float:
    return (row.setup_s or 0.0) + (row.elapsed_s or 0.0)


def test_cold_calls_do_not_starve_a_gpu_sweep(monkeypatch):
    # Finding 1 through the whole sweep: every batch's first call is 500x a warm one (cuDNN autotuning).
    clock, device = _fake_gpu(monkeypatch)
    model = device.model = Costly(clock, per_image_s=1e-4, cold_factor=500)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(2, 8, 64), budget_s=3.0, device="cuda")
    for row in result.rows:
        assert row.error is None and row.count >= 20 and row.note is None
        assert row.cold_ms == pytest.approx(row.batch_size * 1e-4 * 500 * 1e3)
        assert row.throughput_img_s == pytest.approx(1e4)        # 1e-4 s per image, back to back
        assert row.sm_clock_mhz == 1980.0 and row.power_w == 650.0
    # the stated bound: the budget, plus the last batch's set-up (its 3.2 s cold call), plus one call
    assert sum(_charged_s(row) for row in result.rows) <= 3.0 + result.row(64).setup_s + 64 * 1e-4


def test_peak_memory_is_reset_after_warm_up(monkeypatch):
    # Finding 3: the peak counter used to be reset before the cold call, so cuDNN's autotuning workspace
    # counted as memory that inference needs.
    clock, device = _fake_gpu(monkeypatch)
    model = device.model = Costly(clock, per_image_s=1e-3, cold_factor=50)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(2, 4), budget_s=1.0, device="cuda")
    cold = [i for i, (_, is_cold) in enumerate(model.calls) if is_cold][1:]   # the FLOP count's call comes first
    assert [model.calls[i][0] for i in cold] == [2, 4]
    assert device.calls_before_reset == [i + 1 + row.warmup_calls for i, row in zip(cold, result.rows, strict=True)]
    assert [(row.peak_memory_mb, row.peak_reserved_mb) for row in result.rows] == [(12.5, 16.0)] * 2


def test_a_failed_capture_is_an_error_row_and_the_device_is_left_clean(monkeypatch):
    # Finding 4: a failed CUDA-graph capture aborted the sweep and could leave the thread on the capture
    # stream; now the batch is an error row, the device recovers at once and the next batch is measured.
    clock, device = _fake_gpu(monkeypatch, failing_batch=8)
    model = device.model = Costly(clock, per_image_s=1e-4)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(1, 8, 64), budget_s=1.0,
                             device="cuda", mode="cuda_graph")
    assert [row.error for row in result.rows] == [
        None, "RuntimeError: CUDA error: operation not permitted when stream is capturing", None]
    assert not device.dirty and result.row(64).count >= 20
    batch_8_calls = [i for i, (batch, _) in enumerate(model.calls) if batch == 8]
    assert batch_8_calls == [batch_8_calls[0]]                    # the failing capture's warm-up only
    assert ("recover after failure", batch_8_calls[0] + 1) in device.events   # recovered before batch 64 ran
    assert not measurement_in_progress()


def test_set_up_is_charged_to_the_sweep_and_bounds_it(monkeypatch):
    # Finding 7: compile time was neither bounded nor charged. Here each "compile" takes 30 s of a 10 s budget:
    # the first batch's set-up spends it, so the sweep ends within the budget plus one set-up and one call.
    clock, device = _fake_gpu(monkeypatch, kind="cpu")
    model = device.model = Costly(clock, per_image_s=1e-3)

    def slow_compile(model_, x, options, device_):
        clock.t += 30.0
        return (lambda: model_(x)), 30.0, "cold (compiled)"

    monkeypatch.setattr(measure_module, "_callable", slow_compile)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(1, 2, 4), budget_s=10.0, device="cpu",
                             mode="compile")
    first, *rest = result.rows
    assert first.compile_s == 30.0 and first.setup_s == pytest.approx(30.0 + 1e-3)
    assert first.error.startswith("time budget: no warm call fitted")
    assert [row.error for row in rest] == ["time budget spent before this batch"] * 2
    assert clock.t <= 10.0 + 30.0 + 1e-3 + 1e-9


def test_every_row_has_twenty_calls_or_says_why(monkeypatch):
    clock, device = _fake_gpu(monkeypatch, kind="cpu")
    model = device.model = Costly(clock, per_image_s=0.01, cold_factor=3)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(1, 4, 16, 64), budget_s=2.0, device="cpu")
    for row in result.rows:
        assert row.count >= 20 or row.error is not None or row.note.startswith(f"only {row.count} timed calls")
    assert result.row(1).count >= 20 and result.row(64).error.startswith("skipped: one call would take about")
    assert all(batch != 64 for batch, _ in model.calls)           # the skipped batch never ran
    assert sum(_charged_s(row) for row in result.rows) <= 2.0 + 16 * 0.01 * 3


def test_a_budget_smaller_than_one_call_is_reported_not_overrun(monkeypatch):
    clock, device = _fake_gpu(monkeypatch, kind="cpu")
    model = device.model = Costly(clock, per_image_s=0.3)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(1, 2), budget_s=0.2, device="cpu")
    first, second = result.rows
    assert first.count == 0 and first.error.startswith("time budget: warm-up used it (1 warm calls, 300.0 ms")
    assert second.count == 0 and second.error == "time budget spent before this batch"
    assert clock.t == pytest.approx(0.3 + 0.3 + 0.3)             # FLOP count, cold call, one warm call


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["eager", "cuda_graph"])
@pytest.mark.parametrize("dtype", ["fp32", "tf32", "bf16", "fp16"])
def test_cuda_modes_and_dtypes(mode, dtype):
    result = measure_latency(load_preset("resnet20"), device="cuda", batch_sizes=(1, 8), dtype=dtype, mode=mode,
                             channels_last=True, budget_s=1.0)
    assert result.device_type == "cuda" and result.settings["cudnn_benchmark"] is True
    expected_precision = "tf32" if dtype == "tf32" else "ieee"
    assert result.settings["conv_fp32_precision"] == expected_precision
    for row in result.rows:
        assert row.error is None and row.count >= 1 and row.peak_memory_mb > 0
        assert row.peak_reserved_mb >= row.peak_memory_mb


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("mode", ["compile", "compile-reduce-overhead"])
def test_cuda_compile_modes_with_tf32(mode):
    # tf32 + compile: Inductor reads the matmul precision while it compiles, which raised with half-set flags.
    result = measure_latency(load_preset("resnet20"), device="cuda", batch_sizes=(8,), dtype="tf32", mode=mode,
                             budget_s=60.0)
    row = result.row(8)
    assert row.error is None and row.count >= 20 and row.compile_s > 0 and row.throughput_img_s > 0


@needs_cuda
@pytest.mark.cuda
def test_cuda_events_agree_with_host_wall_time():
    # Latency is a synchronised call, so the events' median and a host timer around a synchronised call of
    # the same model must agree (loose bound: host timers add launch and sync overhead).
    spec = load_preset("resnet50")
    result = measure_latency(spec, device="cuda", batch_sizes=(32,), budget_s=5.0)
    model = build_model(spec, device="cuda").eval()
    x = torch.randn(32, 3, 224, 224, device="cuda")
    walls = []
    with torch.inference_mode():
        for _ in range(30):
            model(x)
        for _ in range(30):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model(x)
            torch.cuda.synchronize()
            walls.append((time.perf_counter() - start) * 1e3)
    assert 0.8 <= result.row(32).median_ms / statistics.median(walls) <= 1.1


@needs_cuda
@pytest.mark.cuda
def test_cuda_share_of_peak_is_at_most_one():
    result = measure_latency(load_preset("resnet50"), device="cuda", batch_sizes=(1, 64), dtype="bf16",
                             channels_last=True, budget_s=10.0)
    for row in result.rows:
        assert row.error is None and (row.peak_fraction is None or 0 < row.peak_fraction <= 1)


@needs_cuda
@pytest.mark.cuda
def test_cuda_real_capture_failure_leaves_the_stream_clean():
    class Syncs(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[0] == 2:
                x.sum().item()  # a host sync: not allowed while a stream is capturing
            return x * 2

    stream = torch.cuda.current_stream()
    result = measure_latency(Syncs(), device="cuda", input_shape=(1, 4, 4), batch_sizes=(1, 2, 3),
                             mode="cuda_graph", budget_s=1.0)
    assert result.row(1).error is None and result.row(3).error is None and result.row(2).error is not None
    assert torch.cuda.current_stream() == stream and not torch.cuda.is_current_stream_capturing()


@needs_cuda
@pytest.mark.cuda
def test_cuda_out_of_memory_is_real_and_recovered():
    class Hog(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[0] == 2:
                torch.empty(1 << 50, dtype=torch.uint8, device=x.device)  # 1 PB
            return x

    result = measure_latency(Hog(), device="cuda", input_shape=(1, 1, 1), batch_sizes=(1, 2, 3), budget_s=0.5)
    assert [row.error for row in result.rows] == [None, "out of memory", None]
