"""Do MACs, activations or a fitted estimate predict measured latency here? (The RegNet paper's question.)

Samples small CIFAR-size designs (basic or bottleneck blocks, 3 stages of varied depth and width, 32x32
input), measures each with :func:`arch_lab.explore.measure.measure_designs`, fits the estimate of
:mod:`arch_lab.explore.estimate` and prints, per predictor, Pearson and Spearman correlation with the measured
latency and the held-out (k-fold) median absolute percentage error of an estimate fitted on it.

The whole set is measured ``--repeats`` times, interleaved (design 1..n, then again), and each design's
latency is the median of its repeats, so drift in the machine's load hits every design alike
(shared/notes/latency.md, sections 1.9 and 6). CPU measurements use one thread by default: on a small shared
machine a thread per core makes timings swing by large factors.

    python bench/latency_predictors.py --designs 24 --repeats 3 --budget 0.5 --threads 1 --csv out.csv
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
from arch_lab import ResNetSpec  # noqa: E402
from arch_lab.explore.estimate import (  # noqa: E402
    CV_FOLDS,
    ESTIMATE_COLUMN,
    cross_validate,
    fit_latency_model,
    latency_features,
    predictors,
)
from arch_lab.explore.measure import measure_designs  # noqa: E402
from arch_lab.latency.catalog import cpu_model  # noqa: E402

WIDTHS = (8, 16, 24, 32, 48, 64)


def sample_designs(count: int, seed: int) -> list[ResNetSpec]:
    """``count`` distinct designs: block type, per-stage depth 1..6 and non-decreasing widths drawn at random
    (seeded, so a rerun measures the same designs)."""
    rng = random.Random(seed)
    designs: dict[tuple, ResNetSpec] = {}
    while len(designs) < count:
        block = rng.choice(("basic", "bottleneck"))
        depths = tuple(rng.randint(1, 6) for _ in range(3))
        widths = tuple(sorted(rng.choice(WIDTHS) for _ in range(3)))
        # widths are the 3x3 convs' channels; a bottleneck stage outputs 4x as many
        spec = ResNetSpec(name=f"{block[:3]}{'-'.join(map(str, depths))}_w{'-'.join(map(str, widths))}", block=block,
                          depths=depths, widths=widths, strides=(1, 2, 2), stem="cifar", stem_width=widths[0],
                          num_classes=10, input_size=32)
        designs.setdefault(spec.network(), spec)
    return list(designs.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--budget", type=float, default=0.5, help="seconds per design per repeat")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", type=Path, help="write the per-design table here")
    args = parser.parse_args()

    specs = sample_designs(args.designs, args.seed)
    print(f"cpu: {cpu_model()} ({os.cpu_count()} cores), threads {args.threads}, batch {args.batch}, "
          f"{args.designs} designs x {args.repeats} repeats x {args.budget} s, load average {os.getloadavg()[0]:.2f}")
    runs = []
    for repeat in range(args.repeats):
        run = measure_designs(specs, batch_size=args.batch, budget_s=args.budget, device=args.device,
                              threads=args.threads)
        print(f"repeat {repeat + 1}: {(run.error == '').sum()}/{len(specs)} measured on {run.device.iloc[0]}, "
              f"load average {os.getloadavg()[0]:.2f}")
        runs.append(run.latency_ms)
    repeats = pd.concat(runs, axis=1)
    features = latency_features(specs, batch_size=args.batch)
    table = features.assign(name=[spec.name for spec in specs], latency_ms=repeats.median(axis=1),
                            spread=(repeats.max(axis=1) - repeats.min(axis=1)) / repeats.median(axis=1))
    table[ESTIMATE_COLUMN + "_heldout"] = cross_validate(features, table.latency_ms)
    model = fit_latency_model(features, table.latency_ms)
    table[ESTIMATE_COLUMN] = model.predict(features)

    shown = ["name", "macs", "activations", "layers", "latency_ms", "spread", ESTIMATE_COLUMN + "_heldout"]
    print("\nper design (spread = (max - min) / median of the repeats; the estimate held out of its own fit):")
    print(table[shown].sort_values("latency_ms").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\npredictors of measured latency ({model.designs} designs, {CV_FOLDS}-fold cross-validation):")
    print(predictors(table).drop(columns="description").to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\nfitted estimate (all designs): {model.intercept_ms:.4g} ms + "
          + " + ".join(f"{c:.3g} x {name}" for name, c in zip(model.features, model.coefficients, strict=True)
                       if c > 0))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
