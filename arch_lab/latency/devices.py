"""What the measurement runs on: names, versions, dense peaks, backend flags, memory, telemetry, OOM handling."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import re
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from arch_lab.errors import SpecError
from arch_lab.latency.catalog import cpu_model  # noqa: F401 (re-exported)
from arch_lab.latency.sampling import Clock, CudaClock, HostClock

# Dense (no 2:4 sparsity) peak TFLOP/s per dtype. "fp32" is the non-tensor-core FP32 rate, since "fp32"
# here means TF32 off. Sources (collected in shared/notes/latency.md, section 3.1): the NVIDIA H100
# datasheet, whose tensor-core figures are "shown with sparsity" and halved here
# (https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html, https://glennklockwood.com/garden/processors/h100);
# the H200 has the H100 SXM's compute; A100 (SXM and PCIe alike): NVIDIA "GPU Performance Background"
# (https://docs.nvidia.com/deeplearning/performance/dl-performance-gpu-background/index.html).
# Names are matched on torch.cuda.get_device_name(): "NVIDIA H100 80GB HBM3" is the SXM part, "NVIDIA H100
# PCIe" the PCIe part. Variants with other peaks (H100 NVL, H200 NVL) match nothing, so no share is claimed.
_H100_SXM = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}
GPU_PEAK_TFLOPS: tuple[tuple[str, str, int, dict[str, float]], ...] = (
    (r"H100 PCIe", "H100 PCIe", 114, {"fp32": 51.0, "tf32": 378.0, "bf16": 756.5, "fp16": 756.5}),
    (r"H100 (80GB HBM3|SXM)", "H100 SXM", 132, _H100_SXM),
    (r"H200(?! NVL)", "H200 SXM", 132, _H100_SXM),
    (r"A100", "A100", 108, {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0}),
)
"""(name pattern, GPU, SM count of the full part, dense peaks). The SM count is checked too: a MIG slice
reports the full GPU's name but has only some of its SMs, so the full part's peak would overstate it."""


def peak_tflops(device_name: str, dtype: str, sm_count: int) -> tuple[str, float] | None:
    """(matched GPU, dense peak TFLOP/s for ``dtype``) for a known GPU with all its SMs, else None."""
    for pattern, gpu, sms, peaks in GPU_PEAK_TFLOPS:
        if re.search(pattern, device_name):
            return (gpu, peaks[dtype]) if sm_count == sms else None
    return None


def host_environment() -> dict[str, Any]:
    """Versions and host facts recorded with every result."""
    return {
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        # A busy machine slows CPU timings (with every core in torch's thread pool, by up to 100x): say how busy.
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def cpu_available_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo (Linux): memory the kernel can give without swapping."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


# Settings of the TF32 switches, new API (torch >= 2.9), parents before children: assigning a parent
# also assigns its children, so restoring in this order puts every one back as it was.
_PRECISION_PATHS = ("fp32_precision", "cuda.matmul.fp32_precision", "cudnn.fp32_precision",
                    "cudnn.conv.fp32_precision", "cudnn.rnn.fp32_precision", "mkldnn.fp32_precision",
                    "mkldnn.matmul.fp32_precision", "mkldnn.conv.fp32_precision", "mkldnn.rnn.fp32_precision")


def _precision_owner(path: str) -> tuple[Any, str]:
    owner: Any = torch.backends
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return owner, name


def _precisions() -> dict[str, str]:
    """The new-API values this torch has (a torch without one of them simply has nothing to restore)."""
    values = {}
    for path in _PRECISION_PATHS:
        with contextlib.suppress(AttributeError):
            values[path] = getattr(*_precision_owner(path))
    return values


def _legacy_precision() -> tuple[str, bool] | None:
    """(``torch.get_float32_matmul_precision()``, ``cudnn.allow_tf32``), or None where a mix of the legacy
    and new APIs has made them unreadable (torch then raises on reading them)."""
    try:
        return torch.get_float32_matmul_precision(), bool(torch.backends.cudnn.allow_tf32)
    except RuntimeError:
        return None


@contextlib.contextmanager
def backend_flags(device_type: str, dtype: str, threads: int) -> Iterator[dict[str, Any]]:
    """Set the thread count and, on CUDA, cuDNN autotuning and the fp32 precision; restore them all after.

    ``fp32`` is true fp32 (TF32 off in matmuls and convs, whose cuDNN default is TF32); ``tf32`` allows TF32
    tensor cores in both. The precision is set with the legacy calls (``set_float32_matmul_precision``,
    ``cudnn.allow_tf32``), then cuDNN's conv and RNN values explicitly: that keeps the legacy and the new
    (``fp32_precision``) settings in agreement, so every reader works, Inductor's autotuner included;
    setting only some of the new ones makes ``torch.get_float32_matmul_precision()`` raise. Restoring puts
    back the legacy values first, then every new-API value, which reproduces the previous state exactly.
    Yields the values in force, for the result.
    """
    saved_threads = torch.get_num_threads()
    saved_benchmark = torch.backends.cudnn.benchmark
    saved_legacy = _legacy_precision()
    saved_precisions = _precisions()
    torch.set_num_threads(threads)
    flags: dict[str, Any] = {"threads": threads, "cudnn_benchmark": None, "float32_matmul_precision": None,
                             "cudnn_allow_tf32": None, "matmul_fp32_precision": None, "conv_fp32_precision": None}
    try:
        if device_type == "cuda":
            tf32 = dtype == "tf32"
            cudnn = torch.backends.cudnn
            cudnn.benchmark = True
            torch.set_float32_matmul_precision("high" if tf32 else "highest")
            cudnn.allow_tf32 = tf32
            # explicit per-op values, which every reader accepts after the legacy calls above
            cudnn.conv.fp32_precision = cudnn.rnn.fp32_precision = "tf32" if tf32 else "ieee"
            flags.update(cudnn_benchmark=True, float32_matmul_precision=torch.get_float32_matmul_precision(),
                         cudnn_allow_tf32=cudnn.allow_tf32, conv_fp32_precision=cudnn.conv.fp32_precision,
                         matmul_fp32_precision=torch.backends.cuda.matmul.fp32_precision)
        yield flags
    finally:
        torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark = saved_benchmark
        if saved_legacy is not None:
            torch.set_float32_matmul_precision(saved_legacy[0])
            torch.backends.cudnn.allow_tf32 = saved_legacy[1]
        for path, value in saved_precisions.items():
            setattr(*_precision_owner(path), value)


def is_out_of_memory(exc: BaseException | None) -> bool:
    """An out-of-memory error anywhere in the chain (``torch.compile`` wraps errors in its own).

    Accelerators raise ``torch.OutOfMemoryError``; the CPU allocator raises a plain RuntimeError, and cuDNN
    reports a failed workspace allocation as ``CUDNN_STATUS_ALLOC_FAILED`` (also a plain RuntimeError).
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, torch.OutOfMemoryError) or (isinstance(exc, RuntimeError) and any(
                marker in str(exc) for marker in ("DefaultCPUAllocator: can't allocate memory",
                                                  "CUDNN_STATUS_ALLOC_FAILED"))):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class CpuDevice:
    """The host CPU. Every device-specific step of a measurement goes through a device object, so the
    sweep's GPU logic (capture failure, peak memory, telemetry, limits) is tested on a CPU with a fake."""

    kind = "cpu"
    torch_device = "cpu"

    def __init__(self) -> None:
        self.name = cpu_model()

    def clock(self) -> Clock:
        return HostClock()

    def environment(self) -> dict[str, Any]:
        return host_environment()

    def peak(self, dtype: str) -> tuple[str, float] | None:
        """No dense peak is known for CPUs (it depends on the clock, which a VM hides)."""
        return None

    def available_bytes(self) -> int | None:
        """Half the memory available now: the app and other users share the host."""
        available = cpu_available_bytes()
        return None if available is None else available // 2

    def memory_source(self) -> str:
        return "half of MemAvailable (/proc/meminfo)"

    def synchronize(self) -> None:
        """Nothing to wait for: a CPU call returns when its work is done."""

    def capture(self, model: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
        raise SpecError("mode", "'cuda_graph' needs a CUDA GPU")

    def reset_peak_memory(self) -> None:
        """No per-measurement peak on a CPU: the process's RSS high-water mark never goes down."""

    def peak_memory_mb(self) -> tuple[float | None, float | None]:
        return None, None

    def telemetry(self) -> dict[str, Any]:
        return {}

    def recover(self, failed: bool) -> None:
        """Release what a batch left behind, so the next batch starts clean. A failure's traceback holds the
        batch's frames in reference cycles, which only a collection frees (about 0.1 s with torch loaded, so
        not after every batch)."""
        if failed:
            gc.collect()


_SMI_LIVE = ("clocks.sm", "clocks.mem", "power.draw", "temperature.gpu", "clocks_throttle_reasons.active")
_SMI_STATIC = ("driver_version", "clocks.max.sm", "power.limit", "mig.mode.current", "persistence_mode")


def nvidia_smi(fields: Sequence[str], gpu: str | None) -> dict[str, str]:
    """Fields of ``nvidia-smi --query-gpu`` for one GPU, or {} where it cannot be run or read."""
    command = ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    if gpu is not None:
        command.append(f"--id={gpu}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return {}
    values = [value.strip() for value in done.stdout.splitlines()[0].split(",")] if done.stdout else []
    return dict(zip(fields, values, strict=True)) if len(values) == len(fields) else {}


def _number(text: str | None) -> float | None:
    with contextlib.suppress(TypeError, ValueError):
        return float(text)  # type: ignore[arg-type]
    return None


class CudaDevice(CpuDevice):
    """The current CUDA GPU."""

    kind = "cuda"
    torch_device = "cuda"

    def __init__(self) -> None:
        self.index = torch.cuda.current_device()
        self.properties = torch.cuda.get_device_properties(self.index)
        self.name = torch.cuda.get_device_name(self.index)
        uuid = getattr(self.properties, "uuid", None)
        self.smi_id = f"GPU-{uuid}" if uuid is not None else str(self.index)

    def clock(self) -> Clock:
        return CudaClock()

    def environment(self) -> dict[str, Any]:
        props = self.properties
        smi = nvidia_smi(_SMI_STATIC, self.smi_id)
        return {**host_environment(), "gpu_sm_count": props.multi_processor_count,
                "gpu_memory_mb": round(props.total_memory / 1e6),
                "gpu_compute_capability": f"{props.major}.{props.minor}",
                "gpu_driver": smi.get("driver_version"), "gpu_max_sm_clock_mhz": _number(smi.get("clocks.max.sm")),
                "gpu_power_limit_w": _number(smi.get("power.limit")), "gpu_mig_mode": smi.get("mig.mode.current"),
                "gpu_persistence_mode": smi.get("persistence_mode")}

    def peak(self, dtype: str) -> tuple[str, float] | None:
        return peak_tflops(self.name, dtype, self.properties.multi_processor_count)

    def available_bytes(self) -> int | None:
        """Free device memory now plus what torch's allocator caches (it reuses that before asking for more)."""
        free, _ = torch.cuda.mem_get_info(self.index)
        return free + torch.cuda.memory_reserved(self.index) - torch.cuda.memory_allocated(self.index)

    def memory_source(self) -> str:
        return "free GPU memory (torch.cuda.mem_get_info) plus torch's unused cache"

    def synchronize(self) -> None:
        torch.cuda.synchronize()

    def capture(self, model: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
        """Record one forward pass as a CUDA graph; a replay relaunches all its kernels in one call.

        Warm-up runs on a side stream first, as the CUDA-graph docs require (and lets cuDNN autotune). If
        capture fails, ``torch.cuda.graph`` may not leave its capture stream (its exit raises before
        restoring the stream), so the thread's stream is put back here: the app's worker threads are pooled.
        """
        previous = torch.cuda.current_stream()
        graph = torch.cuda.CUDAGraph()
        try:
            stream = torch.cuda.Stream()
            stream.wait_stream(previous)
            with torch.cuda.stream(stream):
                for _ in range(3):
                    model(x)
            previous.wait_stream(stream)
            with torch.cuda.graph(graph):
                static_output = model(x)
        except BaseException:
            torch.cuda.set_stream(previous)
            raise

        def replay() -> torch.Tensor:
            graph.replay()
            return static_output

        return replay

    def reset_peak_memory(self) -> None:
        torch.cuda.reset_peak_memory_stats(self.index)

    def peak_memory_mb(self) -> tuple[float | None, float | None]:
        """Peak allocated and peak reserved (cached by torch) memory since the last reset, MB = 1e6 bytes."""
        return torch.cuda.max_memory_allocated(self.index) / 1e6, torch.cuda.max_memory_reserved(self.index) / 1e6

    def telemetry(self) -> dict[str, Any]:
        """SM clock, power and throttle reasons now (read right after a batch's calls, while still loaded)."""
        smi = nvidia_smi(_SMI_LIVE, self.smi_id)
        return {"sm_clock_mhz": _number(smi.get("clocks.sm")), "power_w": _number(smi.get("power.draw")),
                "temperature_c": _number(smi.get("temperature.gpu")),
                "throttle_reasons": smi.get("clocks_throttle_reasons.active")} if smi else {}

    def recover(self, failed: bool) -> None:
        """Leave no capture stream, pending work or cached blocks behind."""
        torch.cuda.set_stream(torch.cuda.default_stream(self.index))
        super().recover(failed)
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def device_for(kind: str) -> CpuDevice:
    """The device a measurement of ``kind`` ("cpu" or "cuda", already validated) runs on."""
    return CudaDevice() if kind == "cuda" else CpuDevice()
