"""Per-operator counts in fvcore's convention (``FlopCountAnalysis(...).by_operator()``), from the plan.

fvcore 0.1.5 counts one fused multiply-add as one "flop" and, for the operators a ResNet uses
(``fvcore/nn/jit_handles.py``), in an eval-mode forward:

* ``conv``: batch × prod(weight shape) × prod(output spatial size); the bias is ignored.
* ``batch_norm`` (eval): input elements × 2 when affine (× 1 without); training mode would count × 5.
* ``adaptive_avg_pool2d``: input elements × 1 (the head's global pool and squeeze-excitation's).
* ``linear``: prod(input shape) × out_features; the bias is ignored.

Max/average pooling, ReLU, sigmoid, the residual add and SE's product are "unsupported" there and count
zero. fvcore's ``conv`` + ``linear`` is the MAC count of :mod:`arch_lab.plan`.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from arch_lab.plan import CONV_TYPES, Layer


def fvcore_ops(layers: Sequence[Layer], batch_size: int = 1) -> dict[str, int]:
    """``{"conv": …, "batch_norm": …, "adaptive_avg_pool2d": …, "linear": …}`` for ``batch_size`` images;
    operators that do not occur are left out, as fvcore does."""
    counts = {"conv": 0, "batch_norm": 0, "adaptive_avg_pool2d": 0, "linear": 0}
    for layer in layers:
        if layer.type in CONV_TYPES:
            counts["conv"] += layer.macs
        elif layer.type == "BatchNorm2d":
            counts["batch_norm"] += 2 * prod(layer.input_shape)
        elif layer.type == "AdaptiveAvgPool2d":
            counts["adaptive_avg_pool2d"] += prod(layer.input_shape)
        elif layer.type == "Linear":
            counts["linear"] += layer.macs
    return {op: batch_size * count for op, count in counts.items() if count}
