"""Generate ``arch_lab/timm_catalog.json``: every timm ResNet-family architecture as a lab spec.

Run with the pinned timm installed (``requirements-dev.txt``): ``python tools/timm_catalog.py``. For each
model of timm's modules ``resnet``, ``regnet``, ``resnetv2``, ``resnest``, ``res2net`` and ``sknet`` (``test_*``
excluded) it builds timm's model on the meta device, records the arguments timm's builder passed to the model
class (``ResNet``, ``RegNet``, ``ResNetV2``), and translates them into spec fields; a model the spec cannot
express gets the reason instead. It adds the model's pretrained tags (the default first) and the published
ImageNet-1k accuracy of those tags from ``tools/timm_results_imagenet.csv`` (rows of timm's own results table,
source in its header). ``tests/test_timm_catalog.py`` regenerates the catalog and fails on any drift, and
``tests/test_timm_oracle.py`` holds every translated spec against timm's model.

The lab's runtime reads only the JSON: timm is never imported outside this script and the tests.
"""

from __future__ import annotations

import csv
import functools
import json
import sys
from pathlib import Path
from typing import Any

import timm
import torch
from timm.models import regnet as timm_regnet
from timm.models import resnet as timm_resnet
from timm.models import resnetv2 as timm_resnetv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from arch_lab.network import make_divisible  # noqa: E402
from arch_lab.regnet import regnet  # noqa: E402
from arch_lab.spec import ResNetSpec  # noqa: E402

MODULES = ("resnet", "regnet", "resnetv2", "resnest", "res2net", "sknet")
CATALOG = ROOT / "arch_lab" / "timm_catalog.json"
RESULTS = ROOT / "tools" / "timm_results_imagenet.csv"
BLOCK_KINDS = {"BasicBlock": "basic", "Bottleneck": "bottleneck", "ResNestBottleneck": "split_attention",
               "Bottle2neck": "res2net", "SelectiveKernelBasic": "sk_basic",
               "SelectiveKernelBottleneck": "sk_bottleneck"}
"""timm block class -> the lab's block kind."""


class Unsupported(Exception):
    """A timm model the spec cannot express; the message says why."""


def family_models() -> list[tuple[str, str]]:
    """(module, model name) of every timm ResNet-family model, in timm's order."""
    return [(module, name) for module in MODULES for name in timm.list_models(module=module)
            if not name.startswith("test_")]


def captured_arguments(name: str) -> tuple[type, dict[str, Any]]:
    """The model class and the keyword arguments timm's builder passed to it for ``name``."""
    calls: list[tuple[type, dict[str, Any]]] = []
    originals = {}
    for cls in (timm_resnet.ResNet, timm_regnet.RegNet, timm_resnetv2.ResNetV2):
        originals[cls] = cls.__init__

        def init(self: Any, *args: Any, _cls: type = cls, **kwargs: Any) -> None:
            calls.append((_cls, kwargs))
            originals[_cls](self, *args, **kwargs)

        cls.__init__ = init  # type: ignore[method-assign]
    try:
        with torch.device("meta"):
            timm.create_model(name)
    finally:
        for cls, original in originals.items():
            cls.__init__ = original  # type: ignore[method-assign]
    return calls[-1]


def _name_of(layer: Any) -> str:
    layer = layer.func if isinstance(layer, functools.partial) else layer
    return layer if isinstance(layer, str) else getattr(layer, "__name__", type(layer).__name__)


