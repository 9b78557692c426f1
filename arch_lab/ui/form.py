"""The design editor's fields <-> a spec: pure functions, so the parsing is unit-tested without a browser.

The form shows per-stage lists as comma-separated text ("2, 2, 2, 2") and the input size as height and
width. RegNet's ``group_width`` is such a list with ``-`` for a stage that has none (the spec's ``null``: a
stage that is not ``res_bottleneck``), or empty when no stage has one; ``bottleneck_ratio`` is one number or
one per stage. Parsing raises :class:`SpecError` naming the field, exactly like the spec's own validation, so the
editor can show one kind of message whatever went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec

FAMILY_FIELDS = (
    "stem_pool", "attention", "se_divisor", "anti_alias", "norm", "norm_groups", "norm_group_width", "activation",
    "weight_standardization", "preact", "shortcut_kernel", "reduce_first", "linear_out", "head_width", "radix", "avd",
    "scales", "sk_ratio", "sk_divisor", "sk_split_input",
)
"""The timm-family fields, shown together in the editor."""
FORM_FIELDS = (
    "name", "block", "stem", "shortcut", "depths", "widths", "strides", "groups", "width_per_group",
    "group_width", "bottleneck_ratio", "stem_width", "se_ratio", "input_height", "input_width", "in_channels",
    "num_classes", "conv_bias", "zero_init_residual", *FAMILY_FIELDS,
)
"""The editor's widgets, in the order the UI passes their values."""
OPTIONAL_FIELDS = ("stem_pool", "attention", "norm_groups", "norm_group_width", "head_width")
"""Fields whose ``null`` the form shows as an empty box or the "(default)" choice ``""``."""
LIST_FIELDS = ("depths", "widths", "strides")
NO_GROUP_WIDTH = "-"
"""How the form writes a stage without a group width (``null`` and ``none`` are read as it too)."""
MAX_FIELD_CHARS = 400
"""Longest text a field may hold (16 stages of 5-digit numbers fit several times over)."""


def join_list(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def split_list(text: Any) -> list[str]:
    """Items of a comma (or space) separated list, e.g. ``"2, 2,3 2"`` -> ``["2", "2", "3", "2"]``."""
    return [item for item in re.split(r"[,\s]+", str(text or "").strip()) if item]


def parse_int_list(field: str, text: Any) -> list[int]:
    items = split_list(text)
    if not items:
        raise SpecError(field, "is empty; write one integer per stage, separated by commas, e.g. 2, 2, 2, 2")
    values = []
    for i, item in enumerate(items):
        try:
            values.append(int(item))
        except ValueError:
            raise SpecError(f"{field}[{i}]", f"{item[:20]!r} is not an integer; write one integer per stage, "
                                             "separated by commas, e.g. 2, 2, 2, 2") from None
    return values


def parse_group_width(text: Any) -> int | list[int | None] | None:
    """Empty: no group widths; one integer: every stage's; else one per stage, ``-`` where there is none."""
    items = split_list(text)
    values: list[int | None] = []
    for i, item in enumerate(items):
        if item.lower() in (NO_GROUP_WIDTH, "null", "none"):
            values.append(None)
            continue
        try:
            values.append(int(item))
        except ValueError:
            raise SpecError(f"group_width[{i}]", f"{item[:20]!r} is not an integer or {NO_GROUP_WIDTH}; write channels "
                                                 f"per group for each stage, {NO_GROUP_WIDTH} for stages without, "
                                                 "e.g. 16, 16, -, - (or leave it empty)") from None
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def parse_ratios(text: Any) -> float | list[float]:
    """``bottleneck_ratio``: one number for every stage, or one per stage."""
    items = split_list(text)
    if not items:
        raise SpecError("bottleneck_ratio", "is empty; write one number (1 = no bottleneck) or one per stage, "
                                            "e.g. 0.25, 0.25, 1, 1")
    values = []
    for i, item in enumerate(items):
        try:
            values.append(float(item))
        except ValueError:
            name = "bottleneck_ratio" if len(items) == 1 else f"bottleneck_ratio[{i}]"
            raise SpecError(name, f"{item[:20]!r} is not a number; write one number or one per stage, "
                                  "e.g. 0.25, 0.25, 1, 1") from None
    return values[0] if len(values) == 1 else values


def parse_block(text: Any) -> str | list[str]:
    """One block type for every stage (``"basic"``) or one per stage (``"basic, bottleneck, ..."``)."""
    items = split_list(text)
    return items[0] if len(items) == 1 else items


def spec_to_form(spec: ResNetSpec) -> dict[str, Any]:
    """The editor's value for each field in :data:`FORM_FIELDS`."""
    height, width = spec.input_size  # type: ignore[misc]
    block = spec.block if isinstance(spec.block, str) else join_list(spec.block)
    ratio = spec.bottleneck_ratio
    return {
        "name": spec.name, "block": block, "stem": spec.stem, "shortcut": spec.shortcut,
        "depths": join_list(spec.depths), "widths": join_list(spec.widths or ()),
        "strides": join_list(spec.strides or ()), "groups": spec.groups, "width_per_group": spec.width_per_group,
        "group_width": join_list(NO_GROUP_WIDTH if w is None else w for w in spec.group_width or ()),
        "bottleneck_ratio": join_list(ratio if isinstance(ratio, tuple) else (ratio,)),
        "stem_width": spec.stem_width, "se_ratio": spec.se_ratio, "input_height": height, "input_width": width,
        "in_channels": spec.in_channels, "num_classes": spec.num_classes, "conv_bias": spec.conv_bias,
        "zero_init_residual": spec.zero_init_residual,
        **{key: getattr(spec, key) for key in FAMILY_FIELDS},
        **{key: "" for key in ("stem_pool", "attention") if getattr(spec, key) is None},
    }


def form_to_spec(values: Mapping[str, Any]) -> ResNetSpec:
    """A validated spec from the editor's values; the first bad field raises :class:`SpecError`.

    Text longer than :data:`MAX_FIELD_CHARS` is refused before it is parsed (the widgets cap it too, but any
    script can send the event)."""
    for key in FORM_FIELDS:
        if isinstance(values[key], str) and len(values[key]) > MAX_FIELD_CHARS:
            raise SpecError(key, f"{len(values[key]):,} characters is too long; at most {MAX_FIELD_CHARS}")
    parsed = {"block": parse_block, "group_width": parse_group_width, "bottleneck_ratio": parse_ratios}
    data = {key: values[key] for key in FORM_FIELDS if key not in LIST_FIELDS and not key.startswith("input_")}
    data |= {key: parse(values[key]) for key, parse in parsed.items()}
    data |= {key: None for key in OPTIONAL_FIELDS if values[key] in ("", None)}
    for key in LIST_FIELDS:
        data[key] = parse_int_list(key, values[key])
    height, width = values["input_height"], values["input_width"]
    data["input_size"] = height if height == width else [height, width]
    return ResNetSpec.from_dict(data)
