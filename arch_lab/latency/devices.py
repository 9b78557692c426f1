"""What the measurement runs on: names, versions, dense peaks, backend flags, memory and OOM handling."""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

# Dense (no 2:4 sparsity) peak TFLOP/s per dtype. "fp32" is the non-tensor-core FP32 rate, since "fp32"
# here means TF32 off. Sources (collected in shared/notes/latency.md, section 3.1): the NVIDIA H100
# datasheet, whose tensor-core figures are "shown with sparsity" and halved here
# (https://archive-lib.hpctech.co.jp/gpuproduct/nvidia-h100.html, https://glennklockwood.com/garden/processors/h100);
# the H200 has the H100 SXM's compute; A100 (SXM and PCIe alike): NVIDIA "GPU Performance Background"
# (https://docs.nvidia.com/deeplearning/performance/dl-performance-gpu-background/index.html).
# Names are matched on torch.cuda.get_device_name(): "NVIDIA H100 80GB HBM3" is the SXM part, "NVIDIA H100
# PCIe" the PCIe part. Variants with other peaks (H100 NVL, H200 NVL) match nothing, so no share is claimed.
_H100_SXM = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}
GPU_PEAK_TFLOPS: tuple[tuple[str, str, dict[str, float]], ...] = (
    (r"H100 PCIe", "H100 PCIe", {"fp32": 51.0, "tf32": 378.0, "bf16": 756.5, "fp16": 756.5}),
    (r"H100 (80GB HBM3|SXM)", "H100 SXM", _H100_SXM),
    (r"H200(?! NVL)", "H200 SXM", _H100_SXM),
    (r"A100", "A100", {"fp32": 19.5, "tf32": 156.0, "bf16": 312.0, "fp16": 312.0}),
)


def peak_tflops(device_name: str, dtype: str) -> tuple[str, float] | None:
    """(matched GPU, dense peak TFLOP/s for ``dtype``) for a known GPU, else None."""
    for pattern, gpu, peaks in GPU_PEAK_TFLOPS:
        if re.search(pattern, device_name):
            return gpu, peaks[dtype]
    return None


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "cpu"


def device_name(device_type: str) -> str:
    return torch.cuda.get_device_name() if device_type == "cuda" else cpu_model()


def environment(device_type: str) -> dict[str, Any]:
    """Versions and hardware facts recorded with every result."""
    info: dict[str, Any] = {
        "torch_version": torch.__version__,
        "cuda_version": torch.version.cuda,
        "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        # A busy machine slows CPU timings (with every core in torch's thread pool, by up to 100x): say how busy.
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if device_type == "cuda":
        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        info.update(gpu_sm_count=props.multi_processor_count, gpu_memory_mb=round(props.total_memory / 1e6),
                    gpu_compute_capability=f"{props.major}.{props.minor}")
    return info


@contextlib.contextmanager
def backend_flags(device_type: str, dtype: str, threads: int) -> Iterator[dict[str, Any]]:
    """Set the thread count and, on CUDA, cuDNN autotuning and the fp32 precision; restore them after.

    ``fp32`` is true fp32 (cuDNN convs default to TF32 in this torch, so they are set to "ieee" explicitly);
    ``tf32`` allows TF32 tensor cores in convs and matmuls. Yields the values in force, for the result.
    """
    saved_threads = torch.get_num_threads()
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    saved = (torch.backends.cudnn.benchmark, matmul.fp32_precision, conv.fp32_precision)
    torch.set_num_threads(threads)
    flags: dict[str, Any] = {"threads": threads, "cudnn_benchmark": None, "matmul_fp32_precision": None,
                             "conv_fp32_precision": None}
    try:
        if device_type == "cuda":
            precision = "tf32" if dtype == "tf32" else "ieee"
            torch.backends.cudnn.benchmark = True
            matmul.fp32_precision = conv.fp32_precision = precision
            flags.update(cudnn_benchmark=True, matmul_fp32_precision=precision, conv_fp32_precision=precision)
        yield flags
    finally:
        torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark, matmul.fp32_precision, conv.fp32_precision = saved


def is_out_of_memory(exc: BaseException | None) -> bool:
    """An out-of-memory error anywhere in the chain (``torch.compile`` wraps errors in its own).

    Accelerators raise ``torch.OutOfMemoryError``; the CPU allocator raises a plain RuntimeError.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, torch.OutOfMemoryError) or (
                isinstance(exc, RuntimeError) and "DefaultCPUAllocator: can't allocate memory" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_memory(device_type: str) -> None:
    """Release what a finished (or failed) batch left behind, so the next batch starts clean."""
    gc.collect()
    if device_type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def reset_peak_memory(device_type: str) -> None:
    if device_type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb(device_type: str) -> float | None:
    """Peak memory allocated by torch on the GPU since the last reset (MB = 1e6 bytes); None on a CPU,
    where no per-measurement peak is available (the process's RSS high-water mark never goes down)."""
    if device_type == "cuda":
        return torch.cuda.max_memory_allocated() / 1e6
    return None
