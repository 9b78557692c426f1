"""``analyse`` and ``compare``: the report of one design, the comparison of several.

A design is a preset name or a spec JSON file; ``compare`` also takes a designs export written by
``compare --json`` (every design in it). Bad input raises :class:`SpecError`, which the CLI prints as one
line.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from arch_lab.analysis import Report, analyse
from arch_lab.analysis.text import comparison_text, summary_text
from arch_lab.cli.latency_commands import add_latency_options, latency_options, latency_setup, refuse_too_long
from arch_lab.compare import compare
from arch_lab.errors import SpecError
from arch_lab.export import comparison_to_csv, designs_from_json, designs_to_json
from arch_lab.latency import LatencyResult, measure_latency
from arch_lab.presets import resolve
from arch_lab.spec import ResNetSpec, parse_json, read_text_file


def input_size(text: str) -> int | tuple[int, int]:
    """``N`` or ``HxW``."""
    parts = text.lower().split("x")
    if len(parts) in (1, 2) and all(part.strip().isdigit() for part in parts):
        numbers = tuple(int(part) for part in parts)
        return numbers[0] if len(numbers) == 1 else numbers  # type: ignore[return-value]
    raise SpecError("--input-size", f"{text!r} is not allowed; give N (square) or HxW, e.g. 224 or 160x192")


def _add_size_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-size", metavar="N|HxW", help="input resolution (default: each design's own)")
    parser.add_argument("--batch-size", type=int, default=1, metavar="N",
                        help="images per batch; counts are per batch (default 1)")


def register(subparsers: argparse._SubParsersAction) -> None:
    show = subparsers.add_parser("analyse", help="params, MACs/FLOPs, memory, stage and layer tables of a design")
    show.add_argument("design", metavar="NAME_OR_FILE", help="a preset name or a spec JSON file")
    _add_size_options(show)
    show.add_argument("--layers", action="store_true", help="also print the per-layer table")
    show.add_argument("--json", action="store_true", help="print the full report as JSON instead")
    show.set_defaults(run=run_analyse)

    side = subparsers.add_parser("compare", help="compare designs side by side")
    side.add_argument("designs", nargs="+", metavar="NAME_OR_FILE",
                      help="preset names, spec JSON files or designs exports (compare --json)")
    side.add_argument("--baseline", metavar="NAME", help="design the ratios refer to (default: the first)")
    _add_size_options(side)
    side.add_argument("--csv", metavar="FILE", help="write the comparison table as CSV")
    side.add_argument("--json", metavar="FILE", help="write the designs (spec + report) as JSON")
    measured = side.add_argument_group("latency", "with --latency, measure every design on this machine")
    measured.add_argument("--latency", action="store_true", help="add measured latency/throughput columns")
    add_latency_options(measured)
    side.set_defaults(run=run_compare)


def _report(spec: ResNetSpec, args: argparse.Namespace) -> Report:
    size = input_size(args.input_size) if args.input_size else None
    return analyse(spec, input_size=size, batch_size=args.batch_size)


def run_analyse(args: argparse.Namespace) -> int:
    report = _report(resolve(args.design), args)
    print(json.dumps(report.to_dict(), indent=2) if args.json else summary_text(report, layers=args.layers))
    return 0


def load_designs(name_or_file: str) -> list[ResNetSpec]:
    """One design from a preset name or spec file, or every design of a ``compare --json`` export."""
    path = Path(name_or_file)
    if path.suffix == ".json" and path.is_file():
        text = read_text_file(path)
        data = parse_json(text, str(path))
        if isinstance(data, dict) and "designs" in data:
            return designs_from_json(text, source=str(path))
    return [resolve(name_or_file)]


def comparison_items(args: argparse.Namespace) -> tuple[list[Report], list[LatencyResult] | None]:
    """The reports to compare and, with ``--latency``, each design's measurement.

    Every design is analysed (and so validated and limit-checked) before the first one is timed."""
    reports = [_report(spec, args) for design in args.designs for spec in load_designs(design)]
    if not args.latency:
        return reports, None
    options = latency_options(args)
    refuse_too_long([report.spec for report in reports], options)
    return reports, [measure_latency(report.spec, **options) for report in reports]


def run_compare(args: argparse.Namespace) -> int:
    reports, measured = comparison_items(args)
    extra = [result.summary_columns() for result in measured] if measured else None
    df = compare(reports, baseline=args.baseline if args.baseline is not None else 0, extra_columns=extra)
    print(comparison_text(df))
    if measured:
        print(f"latency: {latency_setup(measured[0])}")
    if args.csv:
        comparison_to_csv(df, args.csv)
        print(f"wrote {args.csv}")
    if args.json:
        Path(args.json).write_text(designs_to_json(reports), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0
