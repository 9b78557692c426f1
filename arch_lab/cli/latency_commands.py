"""``latency``: measure a design's per-call latency and throughput on this machine.

``add_latency_options`` and ``latency_options`` are shared with ``compare --latency``, so both commands
accept the same options and validate them the same way.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from arch_lab.display import device_label
from arch_lab.latency import (
    DEVICES,
    DTYPES,
    MODES,
    LatencyResult,
    measure_latency,
    parse_batch_sizes,
    resolve_options,
)
from arch_lab.presets import resolve
from arch_lab.spec import ResNetSpec

TABLE_COLUMNS = ["batch_size", "median_ms", "p10_ms", "p90_ms", "mean_ms", "std_ms", "count", "throughput_img_s",
                 "peak_memory_mb", "peak_reserved_mb", "tflops", "peak_fraction", "setup_s", "compile_s",
                 "sm_clock_mhz", "power_w", "note", "error"]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("latency", help="measure latency and throughput on this machine")
    parser.add_argument("design", metavar="NAME_OR_FILE", help="a preset name or a spec JSON file")
    add_latency_options(parser)
    parser.add_argument("--json", action="store_true", help="print the result, with every setting, as JSON")
    parser.set_defaults(run=run_latency)


def add_latency_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The measurement options; values are checked by ``measure_latency`` (one-line SpecError)."""
    parser.add_argument("--device", default="auto", choices=DEVICES, help="auto: CUDA when available, else CPU")
    parser.add_argument("--batch", default="1", metavar="1,8,64", help="comma-separated batch sizes (default 1)")
    parser.add_argument("--dtype", default="fp32", choices=tuple(DTYPES),
                        help="fp32 = TF32 off; tf32 needs CUDA; bf16/fp16 cast the weights once")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory format for weights and input")
    parser.add_argument("--mode", default="eager", choices=MODES,
                        help="cuda_graph and compile-reduce-overhead need CUDA; compile modes report their "
                             "compile time as set-up, charged to the budget")
    parser.add_argument("--budget", type=float, default=10.0, metavar="SECONDS",
                        help="time budget for the whole measurement (default 10)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads during the measurement (default: torch's, one per core)")


def latency_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``measure_latency`` from the parsed options."""
    return {"device": args.device, "batch_sizes": parse_batch_sizes(args.batch), "dtype": args.dtype,
            "channels_last": args.channels_last, "mode": args.mode, "budget_s": args.budget,
            "threads": args.threads}


def run_latency(args: argparse.Namespace) -> int:
    """Exit status 0 when every batch size was measured, 1 when one failed (its row says why)."""
    options = latency_options(args)
    spec = resolve(args.design)
    refuse_too_long([spec], options)
    result = measure_latency(spec, **options)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_result(result))
    return 0 if all(row.error is None for row in result.rows) else 1


def refuse_too_long(specs: list[ResNetSpec], options: dict[str, Any]) -> None:
    """Refuse, before anything is built, a design whose one call cannot fit the budget (as the app does)."""
    from arch_lab.latency.estimate import costs_within_budget

    resolved = resolve_options(**options)
    costs_within_budget(specs, resolved.batch_sizes, resolved.budget_s, resolved.rate_key)


def latency_setup(result: LatencyResult) -> str:
    """Where and how a measurement ran, in one line (device and threads as the app labels them, dtype, mode,
    layout, budget, torch)."""
    s = result.settings
    layout = "channels_last" if s["channels_last"] else "NCHW"
    return (f"{device_label(result.device_type, result.device_name, s['threads'])}; {s['dtype']}, {s['mode']}, "
            f"{layout}, budget {s['budget_s']:g} s, torch {s['torch_version']}")


def format_result(result: LatencyResult) -> str:
    header = f"{result.name} on {latency_setup(result)}, {result.flops_per_image / 1e9:.3f} GFLOPs/image"
    frame = result.to_frame()[TABLE_COLUMNS].dropna(axis="columns", how="all")
    return f"{header}\n{frame.to_string(index=False, float_format=lambda v: f'{v:.4g}')}"