def _resnet(kw: dict[str, Any], name: str) -> dict[str, Any]:
    """timm ``ResNet`` (also ResNeSt, Res2Net and SKNet) arguments -> spec fields."""
    if name.endswith("_pruned"):
        raise Unsupported("per-layer channel counts from a pruning config (timm ``_create_resnet(pruned=True)``); "
                          "the spec has one width per stage")
    spec: dict[str, Any] = {"block": BLOCK_KINDS[kw["block"].__name__], "depths": list(kw["layers"])}
    if tuple(kw.get("channels", (64, 128, 256, 512))) != (64, 128, 256, 512):
        spec["widths"] = list(kw["channels"])
    spec["groups"], spec["width_per_group"] = kw.get("cardinality", 1), kw.get("base_width", 64)
    stem_type, stem_width = kw.get("stem_type", ""), kw.get("stem_width", 64)
    if stem_type in ("deep", "deep_tiered"):
        spec["stem"], spec["stem_width"] = stem_type, 2 * stem_width
    elif stem_type:
        raise Unsupported(f"stem_type {stem_type!r}")
    if kw.get("replace_stem_pool"):
        spec["stem_pool"] = "conv"
    aa = kw.get("aa_layer")
    if aa is not None:
        spec["anti_alias"] = {"AvgPool2d": "avg", "BlurPool2d": "blur"}[_name_of(aa)]
    if kw.get("norm_layer") not in (None, torch.nn.BatchNorm2d):
        if kw["norm_layer"] != "groupnorm":
            raise Unsupported(f"norm_layer {kw['norm_layer']!r}")
        spec["norm"] = "groupnorm"
    if kw.get("act_layer") not in (None, torch.nn.ReLU):
        raise Unsupported(f"act_layer {kw['act_layer']!r}")
    spec["shortcut"] = "avg_down" if kw.get("avg_down") else "projection"
    spec["shortcut_kernel"] = kw.get("down_kernel_size", 1)
    spec["reduce_first"] = kw.get("block_reduce_first", 1)
    args = dict(kw.get("block_args") or {})
    attn = args.pop("attn_layer", None)
    if attn is not None:
        if _name_of(attn) == "eca":
            spec["attention"] = "eca"
        elif _name_of(attn) in ("se", "SEModule"):
            spec["se_ratio"] = attn.keywords.get("rd_ratio", 1 / 16) if isinstance(attn, functools.partial) else 1 / 16
            spec["se_divisor"] = 8  # timm's SEModule: make_divisible(channels * rd_ratio, 8, round_limit=0)
        else:
            raise Unsupported(f"attn_layer {attn!r}")
    if "radix" in args:
        spec["radix"] = args.pop("radix")
        avd, first = args.pop("avd", False), args.pop("avd_first", False)
        spec["avd"] = ("first" if first else "last") if avd else "none"
    if "scale" in args:
        spec["scales"] = args.pop("scale")
    sk = dict(args.pop("sk_kwargs", None) or {}) if "sk_kwargs" in args else None
    if sk is not None:
        spec["sk_ratio"] = sk.pop("rd_ratio", 1 / 16)
        spec["sk_divisor"] = sk.pop("rd_divisor", 8)
        spec["sk_split_input"] = sk.pop("split_input", True)
        if sk:
            raise Unsupported(f"sk_kwargs {sk}")
    if args:
        raise Unsupported(f"block_args {args}")
    return spec


def _regnet(kw: dict[str, Any], name: str) -> dict[str, Any]:
    """timm ``RegNetCfg`` -> the lab's generator with the cfg's rounding, then the cfg's other choices."""
    cfg = kw["cfg"]
    if cfg.preact:
        raise Unsupported("RegNetV's pre-activation block takes its identity shortcut after the first norm "
                          "(timm ``PreBottleneck``), unlike ResNetV2's; the lab's preact is ResNetV2's")
    rounding = {0.0: "pycls", 0.9: "torchvision"}[cfg.group_min_ratio]
    spec = regnet(cfg.w0, cfg.wa, cfg.wm, cfg.depth, cfg.group_size, cfg.bottle_ratio, cfg.se_ratio, name=name,
                  stem_width=cfg.stem_width, rounding=rounding).to_dict()
    spec["shortcut"] = {"conv1x1": "projection", "avg": "avg_down", None: "none", "": "none"}[cfg.downsample]
    spec["linear_out"] = cfg.linear_out
    spec["head_width"] = cfg.num_features or None
    spec["activation"] = {"relu": "relu", "silu": "silu"}[cfg.act_layer]
    norm = cfg.norm_layer
    if norm != "batchnorm":
        if not (isinstance(norm, functools.partial) and norm.func.__name__ == "GroupNormAct"):
            raise Unsupported(f"norm_layer {norm!r}")
        spec["norm"] = "groupnorm"
        spec["norm_group_width" if "group_size" in norm.keywords else "norm_groups"] = norm.keywords.get(
            "group_size", norm.keywords.get("num_groups", 32))
    return spec


