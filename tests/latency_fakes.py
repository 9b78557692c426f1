"""A virtual clock and a fake device, so the sweep's budget and GPU logic run exactly on a CPU.

Time moves only when a :class:`Costly` module runs (it advances the clock by its cost), so every count and
every budget figure in a test is exact and nothing sleeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from arch_lab.latency.devices import CpuDevice


class VirtualClock:
    """Seconds that pass only when a module says so; survives ``copy.deepcopy`` as itself."""

    description = "virtual clock (tests)"

    def __init__(self) -> None:
        self.t = 0.0

    def __deepcopy__(self, memo: dict) -> VirtualClock:
        return self

    def now(self) -> float:
        return self.t

    def time_call(self, fn: Callable[[], Any]) -> float:
        return self.time_calls(fn, 1)

    def time_calls(self, fn: Callable[[], Any], count: int) -> float:
        start = self.t
        for _ in range(count):
            fn()
        return (self.t - start) * 1e3


class Costly(nn.Module):
    """Takes ``per_image_s`` x batch of virtual time a call; the first call at each batch size (cuDNN
    autotuning, lazy loading) takes ``cold_factor`` times as long. Logs (batch size, cold) per call."""

    def __init__(self, clock: VirtualClock, per_image_s: float, cold_factor: float = 1.0) -> None:
        super().__init__()
        self.clock, self.per_image_s, self.cold_factor = clock, per_image_s, cold_factor
        self.calls: list[tuple[int, bool]] = []

    def __deepcopy__(self, memo: dict) -> Costly:
        return self  # measure_latency times a copy; the test wants to see the calls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cold = all(batch != x.shape[0] for batch, _ in self.calls)
        self.calls.append((x.shape[0], cold))
        self.clock.t += self.per_image_s * x.shape[0] * (self.cold_factor if cold else 1.0)
        return x


class FakeDevice(CpuDevice):
    """A device of any kind whose tensors live on the CPU and whose time is a :class:`VirtualClock`.

    It records what the sweep asks of it; ``capture`` fails at ``failing_batch``, as a CUDA-graph capture
    does when something in the forward pass is not capturable, leaving the device marked dirty until
    ``recover`` is called.
    """

    def __init__(self, clock: VirtualClock, kind: str = "cuda", available_bytes: int | None = 80 * 10**9,
                 failing_batch: int | None = None, sm_count: int = 132) -> None:
        self.kind, self.name, self.virtual = kind, "NVIDIA H100 80GB HBM3", clock
        self.available, self.failing_batch, self.sm_count = available_bytes, failing_batch, sm_count
        self.events: list[tuple[str, int]] = []
        self.dirty = False
        self.calls_before_reset: list[int] = []
        self.model: Costly | None = None

    def clock(self) -> VirtualClock:
        return self.virtual

    def environment(self) -> dict[str, Any]:
        return {"fake_device": True}

    def peak(self, dtype: str) -> tuple[str, float] | None:
        return None

    def available_bytes(self) -> int | None:
        return self.available

    def memory_source(self) -> str:
        return "the fake device's memory"

    def capture(self, model: nn.Module, x: torch.Tensor) -> Callable[[], torch.Tensor]:
        model(x)  # the side-stream warm-up of a real capture
        if x.shape[0] == self.failing_batch:
            self.dirty = True
            raise RuntimeError("CUDA error: operation not permitted when stream is capturing")
        return lambda: model(x)

    def reset_peak_memory(self) -> None:
        self.calls_before_reset.append(len(self.model.calls) if self.model is not None else -1)

    def peak_memory_mb(self) -> tuple[float | None, float | None]:
        return 12.5, 16.0

    def telemetry(self) -> dict[str, Any]:
        return {"sm_clock_mhz": 1980.0, "power_w": 650.0}

    def recover(self, failed: bool) -> None:
        self.events.append(("recover" if not failed else "recover after failure",
                            len(self.model.calls) if self.model is not None else -1))
        self.dirty = False
