"""The measurement options, validated before anything is built or queued.

An option that does not apply where the measurement would run (``cuda_graph`` or ``tf32`` on a CPU,
``device="cuda"`` without a CUDA GPU) is refused with a :class:`SpecError` naming the option, the value and
what is allowed here, rather than silently measuring something else.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from arch_lab.errors import SpecError
from arch_lab.latency.catalog import COMPILE_MODES, CUDA_ONLY, DTYPE_NAMES, MODES  # noqa: F401 (re-exported)
from arch_lab.latency.estimate import RateKey

DEVICES = ("auto", "cpu", "cuda")
DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,  # true fp32: TF32 tensor-core math switched off on CUDA
    "tf32": torch.float32,  # fp32 tensors, TF32 tensor-core convs and matmuls (CUDA only)
    "bf16": torch.bfloat16,
    "fp16": torch.float16,
}
MAX_BUDGET_S = 600.0
"""One measurement holds the process-wide lock for its whole budget, so a budget is capped at 10 minutes."""
MAX_BATCH_SIZES = 8
"""At most this many batch sizes per measurement (each one is warmed up, and in compile mode compiled)."""


@dataclass(frozen=True)
class LatencyOptions:
    """Validated options; ``device`` is as asked, ``device_type`` where the measurement runs."""

    device: str
    device_type: str
    batch_sizes: tuple[int, ...]
    dtype: str
    channels_last: bool
    mode: str
    budget_s: float
    threads: int

    @property
    def torch_dtype(self) -> torch.dtype:
        return DTYPES[self.dtype]

    @property
    def rate_key(self) -> RateKey:
        """What a measured MAC rate depends on (:mod:`arch_lab.latency.estimate`)."""
        return self.device_type, self.dtype, self.channels_last, self.mode, self.threads


def resolve_options(*, device: Any = "auto", batch_sizes: Any = (1,), dtype: Any = "fp32",
                    channels_last: Any = False, mode: Any = "eager", budget_s: Any = 10.0,
                    threads: Any = None, cuda_available: bool | None = None) -> LatencyOptions:
    """Check every option; ``cuda_available`` defaults to ``torch.cuda.is_available()`` (tests pass it)."""
    if cuda_available is None:
        cuda_available = torch.cuda.is_available()
    _choice("device", device, DEVICES)
    if device == "cuda" and not cuda_available:
        raise SpecError("device", "'cuda' is not available here: torch sees no CUDA GPU; choose auto or cpu")
    device_type = "cuda" if device == "cuda" or (device == "auto" and cuda_available) else "cpu"
    _choice("dtype", dtype, tuple(DTYPES))
    _choice("mode", mode, MODES)
    if device_type == "cpu":
        for option, value in (("dtype", dtype), ("mode", mode)):
            if value in CUDA_ONLY[option]:
                allowed = [v for v in (DTYPES if option == "dtype" else MODES) if v not in CUDA_ONLY[option]]
                raise SpecError(option, f"{value!r} needs a CUDA GPU and this measurement runs on the cpu; "
                                        f"choose one of {', '.join(allowed)}")
    if not isinstance(channels_last, bool):
        raise SpecError("channels_last", f"{channels_last!r} is not a boolean; expected true or false")
    return LatencyOptions(device, device_type, _batch_sizes(batch_sizes), dtype, channels_last, mode,
                          _budget(budget_s), _threads(threads))


def parse_batch_sizes(text: str) -> tuple[int, ...]:
    """``"1,8,64"`` -> ``(1, 8, 64)``, as typed on the command line."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise SpecError("batch", f"{text!r} is not a comma-separated list of integers such as 1,8,64") from None
    return _batch_sizes(values)


def _choice(option: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise SpecError(option, f"{value!r} is not allowed; choose one of {', '.join(allowed)}")


def _batch_sizes(value: Any) -> tuple[int, ...]:
    """Sorted and de-duplicated, so small (cheap) batches are measured first."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise SpecError("batch_sizes", f"{value!r} is not a non-empty list of integers >= 1, e.g. [1, 8, 64]")
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or item < 1:
            raise SpecError("batch_sizes", f"{item!r} is not an integer >= 1")
    sizes = tuple(sorted(set(value)))
    if len(sizes) > MAX_BATCH_SIZES:
        raise SpecError("batch_sizes", f"{len(sizes)} batch sizes requested; at most {MAX_BATCH_SIZES} per measurement")
    return sizes


def _budget(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not 0 < value <= MAX_BUDGET_S:
        raise SpecError("budget_s", f"{value!r} is not allowed; expected seconds > 0 and <= {MAX_BUDGET_S:g}")
    return float(value)


def _threads(value: Any) -> int:
    """CPU threads for the whole measurement; the default is what torch uses now (one per physical core)."""
    cores = os.cpu_count() or 1
    if value is None:
        return torch.get_num_threads()
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= cores:
        raise SpecError("threads", f"{value!r} is not allowed; expected an integer from 1 to {cores} (CPU cores here)")
    return value
