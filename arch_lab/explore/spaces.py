"""Built-in design spaces, and loading a space by name or from a JSON file.

Each built-in space is the same JSON-ready data a user would write, with a ``source`` saying where its
ranges come from; they are parsed like any file, so they obey the same rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from arch_lab.errors import SpecError
from arch_lab.explore.space import Space, parse_space
from arch_lab.spec import parse_json, read_text_file

MAX_SPACE_BYTES = 100_000
"""Largest space file read: a space is a few dozen lines."""

RESNET50_NEIGHBOURHOOD: dict[str, Any] = {
    "name": "resnet50-neighbourhood",
    "description": "Bottleneck ResNets around torchvision's resnet50: stage depths, a width scale, ResNeXt "
                   "groups and width per group.",
    "source": "torchvision resnet50 / resnext50_32x4d / wide_resnet50_2 (He et al. 2015, arXiv 1512.03385; "
              "Xie et al. 2017, arXiv 1611.05431; Zagoruyko & Komodakis 2016, arXiv 1605.07146): depths up to "
              "8 per stage cover resnet50's [3, 4, 6, 3]; widths scale resnet50's [64, 128, 256, 512] by "
              "0.5-2; groups x width_per_group spans resnet50 (1x64d), resnext50 (32x4d) and wide (1x128d)",
    "base": "resnet50",
    "fields": {
        "depths": {"range": [1, 8], "per_stage": True},
        "widths": {"choices": [[32, 64, 128, 256], [48, 96, 192, 384], [64, 128, 256, 512],
                               [80, 160, 320, 640], [96, 192, 384, 768], [128, 256, 512, 1024]]},
        "groups": {"choices": [1, 2, 4, 8, 16, 32, 64]},
        "width_per_group": {"choices": [4, 8, 16, 32, 64, 128]},
    },
}

CIFAR_RESNET_DEPTH: dict[str, Any] = {
    "name": "cifar-resnet-depth",
    "description": "The 6n+2 CIFAR ResNets: 3 stages of n basic blocks (16/32/64 filters), n = 1..200.",
    "source": "He et al. 2015 (arXiv 1512.03385) section 4.2: resnet20/32/44/56/110/1202 are n = 3, 5, 7, 9, 18, "
              "200 of this family (option-A zero-padding shortcuts, 32x32 input, 10 classes)",
    "base": "resnet20",
    "fields": {"depths": {"range": [1, 200]}},
}

ANYNET_BASE: dict[str, Any] = {
    "name": "anynetx", "block": "res_bottleneck", "stem": "simple", "stem_width": 32, "depths": [1, 1, 1, 1],
    "widths": [32, 64, 128, 256], "strides": [2, 2, 2, 2], "group_width": [8, 8, 8, 8]}
"""pycls AnyNetX: ``simple_stem_in`` of width 32 (3x3/2 conv, no pool), four X-block stages at stride 2."""
ANYNET_SOURCE = (
    "Radosavovic et al. 2020, 'Designing Network Design Spaces' (arXiv 2003.13678) section 3.1, AnyNetX: 4 stages, "
    "d_i <= 16, w_i <= 1024 and divisible by 8, b_i in {{1, 2, 4}}, g_i in {{1, 2, ..., 32}} (powers of 2; our "
    "bottleneck_ratio is the inner/outer width, 1/b_i); widths drawn log-uniform with quantum 8 as pycls's "
    "sweep samplers draw widths (pycls/sweep/samplers.py). As pycls's samplers do, every drawn stage is then "
    "adjusted for group compatibility (compatible_widths): its group width is capped at the 3x3 width int(w * b), "
    "the 3x3 width is rounded to a multiple of the group width (torchvision's _make_divisible rounding, as "
    "arch_lab.regnet.adjust_widths_groups does) and the stage width follows, so no draw is rejected for a group "
    "width that does not divide. Regime: "
    "the paper samples in a narrow compute band; we use the 10% band {band} MACs below the nominal {nominal} "
    "(pycls publishes only a CIFAR sweep config, with FLOPS in [0.12e9, 0.13e9])")


def _anynetx(name: str, band: str, low: float, high: float) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"AnyNetX in the {name.rsplit('-', 1)[1].upper()} regime: every stage's depth, width, "
                       "bottleneck ratio and group width free.",
        "source": ANYNET_SOURCE.format(band=band, nominal=name.rsplit("-", 1)[1].upper()),
        "base": ANYNET_BASE,
        "fields": {
            "depths": {"range": [1, 16], "per_stage": True},
            "widths": {"log_uniform": [8, 1024], "quantum": 8, "per_stage": True},
            "bottleneck_ratio": {"choices": [1.0, 0.5, 0.25], "per_stage": True},
            "group_width": {"choices": [1, 2, 4, 8, 16, 32], "per_stage": True},
        },
        "constraints": [f"{low:g}<=macs<={high:g}"],
        "compatible_widths": True,
    }


REGNET_SOURCE = (
    "Radosavovic et al. 2020 (arXiv 2003.13678) section 3.3, RegNetX: a design is the generator "
    "arch_lab.regnet(w0, wa, wm, depth, group_width) with bottleneck ratio 1 and no SE; ranges are pycls's sweep "
    "sampler defaults (pycls/sweep/samplers.py): depth 12-28, w0 8-256 (quantum 8), wa 8-256 (quantum 0.1), "
    "wm 2-3 (quantum 0.001), all log-uniform, group width 8-128 (quantum 8), and exactly 4 stages as in the "
    "paper's RegNet; a stage's 3x3 width is made a multiple of its group width with torchvision's rounding "
    "(\"rounding\": \"torchvision\"; \"pycls\" gives the paper's, e.g. timm's regnetx_004 instead of "
    "torchvision's regnet_x_400mf); regime: the {band} MACs band below the nominal {nominal}")


def _regnetx(name: str, band: str, low: float, high: float) -> dict[str, Any]:
    nominal = name.rsplit("-", 1)[1].upper()
    return {
        "name": name,
        "description": f"RegNetX in the {nominal} regime: the quantized-linear rule's parameters free.",
        "source": REGNET_SOURCE.format(band=band, nominal=nominal),
        "base": "regnet_x_400mf",
        "regnet": {
            "depth": {"range": [12, 28]},
            "w0": {"log_uniform": [8, 256], "quantum": 8},
            "wa": {"log_uniform": [8, 256], "quantum": 0.1},
            "wm": {"log_uniform": [2, 3], "quantum": 0.001},
            "group_width": {"log_uniform": [8, 128], "quantum": 8},
            "rounding": {"choices": ["torchvision"]},
        },
        "constraints": ["num_stages==4", f"{low:g}<=macs<={high:g}"],
    }


RESNET50_TRICKS: dict[str, Any] = {
    "name": "resnet50-tricks",
    "description": "ResNet-50 with the tricks of timm's ResNet family: stem, stem pool, shortcut, attention and "
                   "anti-aliasing.",
    "source": "He et al. 2019, 'Bag of Tricks' (arXiv 1812.01187: the deep stem and ResNet-D shortcut) as timm builds "
              "its ResNet-50 variants (timm resnet50, resnet50c/d/t, seresnet50, ecaresnet50d, resnetaa50d, "
              "resnetblur50d, and ResNet-RS's conv stem pool, arXiv 2103.07579): every combination of those choices "
              "on resnet50's stages; SE at 1/16 or 1/4 (ResNet-RS), ECA with its adaptive kernel (arXiv 1910.03151)",
    "base": "timm:resnet50d",
    "fields": {
        "stem": {"choices": ["classic", "deep", "deep_tiered"]},
        "stem_pool": {"choices": [None, "conv"]},
        "shortcut": {"choices": ["projection", "avg_down"]},
        "attention": {"choices": [None, "eca"]},
        "se_ratio": {"choices": [0.0, 0.0625, 0.25]},
        "anti_alias": {"choices": ["none", "avg", "blur"]},
    },
}
"""A space over the timm-family fields (ECA with an SE ratio is no design: those draws are rejected)."""

BUILTIN_SPACES: dict[str, dict[str, Any]] = {space["name"]: space for space in (
    RESNET50_NEIGHBOURHOOD, RESNET50_TRICKS, CIFAR_RESNET_DEPTH,
    _anynetx("anynetx-400mf", "360M-400M", 360e6, 400e6), _anynetx("anynetx-4gf", "3.6G-4.0G", 3.6e9, 4.0e9),
    _regnetx("regnetx-400mf", "360M-400M", 360e6, 400e6), _regnetx("regnetx-4gf", "3.6G-4.0G", 3.6e9, 4.0e9))}


def list_spaces() -> list[str]:
    """Names of the built-in spaces."""
    return sorted(BUILTIN_SPACES)


def space_source(name: str) -> str:
    """Where a built-in space's ranges come from."""
    return BUILTIN_SPACES[name]["source"]


def load_space(name_or_file: str | Path) -> Space:
    """A built-in space by name, or a space JSON file (read with the spec files' size and type checks)."""
    if isinstance(name_or_file, str) and name_or_file in BUILTIN_SPACES:
        return parse_space(BUILTIN_SPACES[name_or_file])
    path = Path(name_or_file)
    if isinstance(name_or_file, Path) or path.suffix == ".json" or path.exists():
        shown = str(path)[:200]
        return parse_space(parse_json(read_text_file(path, MAX_SPACE_BYTES), shown, MAX_SPACE_BYTES), "space")
    raise SpecError("space", f"{str(name_or_file)[:60]!r} is neither a built-in space nor a JSON file; built-in "
                             f"spaces: {', '.join(list_spaces())}")
