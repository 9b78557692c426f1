"""A design space as data: a base design plus a sampler for each field that varies.

A hand-written space is hostile input like a hand-written spec: :func:`parse_space` checks every key and
bound before anything is sampled, and every error is a :class:`SpecError` naming the path in the file
(``space.fields.depths.range``) and what is allowed. Unknown keys are errors, so a typo never silently
leaves a field fixed.

Per-stage fields (``depths``, ``widths``, ...) take ``"per_stage": true`` to sample every stage on its own;
otherwise one value is drawn and shared by all stages (or a whole per-stage list is chosen from
``choices``). The stage count is the base design's.

A RegNet space samples the generator's parameters instead (``"regnet": {"depth": ..., "w0": ..., "wa": ...,
"wm": ..., "group_width": ..., "bottleneck_ratio": ..., "se_ratio": ..., "rounding": ...}``, the last three
optional; ``rounding`` is torchvision's or the paper's, see :func:`arch_lab.regnet`):
each design is :func:`arch_lab.regnet` of the drawn values, with the base's stem width, classes and
input size, then any ``fields`` on top; the stage count is whatever the generator makes.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.explore.dimensions import Dimension, parse_dimension
from arch_lab.presets import load_preset
from arch_lab.regnet import adjust_widths_groups, regnet
from arch_lab.spec import ResNetSpec

SPEC_FIELDS = tuple(f.name for f in dataclasses.fields(ResNetSpec))
SAMPLED_FIELDS = tuple(name for name in SPEC_FIELDS if name != "name")
"""Fields a space may vary (the name of each sampled design is given by the explorer)."""
PER_STAGE_FIELDS = frozenset({"depths", "widths", "strides", "block", "group_width", "bottleneck_ratio"}
                              & set(SPEC_FIELDS))
"""Fields holding one value per stage: these take ``per_stage`` and broadcast a shared scalar."""
SPACE_KEYS = ("name", "description", "source", "base", "fields", "regnet", "constraints", "compatible_widths")
MAX_SPACE_NAME = 40
"""Leaves room for the ``-<index>`` suffix of design names within a spec name's 60 characters."""
MAX_TEXT = 2_000
MAX_CONSTRAINTS = 16
REGNET_KEYS = ("depth", "w0", "wa", "wm", "group_width", "bottleneck_ratio", "se_ratio", "rounding")
REGNET_REQUIRED = REGNET_KEYS[:5]
REGNET = "regnet."
"""Prefix of the sampled generator parameters among a draw's values (``regnet.w0``)."""
MAX_GRID = 100_000
"""Largest full grid :meth:`Space.grid` enumerates; a bigger one is refused with its size."""


@dataclass(frozen=True)
class FieldSampler:
    """How one spec field is sampled."""

    field: str
    dimension: Dimension
    per_stage: bool

    def options(self, stages: int) -> Iterator[Any]:
        """Every value this field can take (the per-stage product when ``per_stage``)."""
        if self.per_stage:
            return (list(combo) for combo in itertools.product(self.dimension.grid(), repeat=stages))
        return (self._shared(value, stages) for value in self.dimension.grid())

    def count(self, stages: int) -> int:
        return self.dimension.size ** stages if self.per_stage else self.dimension.size

    def draw(self, rng: random.Random, stages: int) -> Any:
        if self.per_stage:
            return [self.dimension.draw(rng) for _ in range(stages)]
        return self._shared(self.dimension.draw(rng), stages)

    def suggest(self, trial: Any, stages: int) -> Any:
        if self.per_stage:
            return [self.dimension.suggest(trial, f"{self.field}[{i}]") for i in range(stages)]
        return self._shared(self.dimension.suggest(trial, self.field), stages)

    def _shared(self, value: Any, stages: int) -> Any:
        if isinstance(value, tuple):
            return list(value)
        return [value] * stages if self.field in PER_STAGE_FIELDS else value


