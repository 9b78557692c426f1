"""``explore``: sample a design space, keep the designs meeting the constraints, export the table.

The space is a built-in name (``--list`` shows them) or a space JSON file. A bad space, constraint or
objective is a :class:`SpecError`, which the CLI prints as one line with exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from arch_lab.errors import SpecError
from arch_lab.explore import explore, list_spaces, space_source

SHOWN_ROWS = 20
"""Pareto designs printed; the exports hold every row."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("explore", help="sample a design space, filter, mark the Pareto front")
    parser.add_argument("space", nargs="?", metavar="SPACE", help="a built-in space name or a space JSON file")
    parser.add_argument("--list", action="store_true", help="list the built-in spaces and where they come from")
    parser.add_argument("--n", type=int, default=None, metavar="N",
                        help="designs to find (default 100; the grid method walks the whole grid)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0): the same seed, the same table")
    parser.add_argument("--method", choices=("random", "grid"), default="random",
                        help="seeded uniform sampling (default) or the full grid")
    parser.add_argument("--max-tries", type=int, default=None, metavar="N",
                        help="stop after this many sampled designs (default max(10000, 100 x N))")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="stop sampling after S seconds (default: no limit)")
    parser.add_argument("--constraint", action="append", default=[], metavar="TEXT",
                        help="e.g. \"macs<=4e9\" or \"3e9<=macs<=5e9\" (repeatable; all must hold)")
    parser.add_argument("--objective", action="append", default=[], metavar="min|max:METRIC",
                        help="e.g. min:params (repeatable); sets the pareto column")
    parser.add_argument("--measure-top", type=int, default=0, metavar="K",
                        help="time the K best designs (Pareto ones first) on this machine, or on Ray with --ray, and "
                             "estimate every design's latency from them (latency_est_ms, labelled estimated)")
    parser.add_argument("--budget", type=float, default=2.0, metavar="S",
                        help="seconds of timing per measured design (default 2)")
    parser.add_argument("--ray", metavar="auto|ADDRESS", default=None,
                        help="measure as Ray tasks (one GPU, or one CPU, each) on an existing cluster: 'auto' or "
                             "HEAD:6379 (needs pip install arch_lab[ray]); 'local' starts a local Ray instance")
    parser.add_argument("--csv", metavar="FILE", help="write the table as CSV")
    parser.add_argument("--json", metavar="FILE", help="write the designs as JSON (specs reload; compare reads it)")
    parser.set_defaults(run=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    if args.list:
        for name in list_spaces():
            print(f"{name:<24} {space_source(name)}")
        return 0
    if not args.space:
        raise SpecError("space", f"give a space name or file; built-in spaces: {', '.join(list_spaces())}")
    n = args.n if args.n is not None or args.method == "grid" else 100
    if args.ray is not None and not args.measure_top:
        raise SpecError("--ray", "measures finalists; give --measure-top K as well")
    result = explore(args.space, n, seed=args.seed, method=args.method, max_tries=args.max_tries,
                     constraints=args.constraint, objectives=args.objective, measure_top=args.measure_top,
                     budget_s=args.budget, executor="local" if args.ray is None else "ray",
                     address=None if args.ray in (None, "local") else args.ray, on_measured=_progress,
                     time_limit_s=args.time_limit)
    print(result.summary())
    if not result.complete:
        remedy = "raise --time-limit" if result.stop == "time" else "raise --max-tries"
        print(f"note: only {result.accepted:,} of {result.requested:,} designs found ({result.stopped_early()}); "
              f"{remedy} or widen the space", file=sys.stderr)
    front = result.pareto
    if len(front):
        columns = ["name", "block", "depths", "widths", *dict.fromkeys(
            [text.split(":")[1] for text in result.objectives] + ["params", "macs"])]
        print(front[columns].head(SHOWN_ROWS).to_string(index=False))
        if len(front) > SHOWN_ROWS:
            print(f"... {len(front) - SHOWN_ROWS:,} more Pareto designs in the exports")
    if args.csv:
        result.to_csv(args.csv)
    if args.json:
        result.to_json(args.json)
    return 0


def _progress(row: int, figures: dict) -> None:
    """One line on stderr per timed design, as it finishes."""
    outcome = figures["error"] or f"{figures['latency_ms']:.2f} ms"
    print(f"timed design {row + 1}: {outcome}", file=sys.stderr)
