"""Counting an exploration's designs by their parts, each distinct stage once.

``sweep_metrics`` describes and walks the whole network of every design: about 20 µs to describe it and
30 µs to walk its blocks, most of a try. Designs drawn from one space share most of their stages, so the
:class:`PartsCounter` of one exploration keeps, for each stage it has seen, what the headline numbers need
(parameters, MACs, activations, the peak of live activations, the output shape), keyed by what decides
them: the network's shared fields (every field but the per-stage lists), the stage count, the stage's
index, its own per-stage entries and the shape entering it; likewise the stem and the head, by the shared
fields and the shape leaving the last stage. A design whose parts are all known is counted by adding
them up (a few µs); any other is counted by :func:`arch_lab.plan.count` and split into its parts for the
designs after it. Both give ``sweep_metrics``'s numbers (the tests hold them equal over every built-in
space and random ones), and both go through the same limit check.

This rests on :func:`arch_lab.network.describe` laying out a stage from the shared fields, the stage's own
entries and its input (the first block's input channels are the previous stage's output). A per-stage
field that :data:`~arch_lab.explore.space.PER_STAGE_FIELDS` does not list counts as shared, which is
exact, only less often reused.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any, NamedTuple

from arch_lab.analysis.memory import (
    ends_activation_elements,
    peak_of_parts,
    stage_activation_elements,
    stage_blocks,
)
from arch_lab.analysis.report import headline_numbers
from arch_lab.explore.space import PER_STAGE_FIELDS
from arch_lab.limits import Counts, Limits, check_counts
from arch_lab.network import describe
from arch_lab.plan import CountedBlock, count, count_stage
from arch_lab.spec import ResNetSpec

Shape = tuple[int, int, int]
NETWORK_FIELDS = tuple(f.name for f in dataclasses.fields(ResNetSpec) if f.name != "name")
STAGE_FIELDS = tuple(name for name in NETWORK_FIELDS if name in PER_STAGE_FIELDS)
SHARED_FIELDS = tuple(name for name in NETWORK_FIELDS if name not in PER_STAGE_FIELDS)
_stage_fields, _shared_fields = attrgetter(*STAGE_FIELDS), attrgetter(*SHARED_FIELDS)
network_of = attrgetter(*NETWORK_FIELDS)
"""``spec.network()`` (every field but the name, as one tuple) at C speed: the explorer's duplicate key."""
PER_STAGE = object()
"""Stands in the shared key for a per-stage field that is a list (its entries go into each stage's key)."""
MAX_PARTS = 200_000
"""Parts kept per exploration (~100 bytes each); past this the memo starts over, so memory stays bounded."""


class Part(NamedTuple):
    """A stage's (or the stem and head's) share of a design's counts; ``peak`` is its live activation
    elements as :mod:`arch_lab.analysis.memory` computes them (beside the input, for a stage)."""

    params: int
    macs: int
    activations: int
    peak: int
    layers: int = 0
    output_shape: Shape = (0, 0, 0)
    """Where the part ends (the stem's output, for the entry that records it)."""


class PartsCounter:
    """``metrics(spec)``: :func:`~arch_lab.analysis.sweep.sweep_metrics`'s numbers, from known parts when it can."""

    def __init__(self, batch_size: int = 1, limits: Limits | None = None) -> None:
        self.batch_size, self.limits = batch_size, limits or Limits()
        self._shared: dict[tuple[Any, ...], int] = {}
        self._ends: dict[tuple[int, Shape | None], Part] = {}
        self._stages: dict[tuple[Any, ...], Part] = {}
        self.stages_counted = 0
        """Stages counted block by block (the others were known)."""

    def metrics(self, spec: ResNetSpec) -> dict[str, int | float]:
        """The headline numbers of ``spec``; :class:`~arch_lab.errors.LimitError` beyond the limits."""
        if len(self._stages) > MAX_PARTS:
            for memo in (self._shared, self._stages, self._ends):
                memo.clear()
        per_stage = _stage_fields(spec)
        entries = list(zip(*(value for value in per_stage if isinstance(value, tuple)), strict=True))  # per stage
        shared = (len(entries), _shared_fields(spec),
                  *(PER_STAGE if isinstance(value, tuple) else value for value in per_stage))
        sid = self._shared.setdefault(shared, len(self._shared))
        stem = self._ends.get((sid, None))  # the stem's output shape, once a design of these fields was counted
        if stem is None:
            return self._whole(spec, sid, entries)
        shape, network = stem.output_shape, None
        params = macs = activations = layers = 0
        peaks = []
        for i, own in enumerate(entries):
            key = (sid, i, own, shape)
            part = self._stages.get(key)
            if part is None:
                network = network or describe(spec)
                part = self._stages[key] = self._stage(count_stage(network.stages[i], shape))
            params, macs, activations = params + part.params, macs + part.macs, activations + part.activations
            layers += part.layers
            peaks.append(part.peak)
            shape = part.output_shape
        ends = self._ends.get((sid, shape))
        if ends is None:
            return self._whole(spec, sid, entries)
        counted = Part(params + ends.params, macs + ends.macs, activations + ends.activations, 0,
                       layers + ends.layers)
        return self._numbers(counted, peak_of_parts(spec_image(spec), ends.peak, peaks))

    def _whole(self, spec: ResNetSpec, sid: int, entries: list[tuple[Any, ...]]) -> dict[str, int | float]:
        """Count ``spec`` whole and remember its parts: its stem's output shape, each stage, the stem and head."""
        net = count(spec)
        stages = stage_blocks(net)
        self._ends[(sid, None)] = Part(0, 0, 0, 0, 0, stages[0][0].input_shape)
        parts = []
        for i, (own, blocks) in enumerate(zip(entries, stages, strict=True)):
            parts.append(self._stage(blocks))
            self._stages[(sid, i, own, blocks[0].input_shape)] = parts[-1]
        ends = Part(net.params - sum(part.params for part in parts), net.macs - sum(part.macs for part in parts),
                    net.activations - sum(part.activations for part in parts), ends_activation_elements(net),
                    net.layers - sum(part.layers for part in parts))
        self._ends[(sid, stages[-1][-1].output_shape)] = ends
        return self._numbers(net, peak_of_parts(spec_image(spec), ends.peak, (part.peak for part in parts)))

    def _stage(self, blocks: list[CountedBlock]) -> Part:
        self.stages_counted += 1
        return Part(sum(block.params for block in blocks), sum(block.macs for block in blocks),
                    sum(block.activations for block in blocks), stage_activation_elements(blocks),
                    sum(len(block.layers) for block in blocks), blocks[-1].output_shape)

    def _numbers(self, counted: Counts, peak: int) -> dict[str, int | float]:
        check_counts(counted, self.limits, self.batch_size)
        return headline_numbers(counted, peak, self.batch_size)


def spec_image(spec: ResNetSpec) -> int:
    """Elements of one input image."""
    return spec.in_channels * spec.input_size[0] * spec.input_size[1]  # type: ignore[index]
