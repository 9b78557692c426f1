"""What the measurement options are called and which CPU this is: plain data, no torch import, so the
app can lay out its Latency tab without loading torch."""

from __future__ import annotations

import contextlib
import platform
from pathlib import Path

DTYPE_NAMES = ("fp32", "tf32", "bf16", "fp16")
COMPILE_MODES = {"compile": "default", "compile-max-autotune": "max-autotune",
                 "compile-reduce-overhead": "reduce-overhead"}
"""Our mode -> ``torch.compile(mode=...)``: "max-autotune" benchmarks kernel choices while compiling,
"reduce-overhead" replays CUDA graphs (so it is CUDA-only; on a CPU it would silently be "default")."""
MODES = ("eager", "cuda_graph", *COMPILE_MODES)
CUDA_ONLY = {"dtype": ("tf32",), "mode": ("cuda_graph", "compile-reduce-overhead")}


def cpu_model() -> str:
    """The CPU's marketing name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "cpu"