@dataclass(frozen=True)
class Space:
    """A base design and the samplers of the fields that vary; ``constraints`` are the space's own
    (e.g. a compute regime), applied on top of any given to :func:`~arch_lab.explore.explore`."""

    name: str
    base: ResNetSpec
    fields: tuple[FieldSampler, ...]
    constraints: tuple[str, ...] = ()
    description: str = ""
    compatible_widths: bool = False
    """Round res_bottleneck stages' widths and group widths to fit each other before building (RegNet's
    adjustment, which pycls's AnyNet samplers apply too), instead of rejecting the draws that do not."""
    _base_fields: dict[str, Any] = dataclasses.field(init=False, repr=False, compare=False)

    @property
    def stages(self) -> int:
        return self.base.num_stages

    def draw(self, rng: random.Random) -> dict[str, Any]:
        """Seeded uniform random values of the varied fields."""
        return {sampler.field: sampler.draw(rng, self.stages) for sampler in self.fields}

    def suggest(self, trial: Any) -> dict[str, Any]:
        """The values an Optuna trial picks (parameter names are the fields, ``depths[2]`` per stage)."""
        return {sampler.field: sampler.suggest(trial, self.stages) for sampler in self.fields}

    def blocks(self, values: dict[str, Any]) -> int:
        """How many blocks the design of ``values`` has, read off the draw before it is built: what bounds the
        cost of counting it (0 when the draw's depths are not integers, which validation then refuses)."""
        depths = values.get(REGNET + "depth", values.get("depths", self.base.depths))
        if isinstance(depths, int):
            return depths
        if not isinstance(depths, (list, tuple)) or not all(isinstance(depth, int) for depth in depths):
            return 0
        return sum(depths)

    def grid_size(self) -> int:
        return math.prod(sampler.count(self.stages) for sampler in self.fields)

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every combination of values; :class:`SpecError` when there are more than :data:`MAX_GRID`."""
        size = self.grid_size()
        if size > MAX_GRID:
            raise SpecError("method", f"the full grid of space {self.name!r} has {size:,} designs, more than the "
                                      f"{MAX_GRID:,} allowed; narrow the space or use random sampling")
        names = [sampler.field for sampler in self.fields]
        for combo in itertools.product(*(list(sampler.options(self.stages)) for sampler in self.fields)):
            yield dict(zip(names, combo, strict=True))

    def build(self, values: dict[str, Any], name: str) -> ResNetSpec:
        """The design of the base with ``values`` applied (after the RegNet generator, in a RegNet space);
        :class:`SpecError` when it is invalid."""
        params = {key[len(REGNET):]: value for key, value in values.items() if key.startswith(REGNET)}
        if not params:
            fields = {**self._base_fields, **values, "name": name}
            return ResNetSpec(**(_compatible(fields) if self.compatible_widths else fields))
        base = self.base
        generated = regnet(**params, name=name, stem_width=base.stem_width, num_classes=base.num_classes,
                           input_size=base.input_size)  # type: ignore[arg-type]
        fields = {key: value for key, value in values.items() if not key.startswith(REGNET)}
        return ResNetSpec(**{**generated.to_dict(), "in_channels": base.in_channels, **fields, "name": name})

    def __post_init__(self) -> None:
        # kept so that building a design merges two dicts instead of re-serialising the base every time
        object.__setattr__(self, "_base_fields", self.base.to_dict())


def parse_space(data: Any, where: str = "space") -> Space:
    """Validate a hand-written space (see the module docstring for the format)."""
    if not isinstance(data, dict):
        raise SpecError(where, f"expected a JSON object with keys {', '.join(SPACE_KEYS)}")
    unknown = sorted(str(key) for key in data if key not in SPACE_KEYS)
    if unknown:
        raise SpecError(f"{where}.{unknown[0][:40]}", f"unknown key; allowed keys are {', '.join(SPACE_KEYS)}")
    name = _text(data.get("name", "space"), f"{where}.name", MAX_SPACE_NAME)
    if not name:
        raise SpecError(f"{where}.name", "must not be empty")
    description = _text(data.get("description", ""), f"{where}.description", MAX_TEXT)
    _text(data.get("source", ""), f"{where}.source", MAX_TEXT)
    base = _base(data.get("base", "resnet50"), f"{where}.base")
    generator = _regnet(data["regnet"], f"{where}.regnet") if "regnet" in data else ()
    fields = _fields(data.get("fields"), f"{where}.fields", required=not generator) + generator
    constraints = data.get("constraints", [])
    if not isinstance(constraints, list) or len(constraints) > MAX_CONSTRAINTS:
        raise SpecError(f"{where}.constraints", f"expected a list of at most {MAX_CONSTRAINTS} texts such as "
                                                "\"macs<=4e9\"")
    texts = tuple(_text(c, f"{where}.constraints[{i}]", 200) for i, c in enumerate(constraints))
    compatible = data.get("compatible_widths", False)
    if not isinstance(compatible, bool):
        raise SpecError(f"{where}.compatible_widths", "expected true or false")
    return Space(name=name, base=base, fields=fields, constraints=texts, description=description,
                 compatible_widths=compatible)


def _text(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit or not value.isprintable():
        raise SpecError(where, f"expected printable text of at most {limit:,} characters")
    return value


def _base(value: Any, where: str) -> ResNetSpec:
    try:
        return load_preset(value) if isinstance(value, str) else ResNetSpec.from_dict(value)
    except SpecError as exc:
        raise SpecError(f"{where}.{exc.field}", str(exc).split(": ", 1)[-1]) from None


def _compatible(fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with every stage's width and group width adjusted as :func:`adjust_widths_groups` does
    (when all stages are res_bottleneck with a group width; anything else is left for validation)."""
    stages = len(fields["depths"])
    ratios, group_widths = fields["bottleneck_ratio"], fields["group_width"]
    ratios = ratios if isinstance(ratios, (list, tuple)) else [ratios] * stages
    group_widths = group_widths if isinstance(group_widths, (list, tuple)) else [group_widths] * stages
    if fields["block"] != "res_bottleneck" or None in group_widths or len(ratios) != stages:
        return fields
    widths, groups = adjust_widths_groups(fields["widths"], ratios, group_widths)
    return {**fields, "widths": widths, "group_width": groups}


