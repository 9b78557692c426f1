"""``measure_latency`` on this machine: known-time modules, every CPU option, OOM, limits, the lock, budgets.

The bounds on elapsed times are generous correctness bounds of the budget logic, not speed goals. Real
models run on one thread: on a 2-core machine shared with other processes, a 2-thread pool can be 100x slower.
"""

from __future__ import annotations

import json
import re
import statistics
import threading
import time

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import arch_lab.latency.measure as measure_module
from arch_lab import LimitError, Limits, ResNetSpec, SpecError, build_model, load_preset, measure_latency
from arch_lab.latency import measurement_in_progress

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
    model = Sleeper(0.02)
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(4,), budget_s=1.0, device="cpu")
    row = result.row(4)
    assert row.error is None and row.count >= 5
    own = [(end - start) * 1e3 for _, start, end in model.log[-row.count:]]  # the module's own timings
    assert row.median_ms >= 20.0                                 # sleep never returns early
    assert row.median_ms == pytest.approx(statistics.median(own), abs=1.0)
    assert row.p10_ms <= row.median_ms <= row.p90_ms and row.min_ms <= row.p10_ms
    assert row.mean_ms == pytest.approx(statistics.mean(own), abs=1.0)
    assert row.throughput_img_s == pytest.approx(4 * 1000 / row.median_ms)
    assert row.tflops == 0.0 and result.flops_per_image == 0 and row.peak_fraction is None
    assert row.peak_memory_mb is None                             # no per-measurement peak on a CPU


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
        assert row.error is None
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
                "peak_tflops", "compile_options"):
        assert key in s, key
    assert s["torch_version"] == torch.__version__ and s["sampling"]["min_calls"] >= 1
    assert [row["batch_size"] for row in data["rows"]] == [1, 2]
    assert data["rows"][0]["budget_s"] == pytest.approx(0.2)       # first share: half the budget


def test_compile_mode_reports_compile_time_separately():
    result = measure_latency(TINY, batch_sizes=(1, 2), mode="compile", budget_s=0.5, threads=1, device="cpu")
    for row in result.rows:
        assert row.error is None and row.count >= 1
        assert row.compile_s is not None and row.compile_s > 0.1     # compiling takes seconds
        assert row.elapsed_s <= row.budget_s + 0.5                   # and is not charged to the budget
    assert result.settings["compile_options"]["dynamic"] is False


def test_an_out_of_memory_batch_is_reported_and_the_sweep_goes_on(monkeypatch):
    freed: list[str] = []
    real_free = measure_module.free_memory
    monkeypatch.setattr(measure_module, "free_memory", lambda device: (freed.append(device), real_free(device)))
    model = FailsAtBatch(3, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    result = measure_latency(model, input_shape=(1, 4, 4), batch_sizes=(2, 3, 8), budget_s=0.3, device="cpu")
    assert [row.error for row in result.rows] == [None, "out of memory", None]
    assert result.row(3).median_ms is None and result.row(8).count >= 1
    assert freed == ["cpu"] * 3                                   # memory released after every batch


def test_a_real_cpu_allocation_failure_is_an_out_of_memory_row():
    class HugeAtBatch8(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.shape[0] == 8:
                torch.empty(1 << 62, dtype=torch.uint8)   # refused by the allocator without allocating
            return x

    result = measure_latency(HugeAtBatch8(), input_shape=(1, 2, 2), batch_sizes=(1, 8), budget_s=0.2, device="cpu")
    assert [row.error for row in result.rows] == [None, "out of memory"]


def test_other_errors_propagate_and_release_everything():
    threads = torch.get_num_threads()
    with pytest.raises(ValueError, match="not a memory problem"):
        measure_latency(FailsAtBatch(2, ValueError("not a memory problem")), input_shape=(1, 2, 2),
                        batch_sizes=(1, 2), budget_s=0.2, threads=1, device="cpu")
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
                             kwargs={"input_shape": (1, 1, 1), "budget_s": 0.4, "batch_sizes": (1, 2)}),
            threading.Thread(target=measure_latency, args=(second,),
                             kwargs={"input_shape": (1, 1, 1), "budget_s": 0.4,
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


def test_a_slow_module_returns_within_its_budget():
    # 50 ms calls, 0.9 s budget over 3 batch sizes. A batch overruns its share by at most one call and later
    # shares shrink by as much, so the time charged is at most the budget plus one call (0.1 s allows for a
    # late wake-up from sleep); one more call counts FLOPs. The wall-clock bound is loose on purpose: set-up
    # outside the budget (copying the module, first-use imports of the FLOP counter) can take seconds on a
    # loaded 2-core machine; it still catches a measurement that ignores its budget.
    started = time.perf_counter()
    result = measure_latency(Sleeper(0.05), input_shape=(1, 1, 1), batch_sizes=(1, 2, 3), budget_s=0.9)
    elapsed = time.perf_counter() - started
    assert sum(row.elapsed_s for row in result.rows) <= 0.9 + 0.1
    assert elapsed < 0.9 + 0.1 + 0.1 + 5.0
    assert all(row.error is None and row.count >= 1 for row in result.rows)
    assert result.rows[0].budget_s == pytest.approx(0.3)


def test_a_budget_smaller_than_one_call_is_reported_not_overrun():
    started = time.perf_counter()
    result = measure_latency(Sleeper(0.3), input_shape=(1, 1, 1), batch_sizes=(1, 2), budget_s=0.2)
    assert time.perf_counter() - started < 0.2 + 0.3 + 0.3 + 3.0     # budget, one cold call, FLOP count, slack
    first, second = result.rows
    assert first.count == 0 and "time budget spent in warm-up" in first.error
    assert second.count == 0 and second.error == "time budget spent before this batch"


def test_a_batch_predicted_to_overrun_its_share_is_skipped_without_running():
    class PerImage(Sleeper):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.log.append(x.shape[0])
            time.sleep(self.seconds * x.shape[0])
            return x

    model = PerImage(0.01)
    started = time.perf_counter()
    result = measure_latency(model, input_shape=(1, 1, 1), batch_sizes=(1, 100), budget_s=0.6)
    assert time.perf_counter() - started < 0.6 + 0.05 + 3.0  # loose; the real check is below
    assert result.rows[0].error is None
    skipped = result.rows[1]
    assert re.match(r"skipped: one call would take about 1\.\d\d s \(batch 1's", skipped.error)  # 100 x 10 ms
    assert skipped.count == 0
    assert 100 not in model.log                                   # never called with the large batch


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
