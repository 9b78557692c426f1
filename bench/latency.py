"""Latency benchmark: presets x batch sizes x dtypes x modes (x layouts x thread counts), a table and a CSV.

Each batch size is measured on its own (``--budget`` seconds each) and each eager one is checked at once,
in the same run, against ``torch.utils.benchmark.Timer`` on an independently built copy of the same model,
for both of our figures:

* ``latency_ratio`` = our median / Timer's median of a statement that waits for each call to finish
  (``torch.cuda.synchronize()`` inside the statement on a GPU: Timer itself syncs only between blocks,
  which would compare our single-call latency with a back-to-back rate);
* ``throughput_ratio`` = our throughput / the images per second of Timer's back-to-back blocks.

1.0 = agreement. Measuring back to back keeps a change in the machine's load (``load_average``, recorded
per row) from landing between them. The environment (driver, clocks, power limit, MIG mode on a GPU) is
printed first and repeated in every CSV row.

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
from arch_lab.latency.devices import backend_flags, device_for  # noqa: E402
from arch_lab.latency.options import resolve_options  # noqa: E402

ENVIRONMENT = ["torch_version", "cuda_version", "cudnn_version", "cpu_model", "gpu_sm_count", "gpu_memory_mb",
               "gpu_driver", "gpu_max_sm_clock_mhz", "gpu_power_limit_w", "gpu_mig_mode", "gpu_persistence_mode"]
"""Facts about the machine, repeated in every CSV row (the GPU ones are absent on a CPU)."""

COLUMNS = ["preset", "device", "dtype", "mode", "layout", "threads", "load_average", "batch_size", "median_ms",
           "p10_ms", "p90_ms", "std_ms", "count", "throughput_img_s", "throughput_calls", "tflops", "peak_fraction",
           "peak_memory_mb", "peak_reserved_mb", "setup_s", "cold_ms", "compile_s", "compile_cache", "sm_clock_mhz",
           "power_w", "temperature_c", "throttle_reasons", "timer_latency_ms", "latency_ratio",
           "timer_throughput_img_s", "throughput_ratio", "note", "error", *ENVIRONMENT]


def timer_reference(preset: str, batch_size: int, device_type: str, dtype: str, channels_last: bool,
                    threads: int, min_run_time_s: float) -> tuple[float, float]:
    """``torch.utils.benchmark.Timer`` on the same model, built and cast here, not by arch_lab.latency:
    (median ms of a call that is waited for, images per second of back-to-back calls)."""
    spec = load_preset(preset)
    model = build_model(spec, device=device_type).eval().to(dtype=DTYPES[dtype])
    x = torch.randn(batch_size, spec.in_channels, *spec.input_size, device=device_type, dtype=DTYPES[dtype])
    if channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    wait = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)

    def run() -> None:
        with torch.inference_mode():
            model(x)

    def run_and_wait() -> None:
        run()
        wait()

    with backend_flags(device_type, dtype, threads):
        latency = Timer("run_and_wait()", globals={"run_and_wait": run_and_wait}, num_threads=threads)
        back_to_back = Timer("run()", globals={"run": run}, num_threads=threads)
        latency_ms = latency.blocked_autorange(min_run_time=min_run_time_s).median * 1e3
        throughput = batch_size / back_to_back.blocked_autorange(min_run_time=min_run_time_s).median
    return latency_ms, throughput


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
    where = device_for(device_type)
    env = {key: value for key, value in where.environment().items() if key in ENVIRONMENT}
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {where.name}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}", flush=True)
    print("# " + ", ".join(f"{key}={value}" for key, value in env.items()), flush=True)
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
                  "threads": threads, "load_average": result.settings["load_average_1min"], **vars(row), **env}
        if mode == "eager" and row.error is None and args.timer_min_run_time > 0:
            latency_ms, throughput = timer_reference(preset, batch_size, result.device_type, dtype, channels_last,
                                                     threads, args.timer_min_run_time)
            record.update(timer_latency_ms=latency_ms, latency_ratio=row.median_ms / latency_ms,
                          timer_throughput_img_s=throughput,
                          throughput_ratio=(row.throughput_img_s or float("nan")) / throughput)
        rows.append(record)
        print(f"{preset} {dtype} {mode} {layout} t{threads} b{batch_size}: {row.median_ms or float('nan'):.3f} ms, "
              f"{row.throughput_img_s or float('nan'):.1f} img/s, ratios to Timer "
              f"{record.get('latency_ratio', float('nan')):.3f} / {record.get('throughput_ratio', float('nan')):.3f} "
              f"{row.error or ''}", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    shown = table.drop(columns=[*ENVIRONMENT, "note", "throttle_reasons"]).dropna(axis="columns", how="all")
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"# wrote {args.csv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
