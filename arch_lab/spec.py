"""The design spec: pure data describing a ResNet-family network, with validation and JSON round-trip.

The spec knows nothing of torch. Its field names are the public, hand-written JSON format, so they are
kept stable; every invalid value raises :class:`SpecError` naming the field, the value and what is allowed,
before anything is built. Defaults are resolved on construction (``widths``, ``strides``) so two specs that
describe the same network compare equal and hash the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import reprlib
import stat
from dataclasses import dataclass
from math import prod
from pathlib import Path
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.network import (
    ACTIVATIONS,
    ANTI_ALIAS,
    ATTENTION,
    AVD,
    BLOCKS,
    DEFAULT_POOL,
    NORMS,
    SHORTCUTS,
    STEM_POOLS,
    STEMS,
    attention_kind,
    split_attention_channels,
    stem_halvings,
    stem_pool_kind,
    style_of,
)

STRIDES = (1, 2)
MAX_BOTTLENECK_RATIO = 16.0
SHORTCUT_KERNELS = (1, 3)
MAX_RADIX = 8
MAX_SCALES = 16
MAX_REDUCE_FIRST = 64

# Bounds on every value, checked before any arithmetic, so a request's cost is bounded by its size. They are
# far beyond any real ResNet (the request limits in :mod:`arch_lab.limits` refuse big designs long before).
MAX_NAME_CHARS = 60
MAX_STAGES = 16
MAX_DEPTH = 1_000
MAX_CHANNELS = 65_536
"""Upper bound of widths, groups, width_per_group, stem_width and in_channels."""
MAX_CLASSES = 1_000_000
MAX_SIDE = 8_192
"""Largest input height or width."""
MAX_JSON_CHARS = 1_000_000
"""Longest JSON text parsed (a 16-design set with its reports is about 1 MB)."""
MAX_FILE_BYTES = 1_048_576
"""Largest spec or design-set file read (the app's upload cap is the same 1 MB)."""


def downsample(size: int, floor: bool = False) -> int:
    """Side after a stride-2 step: rounded up by a 3x3/pad 1 conv, a 7x7/pad 3 conv, a 3x3/pad 1 pool or a
    ceil-mode 2x2 pool; rounded down (``floor``) by an un-padded 2x2 average pool (timm's ``avg``
    anti-aliasing)."""
    return size // 2 if floor else (size - 1) // 2 + 1


@dataclass(frozen=True)
class ResNetSpec:
    """A ResNet-family design. Construct directly or with :meth:`from_dict`; both validate.

    ``block`` is one name for all stages or a tuple per stage; it is stored as a plain string when all
    stages agree, so ``"basic"`` and ``["basic"] * 4`` give equal specs (``bottleneck_ratio`` likewise).

    RegNet/AnyNet (``block="res_bottleneck"``): ``widths[i]`` is the stage's output width, its 3x3 convs
    are ``round(widths[i] * bottleneck_ratio[i])`` wide in groups of ``group_width[i]`` channels (``None``:
    one group), and SE sits after the 3x3, its width taken from the block's input. ``groups`` and
    ``width_per_group`` are torchvision's knobs for ``bottleneck`` stages (and for ResNeSt's, Res2Net's and
    SKNet's bottlenecks); ``group_width`` and ``bottleneck_ratio`` apply to ``res_bottleneck`` stages only.

    The fields after ``bottleneck_ratio`` speak timm's ResNet family (the README's spec table). One that
    applies to some designs only must keep its default elsewhere, so one network has one spec.
    """

    name: str = "custom"
    block: str | tuple[str, ...] = "basic"
    depths: tuple[int, ...] = (2, 2, 2, 2)
    widths: tuple[int, ...] | None = None
    strides: tuple[int, ...] | None = None
    groups: int = 1
    width_per_group: int = 64
    stem: str = "classic"
    stem_width: int = 64
    shortcut: str = "projection"
    conv_bias: bool = False
    se_ratio: float = 0.0
    zero_init_residual: bool = False
    in_channels: int = 3
    num_classes: int = 1000
    input_size: int | tuple[int, int] = (224, 224)
    group_width: int | tuple[int | None, ...] | None = None
    bottleneck_ratio: float | tuple[float, ...] = 1.0
    stem_pool: str | None = None
    attention: str | None = None
    se_divisor: int = 1
    anti_alias: str = "none"
    norm: str = "batchnorm"
    norm_groups: int | None = None
    norm_group_width: int | None = None
    activation: str = "relu"
    weight_standardization: bool = False
    preact: bool = False
    shortcut_kernel: int = 1
    reduce_first: int = 1
    linear_out: bool = False
    head_width: int | None = None
    radix: int = 2
    avd: str = "none"
    scales: int = 4
    sk_ratio: float = 0.0625
    sk_divisor: int = 8
    sk_split_input: bool = True

    def __post_init__(self) -> None:
        for name, value in _validated(self).items():
            object.__setattr__(self, name, value)
        if self.norm == "groupnorm" or self.weight_standardization:
            _check_counted(self)

    # ----------------------------------------------------------------------------------------------
    # Derived facts, used by the builder and the analysers
    # ----------------------------------------------------------------------------------------------
    @property
    def pool(self) -> str:
        """The stem's pool: ``stem_pool``, or the stem's own when that is None."""
        return stem_pool_kind(self)

    @property
    def attention_kind(self) -> str:
        """``"se"`` (``se_ratio > 0``), ``"eca"`` or ``"none"``."""
        return attention_kind(self)

    @property
    def num_stages(self) -> int:
        return len(self.depths)

    @property
    def stage_blocks(self) -> tuple[str, ...]:
        """The block type of every stage."""
        if isinstance(self.block, str):
            return (self.block,) * self.num_stages
        return self.block

    def stage_out_channels(self, stage: int) -> int:
        return self.widths[stage] * BLOCKS[self.stage_blocks[stage]].expansion  # type: ignore[index]

    def stage_inner_width(self, stage: int) -> int:
        """Channels of the stage's 3x3 convs: torchvision's ``int(planes * wpg / 64) * groups`` for
        bottlenecks, ``round(width * bottleneck_ratio)`` for RegNet's blocks."""
        planes = self.widths[stage]  # type: ignore[index]
        grouped = BLOCKS[self.stage_blocks[stage]].grouped
        if grouped == "regnet":
            return int(round(planes * self.stage_bottleneck_ratios[stage]))
        if grouped == "none":
            return planes
        return int(planes * (self.width_per_group / 64.0)) * self.groups

    def stage_groups(self, stage: int) -> int:
        """Groups of the stage's 3x3 convs."""
        grouped = BLOCKS[self.stage_blocks[stage]].grouped
        if grouped == "resnext":
            return self.groups
        width = self.group_width[stage] if self.group_width is not None else None  # type: ignore[index]
        return self.stage_inner_width(stage) // width if grouped == "regnet" and width else 1

    @property
    def stage_bottleneck_ratios(self) -> tuple[float, ...]:
        ratio = self.bottleneck_ratio
        return (ratio,) * self.num_stages if isinstance(ratio, float) else ratio  # type: ignore[return-value]

    @property
    def num_blocks(self) -> int:
        return sum(self.depths)

    def key(self) -> str:
        """A short stable hash of the network (the free-text ``name`` excluded), for caches."""
        body = self.to_dict()
        body.pop("name")
        text = json.dumps(body, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def network(self) -> tuple[Any, ...]:
        """Every field but the free-text name, as a hashable tuple: what caches key on, so designs that
        differ only by name share one entry (and names cost no memory)."""
        return tuple(getattr(self, name) for name in _NETWORK_FIELDS)

    def replace(self, **changes: Any) -> ResNetSpec:
        """A copy with some fields changed, validated again."""
        return ResNetSpec.from_dict({**self.to_dict(), **changes})

    # ----------------------------------------------------------------------------------------------
    # JSON
    # ----------------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; ``input_size`` is an int when square, else ``[H, W]``."""
        out: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        height, width = self.input_size  # type: ignore[misc]
        out["input_size"] = height if height == width else [height, width]
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> ResNetSpec:
        """Validate hand-written data. Unknown keys are an error: a typo must not fall back to a default."""
        if not isinstance(data, dict):
            raise SpecError("spec", f"expected a JSON object of fields, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(unknown[0], f"unknown field; allowed fields are {', '.join(sorted(known))}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str, source: str = "spec") -> ResNetSpec:
        return cls.from_dict(parse_json(text, source))


_FIELDS = tuple(f.name for f in dataclasses.fields(ResNetSpec))
_NETWORK_FIELDS = tuple(name for name in _FIELDS if name != "name")


def parse_json(text: str, source: str, max_chars: int = MAX_JSON_CHARS) -> Any:
    """``json.loads`` of at most ``max_chars`` characters, whose every failure is a :class:`SpecError`
    saying where the text is malformed, or which bound it breaks (nesting depth, digits of a number)."""
    if not isinstance(text, str):
        raise SpecError(source, f"expected JSON text, got {type(text).__name__}")
    if len(text) > max_chars:
        raise SpecError(source, f"{len(text):,} characters is too long; at most {max_chars:,}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(source, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise SpecError(source, "JSON nested too deeply; a spec needs at most 3 levels") from None
    except ValueError as exc:  # Python's int parsing refuses more than 4,300 digits
        raise SpecError(source, f"a number in the JSON is too long ({exc}); numbers in a spec have a few "
                                "digits") from None


def read_text_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES, shown: str | None = None) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``, checked before it is opened: a FIFO, a
    device (``/dev/zero``) or a huge file is refused at once instead of hanging or filling memory.
    Messages name the file ``shown`` (default: its path; the app gives an upload's own name, never where
    the server keeps it)."""
    path = Path(path)
    if shown is None:
        shown = str(path) if len(str(path)) <= 200 else f"{str(path)[:200]}…"
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("file", f"{shown} is not a regular file; give a JSON file")
        if info.st_size > max_bytes:
            raise SpecError("file", f"{shown} is {info.st_size:,} bytes; at most {max_bytes:,}")
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise SpecError("file", f"cannot read {shown}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # it grew after the check
        raise SpecError("file", f"{shown} is over {max_bytes:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError("file", f"{shown} is not UTF-8 text (byte {exc.start})") from None


def load_spec_file(path: str | Path) -> ResNetSpec:
    data = parse_json(read_text_file(path), str(path)[:200])
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "source"}
    return ResNetSpec.from_dict(data)


# --------------------------------------------------------------------------------------------------
# Validation: one small checker per kind of value, each naming the field and what is allowed
# --------------------------------------------------------------------------------------------------
def _validated(spec: ResNetSpec) -> dict[str, Any]:
    """The canonical value of every field, or a SpecError for the first bad one."""
    name = _name(spec.name)
    if isinstance(spec.depths, (list, tuple)) and len(spec.depths) > MAX_STAGES:
        raise SpecError("depths", f"{len(spec.depths):,} stages is too many; at most {MAX_STAGES}")
    depths = _int_list("depths", spec.depths, None, 1, MAX_DEPTH)
    n = len(depths)
    if n == 0:
        raise SpecError("depths", "must list at least one stage, e.g. [2, 2, 2, 2]")
    block = _block(spec.block, n)
    widths = tuple(64 * 2**i for i in range(n)) if spec.widths is None else _int_list(
        "widths", spec.widths, n, 1, MAX_CHANNELS)
    strides = tuple(1 if i == 0 else 2 for i in range(n)) if spec.strides is None else _int_list(
        "strides", spec.strides, n, 1, MAX_SIDE)
    for s in strides:
        if s not in STRIDES:
            raise SpecError("strides", f"{s} is not allowed; each stage's stride must be 1 or 2")
    groups = _int("groups", spec.groups, 1, MAX_CHANNELS)
    width_per_group = _int("width_per_group", spec.width_per_group, 1, MAX_CHANNELS)
    stem = _choice("stem", spec.stem, tuple(STEMS))
    stem_width = _int("stem_width", spec.stem_width, 1, MAX_CHANNELS)
    if stem == "deep" and stem_width < 2:
        raise SpecError("stem_width", f"{stem_width} is too small: the deep stem's first convs use half of it, "
                                      "so it must be >= 2")
    if stem == "deep_tiered" and stem_width < 8:
        raise SpecError("stem_width", f"{stem_width} is too small: the tiered stem's first conv has 3 * "
                                      "(stem_width / 2 // 4) channels, so it must be >= 8")
    se_ratio = _number("se_ratio", spec.se_ratio, 0.0, 1.0)
    values = {
        "name": name,
        "block": block,
        "depths": depths,
        "widths": widths,
        "strides": strides,
        "groups": groups,
        "width_per_group": width_per_group,
        "stem": stem,
        "stem_width": stem_width,
        "shortcut": _choice("shortcut", spec.shortcut, tuple(SHORTCUTS)),
        "conv_bias": _bool("conv_bias", spec.conv_bias),
        "se_ratio": se_ratio,
        "zero_init_residual": _bool("zero_init_residual", spec.zero_init_residual),
        "in_channels": _int("in_channels", spec.in_channels, 1, MAX_CHANNELS),
        "num_classes": _int("num_classes", spec.num_classes, 1, MAX_CLASSES),
        "input_size": _input_size(spec.input_size),
        "group_width": _group_width(spec.group_width, n),
        "bottleneck_ratio": _ratios(spec.bottleneck_ratio, n),
        "stem_pool": _stem_pool(spec.stem_pool, stem),
        "attention": _attention(spec.attention, se_ratio),
        "se_divisor": _int("se_divisor", spec.se_divisor, 1, MAX_CHANNELS),
        "anti_alias": _choice("anti_alias", spec.anti_alias, ANTI_ALIAS),
        "norm": _choice("norm", spec.norm, NORMS),
        "norm_groups": _optional_int("norm_groups", spec.norm_groups),
        "norm_group_width": _optional_int("norm_group_width", spec.norm_group_width),
        "activation": _choice("activation", spec.activation, ACTIVATIONS),
        "weight_standardization": _bool("weight_standardization", spec.weight_standardization),
        "preact": _bool("preact", spec.preact),
        "shortcut_kernel": _int_choice("shortcut_kernel", spec.shortcut_kernel, SHORTCUT_KERNELS),
        "reduce_first": _int("reduce_first", spec.reduce_first, 1, MAX_REDUCE_FIRST),
        "linear_out": _bool("linear_out", spec.linear_out),
        "head_width": _optional_int("head_width", spec.head_width),
        "radix": _int("radix", spec.radix, 1, MAX_RADIX),
        "avd": _choice("avd", spec.avd, AVD),
        "scales": _int("scales", spec.scales, 2, MAX_SCALES),
        "sk_ratio": _ratio("sk_ratio", spec.sk_ratio, 1.0),
        "sk_divisor": _int("sk_divisor", spec.sk_divisor, 1, MAX_CHANNELS),
        "sk_split_input": _bool("sk_split_input", spec.sk_split_input),
    }
    _check_stages(values)
    return values


def _check_stages(v: dict[str, Any]) -> None:
    """Cross-field rules: groups on basic blocks, bottleneck inner width, RegNet fields, the timm-family
    fields, zero-pad shortcuts, input size."""
    blocks = (v["block"],) * len(v["depths"]) if isinstance(v["block"], str) else v["block"]
    _check_regnet_fields(v, blocks)
    for i, (kind, planes) in enumerate(zip(blocks, v["widths"], strict=True)):
        grouped = BLOCKS[kind].grouped
        if grouped == "none" and (v["groups"] != 1 or v["width_per_group"] != 64):
            raise SpecError(
                "groups" if v["groups"] != 1 else "width_per_group",
                f"stage {i + 1} uses {kind} blocks, which support only groups=1 and width_per_group=64 "
                f"(got groups={v['groups']}, width_per_group={v['width_per_group']}); "
                "use bottleneck blocks for ResNeXt/Wide ResNet")
        if grouped == "resnext" and int(planes * (v["width_per_group"] / 64.0)) < 1:
            raise SpecError(
                "widths", f"stage {i + 1} width {planes} with width_per_group={v['width_per_group']} gives "
                f"int({planes} * {v['width_per_group']} / 64) = 0 channels per group; widths[{i}] must be >= "
                f"{math.ceil(64 / v['width_per_group'])}")
    _check_family(v, blocks)
    if v["shortcut"] == "zero_pad":
        channels = v["stem_width"]
        for i, (kind, planes) in enumerate(zip(blocks, v["widths"], strict=True)):
            out = planes * BLOCKS[kind].expansion
            if out < channels:
                raise SpecError(
                    "shortcut", f"zero_pad cannot shrink channels, but stage {i + 1} goes from {channels} to {out}; "
                    f"use 'projection' or widen the stage")
            channels = out
    _check_input_size(v, blocks)


_ONLY_WITH = {  # field -> (default, block kinds it applies to)
    "radix": (2, ("split_attention",)), "avd": ("none", ("split_attention",)), "scales": (4, ("res2net",)),
    "sk_ratio": (0.0625, ("sk_basic", "sk_bottleneck")), "sk_divisor": (8, ("sk_basic", "sk_bottleneck")),
    "sk_split_input": (True, ("sk_basic", "sk_bottleneck"))}
"""The forking blocks' settings: each must keep its default unless a stage uses a block kind it applies to."""
_ANTI_ALIASED = ("basic", "bottleneck", "res_bottleneck")
"""Block kinds whose stride-2 3x3 conv can be anti-aliased (timm's ``aa_layer``)."""
_REDUCED_FIRST = ("basic", "bottleneck", "sk_basic", "sk_bottleneck")
"""Block kinds whose first conv can make fewer channels (timm's ``block_reduce_first``, SENet-154)."""


def _check_family(v: dict[str, Any], blocks: tuple[str, ...]) -> None:
    """Rules of the timm-family fields: each applies where it means something, and keeps its default
    elsewhere (so one network has one spec)."""
    for field, (default, kinds) in _ONLY_WITH.items():
        if v[field] != default and not set(kinds) & set(blocks):
            raise SpecError(field, f"applies to {' and '.join(kinds)} stages only; give {json.dumps(default)} for "
                                   "this design")
    if v["se_divisor"] != 1 and not v["se_ratio"]:
        raise SpecError("se_divisor", "applies to attention 'se' only; give 1")
    if v["norm"] != "groupnorm" and (v["norm_groups"] or v["norm_group_width"]):
        raise SpecError("norm_groups" if v["norm_groups"] else "norm_group_width",
                        f"applies to norm 'groupnorm' only (norm is {v['norm']!r}); give null")
    if v["norm_groups"] and v["norm_group_width"]:
        raise SpecError("norm_group_width", "give either norm_groups (groups) or norm_group_width (channels per "
                                            "group), not both")
    if v["shortcut_kernel"] != 1 and v["shortcut"] != "projection":
        raise SpecError("shortcut_kernel", f"applies to the projection shortcut only (shortcut is "
                                           f"{v['shortcut']!r}); give 1")
    for i, kind in enumerate(blocks):
        if v["anti_alias"] != "none" and kind not in _ANTI_ALIASED:
            raise SpecError("anti_alias", f"stage {i + 1} uses {kind} blocks; anti-aliasing applies to "
                                          f"{', '.join(_ANTI_ALIASED)} stages; give 'none'")
        if v["reduce_first"] != 1 and kind not in _REDUCED_FIRST:
            raise SpecError("reduce_first", f"stage {i + 1} uses {kind} blocks; reduce_first applies to "
                                            f"{', '.join(_REDUCED_FIRST)} stages; give 1")
        if v["preact"] and not BLOCKS[kind].preact:
            raise SpecError("preact", f"stage {i + 1} uses {kind} blocks, which have no pre-activation form; "
                                      "pre-activation applies to basic and bottleneck stages")
    if v["preact"]:
        clash = [field for field, value in (("anti_alias", v["anti_alias"] != "none"),
                                            ("linear_out", v["linear_out"]), ("head_width", v["head_width"]),
                                            ("shortcut", v["shortcut"] not in ("projection", "avg_down")))
                 if value]
        if clash:
            raise SpecError(clash[0], "does not combine with preact (pre-activation blocks end with a conv, project "
                                      "their pre-activated input with 'projection' or 'avg_down', and the network "
                                      "ends with a norm)")
    _check_channel_splits(v, blocks)


def _check_channel_splits(v: dict[str, Any], blocks: tuple[str, ...]) -> None:
    """Grouped convs get channels their groups divide: ``reduce_first`` leaves channels in every first conv
    and a multiple of the groups in a bottleneck's 3x3 input, ResNeSt's ``radix`` splits of each group
    divide its 3x3 width, SKNet's split input halves evenly and each half fills the groups."""
    channels, groups = v["stem_width"], v["groups"]
    for i, (kind, planes) in enumerate(zip(blocks, v["widths"], strict=True)):
        grouped = BLOCKS[kind].grouped == "resnext"
        inner = int(planes * (v["width_per_group"] / 64.0)) * groups if grouped else planes
        first = inner // v["reduce_first"]
        stage = f"stage {i + 1}"
        if kind in _REDUCED_FIRST and first < 1:
            raise SpecError("reduce_first", f"{v['reduce_first']} leaves {inner} // {v['reduce_first']} = 0 channels "
                                            f"in {stage}'s first conv; lower it or widen the stage")
        if kind == "bottleneck" and first % groups:
            raise SpecError("reduce_first", f"{stage}'s 3x3 conv would take {first} channels in {groups} groups; "
                                            "choose reduce_first so that the groups divide inner / reduce_first")
        if kind == "split_attention" and inner % (groups * v["radix"]):
            raise SpecError("radix", f"{stage}'s split-attention conv has {inner} channels, which {groups} groups x "
                                     f"radix {v['radix']} do not divide; choose a radix that divides {inner // groups}")
        if kind == "split_attention" and (attn := split_attention_channels(inner, v["radix"])) % groups:
            raise SpecError("groups", f"{stage}'s split attention has {attn} attention channels "
                                      f"(ResNeSt's rule), which {groups} groups do not divide")
        out = planes * BLOCKS[kind].expansion
        for taken in {"sk_basic": (channels, out), "sk_bottleneck": (first,)}.get(kind, ()):
            if v["sk_split_input"] and taken % 2:
                raise SpecError("sk_split_input", f"{stage}'s selective-kernel conv takes {taken} channels, which "
                                                  "its two paths cannot split evenly; give false or even widths")
            path = taken // 2 if v["sk_split_input"] else taken
            if kind == "sk_bottleneck" and path % min(inner, groups):
                raise SpecError("groups", f"{stage}'s selective-kernel paths take {path} channels each, which "
                                          f"{groups} groups do not divide")
        channels = out


def _check_counted(spec: ResNetSpec) -> None:
    """Rules that need every layer's input (read from the counted layers): each GroupNorm's groups divide
    its channels and leave it more than one value per group at batch 1 (torch refuses fewer), and each
    standardised conv has at least 2 weights per filter to normalise."""
    from arch_lab.plan import plan  # the plan reads specs: imported when a spec needs it

    for layer in plan(spec):
        channels, *spatial = layer.input_shape
        if layer.type == "GroupNorm" and (layer.groups < 1 or channels % layer.groups or
                                          channels // layer.groups * prod(spatial) < 2):
            field = "norm_group_width" if spec.norm_group_width else "norm_groups"
            given = spec.norm_group_width or spec.norm_groups or layer.groups
            raise SpecError(field, f"{given} does not fit {layer.name}, a GroupNorm of {channels} channels on a "
                                   f"{'x'.join(map(str, spatial))} map ({layer.groups} groups must divide the channels "
                                   "and leave each group at least 2 values); choose a value that divides every "
                                   "normalised width, or a larger input")
        if layer.type == "StdConv2d" and channels // layer.groups * layer.kernel ** 2 < 2:
            raise SpecError("weight_standardization", f"{layer.name} has one weight per filter ({channels} channels "
                                                      f"in {layer.groups} groups, {layer.kernel}x{layer.kernel}), "
                                                      "which cannot be standardised; give false or more input "
                                                      "channels")


def _check_input_size(v: dict[str, Any], blocks: tuple[str, ...]) -> None:
    """Refuse inputs whose feature map is already 1 pixel wide where a stride-2 step wants to halve it, and
    (with ``avg`` anti-aliasing, whose 2x2 pool rounds down where the shortcut rounds up) odd maps entering
    a strided block with a shortcut.

    A step maps a side ``s`` to ``ceil(s / 2)`` (``floor`` for an un-padded 2x2 average pool) and needs
    ``s >= 2``. The smallest valid side follows backwards in closed form (no search): the last step needs 2,
    a step before needs ``2m - 1`` to make ``m`` (``2m`` when it rounds down); without rounding down that is
    ``2**(k-1) + 1`` for ``k`` steps.
    """
    fields = _Fields(v)
    steps = [(where, floor, False) for where, floor in stem_halvings(v["stem"], stem_pool_kind(fields),
                                                                      style_of(fields))]
    avg = v["anti_alias"] == "avg"
    steps += [(f"layer{i + 1} (stride 2)", avg, avg and v["shortcut"] != "none")
              for i, stride in enumerate(v["strides"]) if stride == 2]
    if not steps:
        return
    smallest = 1
    for _, floor, _ in reversed(steps):
        smallest = max(2, 2 * smallest if floor else 2 * smallest - 1)
    for axis, side in zip(("height", "width"), v["input_size"], strict=True):
        for where, floor, even in steps:
            if side < 2:
                raise SpecError(
                    "input_size", f"{axis} {v['input_size'][axis == 'width']} is too small: the feature map is "
                    f"already 1 pixel {axis} when {where} downsamples it; this design needs at least {smallest}")
            if even and side % 2:
                example = -(-max(smallest, v["input_size"][axis == "width"]) // 2 ** len(steps)) * 2 ** len(steps)
                raise SpecError(
                    "input_size", f"{axis} {v['input_size'][axis == 'width']} makes a {side}-pixel map at {where}: "
                    f"anti_alias 'avg' halves it to {side // 2} in the branch but the shortcut to {side // 2 + 1}; "
                    f"use a size whose maps are even at every stride-2 block, e.g. {example}")
            side = downsample(side, floor)


class _Fields:
    """Validated field values read as attributes (what :func:`style_of` reads from a spec)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _check_regnet_fields(v: dict[str, Any], blocks: tuple[str, ...]) -> None:
    """``group_width`` and ``bottleneck_ratio`` only on ``res_bottleneck`` stages, where the group width
    must divide the 3x3 width; ``groups``/``width_per_group`` only where a ``bottleneck`` stage uses them."""
    ratios = v["bottleneck_ratio"] if isinstance(v["bottleneck_ratio"], tuple) else (v["bottleneck_ratio"],) * len(
        blocks)
    widths = v["group_width"] or (None,) * len(blocks)
    if all(BLOCKS[kind].grouped == "regnet" for kind in blocks) and (v["groups"] != 1 or v["width_per_group"] != 64):
        raise SpecError("groups" if v["groups"] != 1 else "width_per_group",
                        "applies to bottleneck stages only; res_bottleneck stages set their grouping with "
                        "group_width (channels per group) and bottleneck_ratio")
    for i, (kind, planes, ratio, width) in enumerate(zip(blocks, v["widths"], ratios, widths, strict=True)):
        if kind != "res_bottleneck":
            if width is not None:
                raise SpecError(f"group_width[{i}]", f"stage {i + 1} uses {kind} blocks; group_width applies only "
                                                     "to res_bottleneck stages (give null for the others)")
            if ratio != 1.0:
                raise SpecError("bottleneck_ratio", f"stage {i + 1} uses {kind} blocks; bottleneck_ratio applies "
                                                    "only to res_bottleneck stages (give 1 for the others)")
            continue
        inner = int(round(planes * ratio))
        if inner < 1:
            raise SpecError("bottleneck_ratio", f"stage {i + 1}: round({planes} * {ratio}) = 0 channels in the 3x3 "
                                                "conv; raise the width or the ratio")
        if width is not None and inner % width:
            divisors = [d for d in range(1, min(inner, 4096) + 1) if inner % d == 0]
            raise SpecError(f"group_width[{i}]", f"{width} does not divide stage {i + 1}'s 3x3 width {inner} "
                                                 f"(= round({planes} * {ratio})); use a divisor such as "
                                                 f"{', '.join(map(str, divisors[-4:]))}")


def _group_width(value: Any, stages: int) -> tuple[int | None, ...] | None:
    """``None``, one width for every stage, or a list with ``null`` for stages that are not res_bottleneck."""
    if value is None:
        return None
    if _is_int(value):
        return (_int("group_width", value, 1, MAX_CHANNELS),) * stages
    if not isinstance(value, (list, tuple)):
        raise SpecError("group_width", f"{_show(value)} is not allowed; give channels per group (an integer), "
                                       "or a list with one per stage (null where it does not apply)")
    if len(value) != stages:
        raise SpecError("group_width", f"has {len(value):,} entries but depths has {stages} stages; give one per "
                                       "stage")
    widths = tuple(None if item is None else _int(f"group_width[{i}]", item, 1, MAX_CHANNELS)
                   for i, item in enumerate(value))
    return None if all(w is None for w in widths) else widths


def _ratios(value: Any, stages: int) -> float | tuple[float, ...]:
    """One bottleneck ratio, or one per stage; stored as one number when all stages agree."""
    if isinstance(value, (list, tuple)):
        if len(value) != stages:
            raise SpecError("bottleneck_ratio", f"has {len(value):,} entries but depths has {stages} stages; give "
                                                "one per stage")
        ratios = tuple(_ratio(f"bottleneck_ratio[{i}]", item) for i, item in enumerate(value))
        return ratios[0] if len(set(ratios)) == 1 else ratios
    return _ratio("bottleneck_ratio", value)


def _ratio(name: str, value: Any, high: float = MAX_BOTTLENECK_RATIO) -> float:
    ratio = _number(name, value, 0.0, high)
    if ratio <= 0:
        raise SpecError(name, f"{_show(value)} is out of range; expected a number above 0 and at most {high}")
    return ratio


def _stem_pool(value: Any, stem: str) -> str | None:
    """None (the stem's own pool, :data:`DEFAULT_POOL`), or another pool; the stem's own is stored as None,
    so changing the stem changes its pool with it and one network has one spec."""
    if value is None:
        return None
    pool = _choice("stem_pool", value, tuple(STEM_POOLS))
    return None if pool == DEFAULT_POOL[stem] else pool


def _attention(value: Any, se_ratio: float) -> str | None:
    """None (squeeze-excitation when ``se_ratio > 0``, else none: torchvision's convention), or ``"eca"``;
    ``"se"`` and ``"none"`` are accepted where they agree with ``se_ratio`` and stored as None."""
    if value is None:
        return None
    kind = _choice("attention", value, ATTENTION)
    if kind == "eca" and se_ratio > 0:
        raise SpecError("se_ratio", f"{se_ratio} does not fit attention 'eca'; se_ratio applies to "
                                    "squeeze-excitation only, give 0")
    if (kind == "se") != (se_ratio > 0) and kind != "eca":
        raise SpecError("se_ratio", f"{se_ratio} does not fit attention {kind!r}: squeeze-excitation needs "
                                    "se_ratio > 0 (e.g. 0.0625), 'none' needs 0")
    return "eca" if kind == "eca" else None


def _optional_int(name: str, value: Any) -> int | None:
    """None (not set), or an integer from 1 to :data:`MAX_CHANNELS`."""
    return None if value is None else _int(name, value, 1, MAX_CHANNELS)


def _int_choice(name: str, value: Any, allowed: tuple[int, ...]) -> int:
    if not _is_int(value) or value not in allowed:
        raise SpecError(name, f"{_show(value)} is not allowed; choose one of {', '.join(map(str, allowed))}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _ShortRepr(reprlib.Repr):
    """``repr`` cut to a few dozen characters, nesting levels and items, so an error message never
    echoes a huge payload; integers too long to print are described by their size."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxstring, self.maxother = 2, 40, 40
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = 6

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 128:
            return f"<an integer of {x.bit_length():,} bits>"
        return super().repr_int(x, level)


_SHORT = _ShortRepr()


def _show(value: Any) -> str:
    """A short, printable description of a user's value for an error message."""
    return _SHORT.repr(value)


def _name(value: Any) -> str:
    if not isinstance(value, str):
        raise SpecError("name", f"{_show(value)} is not text; a name is a free label such as \"my-resnet\"")
    if len(value) > MAX_NAME_CHARS:
        raise SpecError("name", f"{len(value):,} characters is too long; use at most {MAX_NAME_CHARS}")
    if not value.isprintable():  # control characters and lone surrogates cannot be logged or written to a CSV
        raise SpecError("name", f"{_show(value)} contains a control or unpaired surrogate character; use "
                                "printable text")
    return value


def _int(name: str, value: Any, minimum: int, maximum: int) -> int:
    if not _is_int(value):
        raise SpecError(name, f"{_show(value)} is not an integer; expected an integer from {minimum:,} to "
                              f"{maximum:,}")
    if value < minimum:
        raise SpecError(name, f"{_show(value)} is too small; expected an integer >= {minimum}")
    if value > maximum:
        raise SpecError(name, f"{_show(value)} is too large; expected an integer <= {maximum:,}")
    return value


def _number(name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(name, f"{_show(value)} is not a number; expected a number from {low} to {high}")
    if not low <= value <= high:  # false for NaN; compares huge ints exactly, without converting them
        raise SpecError(name, f"{_show(value)} is out of range; expected a number from {low} to {high}")
    return float(value)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise SpecError(name, f"{_show(value)} is not a boolean; expected true or false")
    return value


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed or not isinstance(value, str):
        raise SpecError(name, f"{_show(value)} is not allowed; choose one of {', '.join(allowed)}")
    return value


def _int_list(name: str, value: Any, length: int | None, minimum: int, maximum: int) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise SpecError(name, f"{_show(value)} is not a list; expected a list of integers from {minimum:,} to "
                              f"{maximum:,}, one per stage")
    if length is not None and len(value) != length:
        raise SpecError(name, f"has {len(value):,} entries but depths has {length} stages; give one per stage")
    if all(type(item) is int and minimum <= item <= maximum for item in value):  # the usual case, in one pass
        return tuple(value)
    return tuple(_int(f"{name}[{i}]", item, minimum, maximum) for i, item in enumerate(value))


def _block(value: Any, stages: int) -> str | tuple[str, ...]:
    allowed = tuple(BLOCKS)
    if isinstance(value, str):
        return _choice("block", value, allowed)
    if not isinstance(value, (list, tuple)):
        raise SpecError("block", f"{_show(value)} is not allowed; give one of {', '.join(allowed)} or a list, "
                                 "one per stage")
    if len(value) != stages:
        raise SpecError("block", f"has {len(value):,} entries but depths has {stages} stages; give one per stage")
    kinds = tuple(_choice(f"block[{i}]", item, allowed) for i, item in enumerate(value))
    return kinds[0] if len(set(kinds)) == 1 else kinds


def _input_size(value: Any) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise SpecError("input_size", f"{_show(value)} must be one integer (H = W) or [H, W]")
        return _int("input_size[0]", value[0], 1, MAX_SIDE), _int("input_size[1]", value[1], 1, MAX_SIDE)
    side = _int("input_size", value, 1, MAX_SIDE)
    return side, side
