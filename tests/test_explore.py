"""explore(): numbers equal analyse(), constraints hold, Pareto flags equal brute force, seeds reproduce,
exports reload into the same designs, the grid is exact and refused when too big, Optuna search runs."""

from __future__ import annotations

import io
import itertools
import json
import math
import random

import numpy as np
import pandas as pd
import pytest
from hunting import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arch_lab import ResNetSpec, SpecError, load_preset
from arch_lab.analysis import analyse
from arch_lab.explore import explore, pareto_mask
from arch_lab.explore.dimensions import LogUniform

HEADLINE = ("params", "macs", "flops", "activations", "activations_mb")


def brute_force_front(values: np.ndarray, maximise: list[bool]) -> list[bool]:
    """Row i is on the front when no row j is >= as good everywhere and strictly better somewhere."""
    signed = [[-v if up else v for v, up in zip(row, maximise, strict=True)] for row in values.tolist()]
    return [not any(all(b <= a for a, b in zip(p, q, strict=True)) and any(b < a for a, b in zip(p, q, strict=True))
                    for q in signed) for p in signed]


@settings(max_examples=examples(150))
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(0, 4), min_size=3, max_size=3), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=0, max_size=3))))
def test_pareto_mask_equals_brute_force(case):
    rows, maximise = case
    values = np.array([row[:len(maximise)] for row in rows], dtype=float).reshape(len(rows), len(maximise))
    assert pareto_mask(values, maximise).tolist() == brute_force_front(values, maximise)


def test_pareto_mask_leaves_nan_rows_off_the_front():
    values = np.array([[1.0, 5.0], [float("nan"), 0.0], [2.0, 4.0]])
    assert pareto_mask(values, [False, False]).tolist() == [True, False, True]


SMALL_BASE = {"name": "b", "block": "basic", "depths": [1, 1, 1], "widths": [8, 16, 32], "strides": [1, 2, 2],
              "stem": "cifar", "stem_width": 8, "num_classes": 10, "input_size": 32}


@st.composite
def small_spaces(draw) -> dict:
    """Spaces over a small CIFAR-size base, mixing every sampler kind, per-stage and shared."""
    fields = {}
    if draw(st.booleans()):
        low = draw(st.integers(1, 3))
        fields["depths"] = {"range": [low, low + draw(st.integers(0, 3))], "per_stage": draw(st.booleans())}
    if draw(st.booleans()) or not fields:
        fields["widths"] = {"log_uniform": [4, draw(st.sampled_from([16, 40, 64]))], "quantum": 4,
                            "per_stage": draw(st.booleans())}
    if draw(st.booleans()):
        fields["block"] = {"choices": ["basic", "bottleneck"], "per_stage": draw(st.booleans())}
    if draw(st.booleans()):
        fields["shortcut"] = {"choices": ["projection", "zero_pad", "avg_down"]}
    return {"name": "prop", "base": SMALL_BASE, "fields": fields}


@settings(max_examples=examples(25), suppress_health_check=[HealthCheck.too_slow])
@given(small_spaces(), st.integers(0, 2**32))
def test_every_row_is_a_design_of_the_space_and_counts_as_analyse_does(space, seed):
    result = explore(space, 6, seed=seed, constraints=["params<=60000"], max_tries=300)
    assert result.tries == result.accepted + sum(result.rejected.values())
    assert result.acceptance_rate == pytest.approx(result.accepted / result.tries)
    base = ResNetSpec.from_dict(SMALL_BASE).to_dict()
    for spec, row in zip(result.specs(), result.table.to_dict("records"), strict=True):
        report = analyse(spec)
        assert {m: row[m] for m in HEADLINE} == {m: getattr(report, m) for m in HEADLINE}
        assert row["params"] <= 60000 and row["num_blocks"] == sum(spec.depths)
        for name, value in spec.to_dict().items():  # fields the space does not vary keep the base's value
            if name not in space["fields"] and name != "name":
                assert value == base[name], name
        sampled = space["fields"]
        if "depths" in sampled:
            low, high = sampled["depths"]["range"]
            assert all(low <= d <= high for d in spec.depths)
            assert sampled["depths"]["per_stage"] or len(set(spec.depths)) == 1
        if "widths" in sampled:
            assert all(w % 4 == 0 and 4 <= w <= sampled["widths"]["log_uniform"][1] for w in spec.widths)
    assert len({spec.network() for spec in result.specs()}) == result.accepted  # no duplicate designs


def test_constraints_hold_for_every_row_and_reject_the_rest():
    result = explore("resnet50-neighbourhood", 40, seed=3, constraints=["2e9<=macs<=4e9", "params<25e6"])
    assert result.accepted == 40 and result.rejected["constraint"] > 0
    for spec in result.specs():
        report = analyse(spec)
        assert 2e9 <= report.macs <= 4e9 and report.params < 25e6


def test_same_seed_same_table_and_another_seed_another():
    args = {"n": 30, "constraints": ["macs<=4e9"], "objectives": ["min:params", "max:macs"]}
    first = explore("resnet50-neighbourhood", seed=7, **args)
    pd.testing.assert_frame_equal(first.table, explore("resnet50-neighbourhood", seed=7, **args).table)
    assert not first.table["depths"].equals(explore("resnet50-neighbourhood", seed=8, **args).table["depths"])


