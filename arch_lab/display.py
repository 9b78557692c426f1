"""How numbers, shapes and devices read on screen, for the CLI and the app alike (no torch, no gradio).

The CLI (:mod:`arch_lab.analysis.text`, :mod:`arch_lab.cli`) and the app (:mod:`arch_lab.ui.views`, the
Latency tab) show the same quantities; formatting them here once keeps the two from drifting apart. The
surfaces still differ where they should: the CLI prints plain ASCII (``1x64x112x112``, ``K``) so any
terminal shows it, the app writes ``1×64×112×112`` and SI's ``k``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from arch_lab.columns import MEDIAN, THROUGHPUT, LatencyColumn

TIMES = "×"
"""Between the dimensions of a shape or a size in the app; the CLI passes ``"x"``."""
PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"))
"""Decimal prefixes, largest first."""
FP32_BYTES = 4
METRIC_UNITS = {
    "params": ("params (M)", 1e6, 2),
    "macs": ("MACs (G)", 1e9, 3),
    "flops": ("FLOPs (G)", 1e9, 3),
    "activations": ("activations (M values)", 1e6, 2),  # a count, often beside MB columns: say so
    "activations_mb": ("activations peak, fp32 (MB)", 1.0, 2),
    "num_stages": ("stages", 1.0, 0),
    "num_blocks": ("blocks", 1.0, 0),
    "latency_ms": ("latency (ms)", 1.0, 2),
    "latency_est_ms": ("estimated latency (ms)", 1.0, 2),
}
"""A metric as the app shows it, in tables and on chart axes alike: (header with its unit, divisor, decimals)."""
MEASURED_HEADERS = {MEDIAN: ("latency b{} (ms)", 2), THROUGHPUT: ("throughput b{} (img/s)", 1)}
"""Measured metrics a comparison table shows: header (with the batch size) and decimals."""


def shape_text(shape: Iterable[Any], times: str = TIMES) -> str:
    """``(1, 64, 56, 56)`` as ``1×64×56×56`` (N×C×H×W, the batch first, as torchinfo shows it)."""
    return times.join(str(v) for v in shape)


def text(value: Any) -> str:
    """A comparison cell as the app shows it: lists (``[2, 2, 2, 2]`` or a tuple) as ``2, 2, 2, 2`` and an
    input size ``224x224`` as ``224×224``."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    value = str(value)
    height, x, width = value.partition("x")
    if x and height.isdigit() and width.isdigit():
        return shape_text((height, width))
    return value[1:-1] if value.startswith("[") and value.endswith("]") else value


def optional_text(values: Iterable[Any], missing: str = "") -> list[str]:
    """Values as text, ``missing`` where one does not apply (a BN's kernel, the head's receptive field)."""
    return [missing if pd.isna(v) else str(v) for v in values]


def count_text(value: Any) -> str:
    """An exact count with thousands separators: ``11689512`` -> ``11,689,512``."""
    return "" if pd.isna(value) else f"{int(value):,}"


def prefix_for(largest: float, thousand: str = "k") -> tuple[float, str]:
    """(divisor, prefix) of the largest decimal unit that keeps ``largest`` at or above 1; (1, "") below 1000."""
    for scale, prefix in PREFIXES:
        if abs(largest) >= scale:
            return scale, thousand if scale == 1e3 else prefix
    return 1.0, ""


def unit_texts(values: Sequence[float], largest: float | None = None) -> tuple[str, list[str]]:
    """A column of counts in one unit: the prefix (k/M/G, "" below 1000) that keeps ``largest`` (default: the
    largest value) at or above 1, and each value in it to 3 decimals ("0" for none). One unit per column, so a
    stage table never mixes ``809.2 M`` and ``1.0 G``, and its total reads as the headline does (4.089 G)."""
    divisor, prefix = prefix_for(max((abs(float(v)) for v in values), default=0.0) if largest is None else largest)
    digits = 3 if prefix else 0  # counts below a thousand are whole
    return prefix, ["0" if v == 0 else f"{float(v) / divisor:,.{digits}f}" for v in values]


def scaled(label: str, values: Sequence[float]) -> tuple[str, list[float]]:
    """A CLI column: ``label`` with the unit (K/M/G) that keeps its largest value at or above 1, and
    ``values`` in that unit rounded to 3 decimals; a label that already names its unit (MB) keeps it."""
    if label.endswith(")"):
        return label, [round(float(v), 3) for v in values]
    divisor, prefix = prefix_for(max((abs(float(v)) for v in values), default=0.0), thousand="K")
    return (f"{label} ({prefix})" if prefix else label), [round(float(v) / divisor, 3) for v in values]


def bytes_text(count: float) -> str:
    """Bytes as kB/MB/GB (powers of 1000, like the report's MB)."""
    scale, prefix = prefix_for(count)
    return f"{count / scale:.1f} {prefix}B" if prefix else f"{count:.0f} B"


def fp32_bytes(shape: Iterable[Any]) -> float:
    """Memory of a float32 tensor of ``shape``."""
    count = 1
    for n in shape:
        count *= int(n)
    return float(count * FP32_BYTES)


def share_text(fraction: Any) -> str:
    """A share as a percentage that never reads "0" for a small but real part (the stem's 0.037 %)."""
    if pd.isna(fraction):
        return ""
    percent = float(fraction) * 100
    if percent == 0:
        return "0 %"
    return f"{percent:.1f} %" if percent >= 1 else f"{percent:.2g} %"


def metric_unit(metric: str) -> tuple[str, float, int]:
    """(header, divisor, decimals) of a metric (:data:`METRIC_UNITS`); one it does not know is shown as is."""
    return METRIC_UNITS.get(metric, (metric, 1.0, 3))


def measured_header(column: LatencyColumn) -> tuple[str, int] | None:
    """(header, decimals) of a measured column in a comparison table; None for one it does not show."""
    if column.metric not in MEASURED_HEADERS:
        return None
    header, digits = MEASURED_HEADERS[column.metric]
    return header.format(column.batch_size), digits


def device_label(device_type: str, device_name: str, threads: int | None = None) -> str:
    """Where a measurement ran, in the words every surface uses: ``GPU: <name>`` or ``CPU: <name>, N threads``
    (``device_type`` as torch names it, ``cuda`` or ``cpu``). On a GPU the CPU threads only issue the
    launches, so they are named as CPU threads and only when given."""
    if device_type == "cuda":
        return f"GPU: {device_name}" + (f", {threads} CPU threads" if threads is not None else "")
    return f"CPU: {device_name}, {threads} threads"
