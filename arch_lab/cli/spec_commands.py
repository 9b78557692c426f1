"""``presets`` and ``show``: list the shipped designs, print one validated spec."""

from __future__ import annotations

import argparse

from arch_lab.limits import check_limits
from arch_lab.presets import TIMM_PREFIX, list_presets, preset_source, resolve


def register(subparsers: argparse._SubParsersAction) -> None:
    presets = subparsers.add_parser("presets", help="list the preset designs")
    presets.add_argument("--sources", action="store_true", help="also say where each design comes from")
    presets.add_argument("--timm", action="store_true",
                         help="list timm's ResNet-family models instead (use them as timm:NAME), and those the spec "
                              "cannot express, with why")
    presets.set_defaults(run=run_presets)
    show = subparsers.add_parser("show", help="print a validated spec as JSON")
    show.add_argument("design", metavar="NAME_OR_FILE", help="a preset name or a spec JSON file")
    show.set_defaults(run=run_show)


def run_presets(args: argparse.Namespace) -> int:
    if args.timm:
        from arch_lab.timm_family import catalog, timm_models, unsupported_timm_models

        models = catalog()["models"]
        for name in timm_models():
            print(f"{TIMM_PREFIX}{name:<28} timm {models[name]['module']}.py" if args.sources else
                  f"{TIMM_PREFIX}{name}")
        for name, reason in unsupported_timm_models().items():
            print(f"# {name}: not expressible: {reason}")
        return 0
    for name in list_presets():
        print(f"{name:<20} {preset_source(name)}" if args.sources else name)
    return 0


def run_show(args: argparse.Namespace) -> int:
    spec = resolve(args.design)
    check_limits(spec)
    print(spec.to_json())
    return 0