def _resnetv2(kw: dict[str, Any], name: str) -> dict[str, Any]:
    """timm ``ResNetV2`` (pre-activation ResNets and BiT) arguments -> spec fields."""
    if not kw.get("preact", True):
        raise Unsupported("ResNetV2 without pre-activation")
    wf = kw.get("width_factor", 1)
    basic = kw.get("basic", False)
    channels = kw.get("channels", (256, 512, 1024, 2048))
    outs = [make_divisible(c * wf, 8) for c in channels]
    if basic:
        widths = outs
    else:
        widths = [make_divisible(out * kw.get("bottle_ratio", 0.25), 8) for out in outs]
        if [4 * w for w in widths] != outs:
            raise Unsupported("a bottleneck width that is not a quarter of its output")
    spec: dict[str, Any] = {"block": "basic" if basic else "bottleneck", "depths": list(kw["layers"]),
                            "widths": widths, "preact": True}
    stem_width = make_divisible(kw.get("stem_chs", 64) * wf, 8)
    stem_type = kw.get("stem_type", "")
    stems = {"": ("classic", None), "fixed": ("classic", "zero_pad_max"), "deep": ("deep", None),
             "tiered": ("deep_tiered", None)}
    if stem_type not in stems:
        raise Unsupported(f"stem_type {stem_type!r}")
    if stem_type == "tiered" and 3 * stem_width // 8 != 3 * (stem_width // 2 // 4):
        raise Unsupported("a tiered stem width whose first conv rounds otherwise")
    spec["stem"], pool = stems[stem_type]
    spec["stem_width"] = stem_width
    if pool:
        spec["stem_pool"] = pool
    spec["shortcut"] = "avg_down" if kw.get("avg_down") else "projection"
    conv = kw.get("conv_layer")
    if _name_of(conv) == "StdConv2d":
        if conv.keywords.get("eps") != 1e-8:
            raise Unsupported(f"StdConv2d eps {conv.keywords.get('eps')}")
        spec["weight_standardization"] = True
    elif _name_of(conv) != "create_conv2d":
        raise Unsupported(f"conv_layer {conv!r}")
    norm = _name_of(kw.get("norm_layer", "GroupNormAct"))
    if norm == "GroupNormAct":
        spec["norm"] = "groupnorm"
    elif norm != "BatchNormAct2d":
        raise Unsupported(f"{norm} normalisation (EvoNorm / filter response norm) is not among the lab's norms "
                          "(batchnorm, groupnorm)")
    if kw.get("act_layer") not in (None, torch.nn.ReLU):
        raise Unsupported(f"act_layer {kw['act_layer']!r}")
    return spec


_TRANSLATE = {timm_resnet.ResNet: _resnet, timm_regnet.RegNet: _regnet, timm_resnetv2.ResNetV2: _resnetv2}


def translate(name: str) -> dict[str, Any]:
    """The spec fields of timm's ``name`` at its default input size (``Unsupported`` if none express it)."""
    cls, kwargs = captured_arguments(name)
    fields = _TRANSLATE[cls](kwargs, name)
    size = timm.models.get_pretrained_cfg(name).input_size
    fields.update(name=name, input_size=size[1] if size[1] == size[2] else list(size[1:]))
    return _compact(ResNetSpec.from_dict(fields))


def _compact(spec: ResNetSpec) -> dict[str, Any]:
    """The spec's fields that differ from a default spec of the same depths (the catalog stays readable)."""
    default = ResNetSpec(depths=spec.depths).to_dict()
    return {key: value for key, value in spec.to_dict().items() if key == "depths" or value != default[key]}


def _results() -> dict[str, list[dict[str, Any]]]:
    """Model name -> its rows of timm's published ImageNet results (tag, size, top-1, top-5, crop)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with RESULTS.open(encoding="utf-8") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            model, _, tag = row["model"].partition(".")
            rows.setdefault(model, []).append({"tag": tag, "img_size": int(row["img_size"]),
                                               "top1": float(row["top1"]), "top5": float(row["top5"]),
                                               "crop_pct": float(row["crop_pct"])})
    return rows


def _source() -> str:
    with RESULTS.open(encoding="utf-8") as handle:
        return " ".join(line[1:].strip() for line in handle if line.startswith("#"))


def build() -> dict[str, Any]:
    """The catalog as JSON-ready data."""
    results = _results()
    models, unsupported = {}, {}
    for module, name in family_models():
        tags = [key.partition(".")[2] for key in timm.models.get_arch_pretrained_cfgs(name)]
        try:
            spec = translate(name)
        except Unsupported as reason:
            unsupported[name] = {"module": module, "reason": str(reason)}
            continue
        accuracy = [row for row in results.get(name, []) if row["tag"] in tags]
        models[name] = {"module": module, "spec": spec, "tags": tags, "accuracy": accuracy}
    return {"timm_version": timm.__version__, "accuracy_source": _source(), "models": models,
            "unsupported": unsupported}


def render(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=1, sort_keys=False) + "\n"


if __name__ == "__main__":
    CATALOG.write_text(render(build()), encoding="utf-8")
    data = json.loads(CATALOG.read_text(encoding="utf-8"))
    print(f"wrote {CATALOG.relative_to(ROOT)}: {len(data['models'])} models, {len(data['unsupported'])} unsupported")