def test_table_pareto_column_equals_brute_force_on_its_metrics():
    result = explore("anynetx-400mf", 25, seed=1, max_tries=200_000, objectives=["min:params", "max:activations"])
    values = result.table[["params", "activations"]].to_numpy(dtype=float)
    assert result.table["pareto"].tolist() == brute_force_front(values, [False, True])
    assert all(360e6 <= macs <= 400e6 for macs in result.table["macs"])  # the space's own regime constraint


def test_json_rows_reload_into_the_same_designs_with_their_numbers(tmp_path):
    result = explore("resnet50-neighbourhood", 20, seed=0, objectives=["min:params"])
    path = tmp_path / "designs.json"
    result.to_json(path)
    data = json.loads(path.read_text())
    assert len(data["designs"]) == 20 and data["accepted"] == 20
    for design, row in zip(data["designs"], result.table.to_dict("records"), strict=True):
        spec = ResNetSpec.from_dict(design["spec"])
        assert spec.to_dict() == design["spec"] and spec.name == row["name"]
        report = analyse(spec)
        assert design["metrics"]["params"] == report.params and design["metrics"]["macs"] == report.macs
        assert design["pareto"] == bool(row["pareto"])
    assert sum(d["pareto"] for d in data["designs"]) == 1  # one design has the fewest params


def test_csv_has_a_row_per_design_with_lists_as_json():
    result = explore("cifar-resnet-depth", 5, seed=0)
    table = pd.read_csv(io.StringIO(result.to_csv()))
    assert len(table) == 5
    assert [json.loads(text) for text in table["depths"]] == [list(spec.depths) for spec in result.specs()]
    assert table["params"].tolist() == [analyse(spec).params for spec in result.specs()]


def test_the_cifar_grid_is_the_6n_plus_2_family():
    result = explore("cifar-resnet-depth", None, method="grid", objectives=["min:params", "min:macs"])
    assert result.accepted == result.tries == 200 and result.complete
    assert [list(spec.depths) for spec in result.specs()] == [[n] * 3 for n in range(1, 201)]
    networks = [spec.network() for spec in result.specs()]
    for preset, n in (("resnet20", 3), ("resnet56", 9), ("resnet110", 18)):
        assert networks[n - 1] == load_preset(preset).network()
    assert result.table["pareto"].tolist() == [True] + [False] * 199  # the shallowest is smallest in both


def test_a_grid_beyond_the_limit_is_refused_with_its_size():
    size = 8**4 * 6 * 7 * 6  # depths 1..8 per stage, 6 width lists, 7 groups, 6 widths per group
    with pytest.raises(SpecError, match=f"{size:,} designs"):
        explore("resnet50-neighbourhood", None, method="grid")


def test_tries_are_bounded_and_an_incomplete_result_says_so():
    result = explore("anynetx-400mf", 50, seed=0, max_tries=500)
    assert result.tries == 500 and result.accepted < 50 and not result.complete


def test_a_small_grid_enumerates_every_combination_once():
    space = {"name": "g", "base": SMALL_BASE, "fields": {
        "depths": {"range": [1, 2], "per_stage": True}, "widths": {"choices": [[8, 16, 32], [16, 32, 64]]}}}
    result = explore(space, None, method="grid")
    expected = {(depths, widths) for depths in itertools.product([1, 2], repeat=3)
                for widths in ((8, 16, 32), (16, 32, 64))}
    assert {(spec.depths, spec.widths) for spec in result.specs()} == expected and result.accepted == 16


def test_log_uniform_draws_are_quantised_and_spread_in_log_space():
    dimension = LogUniform(8, 512, 8)
    rng = random.Random(0)
    widths = np.array([dimension.draw(rng) for _ in range(4000)])
    assert set(widths.tolist()) <= set(range(8, 513, 8)) == set(dimension.grid())
    # half the log-range lies below the geometric mean 64; a uniform draw would put ~12% there
    assert 0.45 < (widths <= math.sqrt(8 * 512)).mean() < 0.56


def test_optuna_search_minimises_a_tiny_objective():
    pytest.importorskip("optuna")

    def objective(spec: ResNetSpec) -> float:
        return abs(sum(spec.depths) - 10)

    first = explore("resnet50-neighbourhood", 12, seed=0, method="optuna", objective=objective)
    again = explore("resnet50-neighbourhood", 12, seed=0, method="optuna", objective=objective)
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.accepted == 12
    assert first.table["objective"].tolist() == [abs(sum(spec.depths) - 10) for spec in first.specs()]
    for spec in first.specs():
        assert analyse(spec).params == first.table.set_index("name").loc[spec.name, "params"]


@pytest.mark.parametrize("kwargs, field", [
    ({"method": "optuna"}, "objective"),
    ({"objective": len}, "objective"),
    ({"method": "annealing"}, "method"),
    ({"n": 0}, "n"),
    ({"n": None}, "n"),
    ({"max_tries": 0}, "max_tries"),
    ({"constraints": ["latency<=3"]}, "constraints[0]"),
    ({"constraints": ["macs<=nan"]}, "constraints[0]"),
    ({"constraints": ["1<=macs>=3"]}, "constraints[0]"),
    ({"objectives": ["down:params"]}, "objectives[0]"),
])
def test_bad_arguments_name_their_field(kwargs, field):
    with pytest.raises(SpecError) as info:
        explore("cifar-resnet-depth", **{"n": 3, **kwargs})
    assert info.value.field == field