def _regnet(value: Any, where: str) -> tuple[FieldSampler, ...]:
    """Samplers of the RegNet generator's parameters (one value each for the whole network)."""
    if not isinstance(value, dict):
        raise SpecError(where, f"expected an object with samplers for {', '.join(REGNET_REQUIRED)} (and optionally "
                               "bottleneck_ratio, se_ratio)")
    unknown = sorted(str(key) for key in value if key not in REGNET_KEYS)
    if unknown:
        raise SpecError(f"{where}.{unknown[0][:40]}", f"not a RegNet parameter; allowed: {', '.join(REGNET_KEYS)}")
    missing = [key for key in REGNET_REQUIRED if key not in value]
    if missing:
        raise SpecError(f"{where}.{missing[0]}", "missing; a RegNet space samples depth, w0, wa, wm and group_width")
    return tuple(FieldSampler(REGNET + key, parse_dimension(sampler, f"{where}.{key}", False)[0], False)
                 for key, sampler in value.items())


def _fields(value: Any, where: str, required: bool = True) -> tuple[FieldSampler, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, dict) or not value:
        raise SpecError(where, "expected an object mapping at least one field to a sampler, e.g. "
                               "{\"depths\": {\"range\": [1, 8], \"per_stage\": true}}")
    samplers = []
    for field, sampler in value.items():
        if field not in SAMPLED_FIELDS:
            raise SpecError(f"{where}.{str(field)[:40]}", f"not a field a space can vary; allowed: "
                                                          f"{', '.join(SAMPLED_FIELDS)}")
        dimension, per_stage = parse_dimension(sampler, f"{where}.{field}", field in PER_STAGE_FIELDS)
        samplers.append(FieldSampler(field, dimension, per_stage))
    return tuple(samplers)
