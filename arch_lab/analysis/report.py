"""``analyse(spec)``: the full complexity report of a design, from arithmetic alone.

Nothing is built and no weight is allocated: every number comes from the analytic layer plan
(:func:`arch_lab.plan.plan`, pycls ``complexity()`` style), so a report costs about a millisecond and is
cached by (spec, input size, batch size). The tests hold each number against the real module, fvcore,
torchinfo, ``torch.utils.flop_counter``, torchvision's published figures and real memory measurements.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from arch_lab.analysis import memory
from arch_lab.analysis.ops import fvcore_ops
from arch_lab.analysis.receptive import Field, stage_fields
from arch_lab.analysis.tables import LAYER_COLUMNS, STAGE_COLUMNS, frame, layer_records, stage_records
from arch_lab.cache import WeightedLRU
from arch_lab.errors import SpecError
from arch_lab.limits import Counts, Limits, check_limits
from arch_lab.plan import CACHED_LAYERS, Layer, clear_plans, plan
from arch_lab.spec import ResNetSpec

MB = 1e6
"""Bytes per MB in every ``*_mb`` figure (torchinfo's convention)."""

CONVENTIONS = {
    "macs": "multiply-accumulates of conv and linear layers, biases excluded (torchvision's published "
            "'GFLOPS', pycls 'flops'); BN, ReLU, pooling and residual adds count none",
    "flops": "2 x macs (the convention of torch.utils.flop_counter)",
    "activations": "output elements of conv and linear layers (fvcore ActivationCountAnalysis)",
    "ops": "fvcore FlopCountAnalysis.by_operator() of an eval-mode forward: 1 fused multiply-add = 1",
    "memory": "MB = 1e6 bytes; weights_<precision>_mb are the parameters alone stored in fp32 (4 bytes), bf16 or "
              "fp16 (2) or int8 (1, quantisation scales excluded); activations_mb is the inference peak of live "
              "fp32 activations; train_step_<precision>_mb = 4 fp32 copies of the weights (weights or master "
              "weights, gradients, Adam's two moments) + train_activations_<precision>_mb, what autograd saves for "
              "backward: fp32 = an fp32 forward; mixed = a torch.autocast bf16 or fp16 forward (the same bytes: "
              "16-bit activations and weight copies, fp32 BN statistics, int64 max-pool indices)",
    "counts": "per batch of batch_size images, except params",
}

METRICS = ("params", "trainable_params", "macs", "flops", "activations", "weights_fp32_mb", "weights_bf16_mb",
           "weights_fp16_mb", "weights_int8_mb", "activations_mb", "train_step_fp32_mb", "train_step_mixed_mb")
"""The headline numbers, in the order tables show them (also the comparison's metric columns)."""


@dataclass(frozen=True)
class Report:
    """The complexity of one design at one input size and batch size. Immutable (reports are cached);
    ``layers`` and ``stages`` return a fresh DataFrame on every access.

    Counts are for the whole batch, except ``params``: each is exactly ``batch_size`` times one image's.
    Memory is in MB (1e6 bytes), estimated as :mod:`arch_lab.analysis.memory` details: ``weights_*_mb``
    are the parameters alone in each storage precision; ``activations_mb`` is the peak of fp32 activations
    alive at once in a no-grad forward; ``train_step_fp32_mb`` and ``train_step_mixed_mb`` are weights +
    gradients + Adam's two moments (fp32) + ``train_activations_*_mb``, what autograd saves for the
    backward pass in an fp32 forward and under bf16/fp16 autocast (backward's own transient buffers
    excluded).
    """

    spec: ResNetSpec
    batch_size: int
    params: int
    trainable_params: int
    macs: int
    flops: int
    activations: int
    weights_fp32_mb: float
    weights_bf16_mb: float
    weights_fp16_mb: float
    weights_int8_mb: float
    activations_mb: float
    train_activations_fp32_mb: float
    train_activations_mixed_mb: float
    train_step_fp32_mb: float
    train_step_mixed_mb: float
    _plan: tuple[Layer, ...] = field(repr=False)
    _fields: tuple[tuple[str, Field], ...] = field(repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def input_size(self) -> tuple[int, int]:
        """(H, W) of the input images."""
        return self.spec.input_size  # type: ignore[return-value]

    @property
    def ops(self) -> dict[str, int]:
        """Per-operator counts in fvcore's convention (see :mod:`arch_lab.analysis.ops`)."""
        return fvcore_ops(self._plan, self.batch_size)

    def layer_records(self) -> list[dict[str, Any]]:
        return layer_records(self._plan, self.batch_size)

    def stage_records(self) -> list[dict[str, Any]]:
        return stage_records(self._plan, self.batch_size, dict(self._fields))

    @property
    def layers(self) -> pd.DataFrame:
        """A row per counted module: name, type, stage, input_shape, output_shape, kernel, stride,
        groups, params, macs."""
        return frame(self.layer_records(), LAYER_COLUMNS)

    @property
    def stages(self) -> pd.DataFrame:
        """A row for the stem, each stage and the head: output_shape, params, macs, their shares of the
        total (0..1), output_stride and receptive_field (pixels; none for the head)."""
        return frame(self.stage_records(), STAGE_COLUMNS)

    def metrics(self) -> dict[str, int | float]:
        """The headline numbers under their report key names."""
        return {key: getattr(self, key) for key in METRICS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the headline numbers, ops, stages and layers under the same key names."""
        def listed(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: list(v) if isinstance(v, tuple) else v for k, v in r.items()} for r in records]

        return {
            "name": self.name,
            "spec": self.spec.to_dict(),
            "input_size": list(self.input_size),
            "batch_size": self.batch_size,
            **self.metrics(),
            "train_activations_fp32_mb": self.train_activations_fp32_mb,
            "train_activations_mixed_mb": self.train_activations_mixed_mb,
            "ops": self.ops,
            "stages": listed(self.stage_records()),
            "layers": listed(self.layer_records()),
            "conventions": dict(CONVENTIONS),
        }


def analyse(spec: ResNetSpec, *, input_size: int | tuple[int, int] | None = None, batch_size: int = 1) -> Report:
    """The report of ``spec`` for ``batch_size`` images at ``input_size`` (default: the spec's own).

    Raises :class:`SpecError` for a bad input size or batch size and :class:`LimitError` for a design
    beyond the request limits (whose plan alone would be costly).
    """
    if not isinstance(spec, ResNetSpec):
        raise SpecError("spec", f"expected a ResNetSpec, got {type(spec).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise SpecError("batch_size", f"{batch_size!r} is not allowed; expected an integer >= 1")
    if input_size is not None:
        spec = spec.replace(input_size=list(input_size) if isinstance(input_size, (tuple, list)) else input_size)
    # keyed by the network: a design that differs only by name gets the cached report, renamed
    report = _REPORTS.get((spec.network(), batch_size), lambda: _analyse(spec, batch_size))
    return report if report.spec == spec else dataclasses.replace(report, spec=spec)


_REPORTS: WeightedLRU[Report] = WeightedLRU(CACHED_LAYERS, lambda report: len(report._plan))
"""Reports keyed by the network and batch size (not the name), weighed like the plans they hold."""


HEADLINE = ("params", "macs", "flops", "activations", "activations_mb")
"""The numbers :func:`headline` computes without naming a layer (what design-space sweeps rank on)."""


def headline(spec: ResNetSpec, batch_size: int = 1, limits: Limits | None = None) -> dict[str, int | float]:
    """:data:`HEADLINE` of ``spec`` from its counted blocks, after the request-limit check; ``analyse``
    reports these very numbers, and sweeps call this directly (tens of microseconds a design)."""
    counted = check_limits(spec, limits, batch_size=batch_size)
    return headline_numbers(counted, memory.inference_activation_elements(counted), batch_size)


def headline_numbers(counted: Counts, peak_elements: int, batch_size: int) -> dict[str, int | float]:
    """:data:`HEADLINE` from one image's counts and peak of live activation elements (the design-space
    explorer adds these up from a design's stages instead of counting the whole network)."""
    macs = batch_size * counted.macs
    peak = batch_size * peak_elements * memory.FP32_BYTES
    return {"params": counted.params, "macs": macs, "flops": 2 * macs,
            "activations": batch_size * counted.activations, "activations_mb": peak / MB}


def _analyse(spec: ResNetSpec, batch_size: int) -> Report:
    counted = check_limits(spec, batch_size=batch_size)
    numbers = headline_numbers(counted, memory.inference_activation_elements(counted), batch_size)
    params = numbers["params"]
    weights = {f"weights_{precision}_mb": params * size / MB for precision, size in memory.WEIGHT_BYTES.items()}
    training = {}
    for precision in memory.TRAINING:
        saved_bytes = memory.saved_for_backward(counted, precision).nbytes(batch_size)
        training[f"train_activations_{precision}_mb"] = saved_bytes / MB
        training[f"train_step_{precision}_mb"] = (memory.train_state_bytes(params) + saved_bytes) / MB
    return Report(
        spec=spec,
        batch_size=batch_size,
        trainable_params=params,  # every parameter of the built network trains
        **weights,
        **training,
        _plan=plan(spec),
        _fields=tuple(stage_fields(counted).items()),
        **numbers,
    )


def clear_cache() -> None:
    """Forget cached reports and plans (for cold-start timing)."""
    _REPORTS.clear()
    clear_plans()
