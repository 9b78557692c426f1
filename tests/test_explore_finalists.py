"""``explore(..., measure_top=k)``: the k best designs are timed, every design gets an estimate once
enough were timed, and latency constraints and objectives then apply. The timing itself is replaced by
a known law (latency = 0.5 ms + 2 ns per MAC), so the wiring is checked exactly; the real measurement is
tested in test_explore_measure.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from arch_lab import analyse
from arch_lab.explore import explore, pareto_mask
from arch_lab.explore import measure as measure_module


def law(spec) -> float:
    return 0.5 + 2e-6 * analyse(spec).macs / 1e3


@pytest.fixture
def timed(monkeypatch):
    """Replaces the measurement with :func:`law`; records which designs were timed."""
    seen = []

    def fake(specs, *, on_result=None, **options):
        rows = []
        for i, spec in enumerate(specs):
            seen.append(spec.network())
            rows.append({"latency_ms": law(spec), "throughput_img_s": 1e3 / law(spec), "device": "fake", "error": ""})
            if on_result:
                on_result(i, rows[-1])
        return pd.DataFrame(rows)

    monkeypatch.setattr(measure_module, "measure_designs", fake)
    return seen


def test_the_k_best_are_timed_and_every_design_is_estimated(timed):
    result = explore("resnet50-neighbourhood", 60, seed=1, objectives=["min:params"], measure_top=12)
    table = result.table
    best = table.sort_values("params", kind="stable").head(12)
    assert sorted(timed) == sorted(spec.network() for spec in explore_specs(best))
    assert table["latency_ms"].notna().sum() == 12
    np.testing.assert_allclose(best["latency_ms"], [law(s) for s in explore_specs(best)])
    # MACs is one of the estimate's features, so the fitted model recovers the law for the untimed designs
    np.testing.assert_allclose(table["latency_est_ms"], [law(s) for s in result.specs()], rtol=1e-6)
    assert result.latency_model is not None and "ESTIMATED" in result.summary()


def test_latency_constraints_and_objectives_apply_after_timing(timed):
    result = explore("resnet50-neighbourhood", 60, seed=1, objectives=["min:params", "min:latency_est_ms"],
                     constraints=["latency_est_ms<=6"], measure_top=12)
    table = result.table
    assert len(table) and (table["latency_est_ms"] <= 6).all()
    values = table[["params", "latency_est_ms"]].to_numpy(dtype=float)
    assert (table["pareto"].to_numpy() == pareto_mask(values, [False, False])).all()


def test_too_few_timed_designs_give_no_estimate_and_latency_needs_measuring(timed):
    result = explore("cifar-resnet-depth", 5, seed=0, objectives=["min:params"], measure_top=3)
    assert result.latency_model is None and result.table["latency_est_ms"].isna().all()
    with pytest.raises(ValueError, match="latency_ms"):
        explore("cifar-resnet-depth", 5, objectives=["min:latency_ms"])


def explore_specs(table):
    from arch_lab.explore.finalists import specs_of

    return specs_of(table)


def test_cli_times_the_top_designs_for_real(tmp_path, capsys):
    from arch_lab.cli import main

    out = tmp_path / "designs.csv"
    status = main(["explore", "cifar-resnet-depth", "--n", "3", "--seed", "0", "--constraint", "params<=300000",
                   "--objective", "min:params", "--measure-top", "2", "--budget", "1.5", "--csv", str(out)])
    assert status == 0
    assert capsys.readouterr().err.count("timed design") == 2
    table = pd.read_csv(out)
    timed = table[table["latency_ms"].notna()]
    assert len(timed) == 2 and (timed["latency_ms"] > 0).all()
    assert set(timed["params"]) == set(table["params"].nsmallest(2))  # the two best by the objective
    assert main(["explore", "cifar-resnet-depth", "--ray", "auto"]) == 2  # --ray without --measure-top
