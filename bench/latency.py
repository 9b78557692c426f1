"""Latency benchmark: presets x batch sizes x dtypes x modes (x layouts x thread counts), a table and a CSV.

Each batch size is measured on its own (``--budget`` seconds each) and each eager one is checked at once,
in the same run, against ``torch.utils.benchmark.Timer`` on an independently built copy of the same model:
``timer_ratio`` = our median / Timer's median (1.0 = agreement). Measuring the two back to back keeps a
change in the machine's load (``load_average``, recorded per row) from landing between them.

    python bench/latency.py --presets resnet20,resnet18,resnet50 --batch 1,8 --dtype fp32,bf16 \
        --mode eager,compile --threads 1,2 --budget 5 --csv latency.csv
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch
from torch.utils.benchmark import Timer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout: python bench/latency.py
from arch_lab import build_model, load_preset, measure_latency  # noqa: E402
from arch_lab.latency import DTYPES, parse_batch_sizes  # noqa: E402
from arch_lab.latency.devices import backend_flags, device_name  # noqa: E402
from arch_lab.latency.options import resolve_options  # noqa: E402

COLUMNS = ["preset", "device", "dtype", "mode", "layout", "threads", "load_average", "batch_size", "median_ms",
           "p10_ms", "p90_ms", "std_ms", "count", "throughput_img_s", "tflops", "peak_fraction", "peak_memory_mb",
           "compile_s", "timer_median_ms", "timer_ratio", "error"]


def timer_median_ms(preset: str, batch_size: int, device_type: str, dtype: str, channels_last: bool,
                    threads: int, min_run_time_s: float) -> float:
    """``torch.utils.benchmark.Timer``'s median for the same model, built and cast here, not by arch_lab.latency."""
    model = build_model(load_preset(preset), device=device_type).eval().to(dtype=DTYPES[dtype])
    spec = load_preset(preset)
    x = torch.randn(batch_size, spec.in_channels, *spec.input_size, device=device_type, dtype=DTYPES[dtype])
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)

    def run() -> None:
        with torch.inference_mode():
            model(x)

    with backend_flags(device_type, dtype, threads):
        measurement = Timer("run()", globals={"run": run}, num_threads=threads).blocked_autorange(
            min_run_time=min_run_time_s)
    return measurement.median * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="resnet20,resnet18,resnet50")
    parser.add_argument("--batch", default="1,8")
    parser.add_argument("--dtype", default="fp32,bf16")
    parser.add_argument("--mode", default="eager")
    parser.add_argument("--layout", default="nchw", help="nchw and/or channels_last")
    parser.add_argument("--threads", default=str(torch.get_num_threads()), help="CPU thread counts, e.g. 1,2")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--budget", type=float, default=5.0, help="seconds per measurement of one batch size")
    parser.add_argument("--timer-min-run-time", type=float, default=1.0, help="seconds; 0 skips the Timer check")
    parser.add_argument("--csv", default=None, help="write the table here")
    args = parser.parse_args(argv)
    device_type = resolve_options(device=args.device).device_type
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {device_name(device_type)}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    grid = itertools.product(args.presets.split(","), args.layout.split(","), args.dtype.split(","),
                             args.mode.split(","), [int(t) for t in args.threads.split(",")],
                             parse_batch_sizes(args.batch))
    for preset, layout, dtype, mode, threads, batch_size in grid:
        channels_last = layout == "channels_last"
        result = measure_latency(load_preset(preset), device=args.device, batch_sizes=(batch_size,), dtype=dtype,
                                 channels_last=channels_last, mode=mode, budget_s=args.budget, threads=threads)
        row = result.rows[0]
        record = {"preset": preset, "device": result.device_type, "dtype": dtype, "mode": mode, "layout": layout,
                  "threads": threads, "load_average": result.settings["load_average_1min"], **vars(row)}
        if mode == "eager" and row.error is None and args.timer_min_run_time > 0:
            reference = timer_median_ms(preset, batch_size, result.device_type, dtype, channels_last, threads,
                                        args.timer_min_run_time)
            record.update(timer_median_ms=reference, timer_ratio=row.median_ms / reference)
        rows.append(record)
        ratio = record.get("timer_ratio", float("nan"))
        print(f"{preset} {dtype} {mode} {layout} t{threads} b{batch_size}: {row.median_ms or float('nan'):.3f} ms, "
              f"ratio to Timer {ratio:.3f} {row.error or ''}", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    print(table.dropna(axis="columns", how="all").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"# wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
