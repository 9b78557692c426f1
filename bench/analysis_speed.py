"""How long a full analysis takes: ``arch_lab.analyse()`` against the pipeline a user writes today.

Naive pipeline, per design: build the torchvision model (random init), fvcore ``FlopCountAnalysis(...)
.total()`` and a torchinfo ``summary()`` at batch 1. Ours: a cold ``analyse()`` (report and plan caches
cleared) whose full report is materialised (``to_dict()``, the layer and stage DataFrames); and the
headline numbers alone (params and MACs per stage) cold and from the cache. Library imports are done
before timing on both sides. Prints medians and the ratio; run ``python bench/analysis_speed.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import torch
import torchvision
import torchvision.models as tvm
from torchinfo import summary

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout: python bench/analysis_speed.py
from arch_lab import analyse, load_preset  # noqa: E402
from arch_lab.analysis import clear_cache  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # fvcore's import uses the deprecated torch.jit.script
    import fvcore  # noqa: E402
    from fvcore.nn import FlopCountAnalysis  # noqa: E402


def median_seconds(run: Callable[[], object], repeat: int, setup: Callable[[], object] = lambda: None) -> float:
    times = []
    for _ in range(repeat):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def naive(name: str) -> None:
    model = getattr(tvm, name)().eval()
    x = torch.randn(1, 3, 224, 224)
    flops = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    flops.total()
    summary(model, input_size=(1, 3, 224, 224), device="cpu", verbose=0)


def full_report(name: str) -> None:
    report = analyse(load_preset(name))
    report.to_dict(), report.layers, report.stages


def headline(name: str) -> None:
    report = analyse(load_preset(name))
    report.params, report.stages[["stage", "params", "macs"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat-naive", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    print(f"{platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), torchvision {torchvision.__version__}, "
          f"fvcore {fvcore.__version__}, python {platform.python_version()}")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, load average {load}; medians of {args.repeat_naive} "
          f"naive runs and {args.repeat} runs of ours, in ms\n")
    print(f"{'design':<11}{'naive':>10}{'ours full':>11}{'ratio':>8}{'headline cold':>15}{'headline cached':>17}")
    for name in ("resnet50", "resnet152"):
        naive(name)  # warm-up: first tracer and allocator calls
        naive_s = median_seconds(partial(naive, name), args.repeat_naive)
        ours_s = median_seconds(partial(full_report, name), args.repeat, setup=clear_cache)
        cold_s = median_seconds(partial(headline, name), args.repeat, setup=clear_cache)
        cached_s = median_seconds(partial(headline, name), args.repeat)
        print(f"{name:<11}{1e3 * naive_s:>10.1f}{1e3 * ours_s:>11.2f}{naive_s / ours_s:>7.0f}x"
              f"{1e3 * cold_s:>15.2f}{1e3 * cached_s:>17.3f}")


if __name__ == "__main__":
    main()
