"""Designs per second of ``explore()`` random sampling, beside a cold ``analyse()`` per design, on one core.

    PYTHONPATH=. python bench/explore_speed.py [--n 20000] [--analyse 300] [--space resnet50-neighbourhood]

Pinned to one CPU. ``explore`` starts with empty caches (its parts counter then counts each distinct
stage once and reuses the blocks that designs share, which is how a sweep runs); every ``analyse`` call
starts cold (``clear_cache()`` first), the cost of counting one design on its own. The breakdown then
times each step of a try on the same sampled values, so the explorer's own overhead (sampling,
validation, row building) is seen apart from counting: by the explorer's parts counter (a fresh one, as
a run starts, then with every part known) and, for comparison, by ``sweep_metrics`` (the whole network).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import statistics
import time

from arch_lab.analysis import analyse, clear_cache
from arch_lab.analysis.sweep import sweep_metrics
from arch_lab.explore import explore, load_space
from arch_lab.explore.counter import PartsCounter, network_of


def per_item_us(function, items) -> float:
    start = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="designs explore() finds")
    parser.add_argument("--analyse", type=int, default=300, help="designs analysed cold, one by one")
    parser.add_argument("--space", default="resnet50-neighbourhood")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    clear_cache()
    start = time.perf_counter()
    result = explore(args.space, args.n, seed=0, objectives=["min:params", "max:macs"])
    explore_s = time.perf_counter() - start
    explore_rate = result.accepted / explore_s
    print(f"explore(): {result.summary()}")
    print(f"explore(): {result.accepted:,} designs in {explore_s:.2f} s = {explore_rate:,.0f} designs/s "
          f"({result.tries / explore_s:,.0f} tries/s)")

    # only these specs are kept: holding all 20,000 meanwhile made every analyse() ~25% slower (the garbage
    # collector walks them), which would flatter the ratio
    specs = list(itertools.islice(result.specs(), args.analyse))

    def cold(spec) -> None:
        clear_cache()
        analyse(spec)

    # the run's table (~400,000 objects) is long-lived, not garbage: frozen, the collector's full passes no
    # longer walk it, which otherwise added 0-70% to a pass of analyse() depending on where they fell; the
    # median of 5 passes takes care of the rest
    gc.collect()
    gc.freeze()
    analyse_us = statistics.median(per_item_us(cold, specs) for _ in range(5))
    gc.unfreeze()
    print(f"analyse() cold: {analyse_us:,.0f} us/design = {1e6 / analyse_us:,.0f} designs/s")
    print(f"ratio: explore() is {explore_rate * analyse_us / 1e6:,.1f}x cold analyse() per design")

    space, rng = load_space(args.space), random.Random(1)
    values = [space.draw(rng) for _ in range(5_000)]
    steps = {
        "draw (sampling)": per_item_us(lambda _: space.draw(rng), range(5_000)),
        "build (spec validation)": per_item_us(lambda v: _build(space, v), values),
    }
    valid = list(result.specs())  # the run's designs, within the request limits as sweep_metrics needs
    steps["dedupe key (hash of network)"] = per_item_us(lambda s: hash(network_of(s)), valid)
    steps["row (to_dict)"] = per_item_us(lambda s: s.to_dict(), valid)
    clear_cache()
    counter = PartsCounter()
    steps["count: parts counter, fresh"] = per_item_us(counter.metrics, valid)
    steps["count: parts counter, all known"] = per_item_us(counter.metrics, valid)
    clear_cache()
    steps["count: sweep_metrics, caches warming"] = per_item_us(sweep_metrics, valid)
    steps["count: sweep_metrics, warm"] = per_item_us(sweep_metrics, valid)
    print("where a try's time goes (us per design):")
    for step, us in steps.items():
        print(f"  {step:<36} {us:8.1f}")
    own = sum(us for step, us in steps.items() if not step.startswith("count"))
    print(f"  {'explorer overhead (no counting)':<36} {own:8.1f}")


def _build(space, values) -> None:
    try:
        space.build(values, "d")
    except ValueError:  # an invalid sample costs its validation too
        pass


if __name__ == "__main__":
    main()
