"""Plots: the Pareto trace holds exactly the flagged designs, known models carry published acc@1 only, EDFs."""

from __future__ import annotations

import numpy as np
import pytest

from arch_lab import SpecError
from arch_lab.analysis import analyse
from arch_lab.explore import explore
from arch_lab.explore.plots import edf, edf_points, known_models, scatter
from arch_lab.presets import load_preset


@pytest.fixture(scope="module")
def result():
    return explore("resnet50-neighbourhood", 40, seed=0, objectives=["min:params", "max:macs"])


def test_scatter_draws_every_design_and_joins_the_front(result):
    figure = scatter(result, "macs", "params", known=["resnet18", "resnet50"])
    designs, front, models = figure.data
    assert len(designs.x) == 40
    flagged = result.table[result.table["pareto"]]
    assert sorted(front.text) == sorted(flagged["name"])
    assert list(front.x) == pytest.approx(sorted(flagged["macs"] / 1e9))  # in G, as the axis title says
    assert figure.layout.xaxis.title.text == "MACs (G)" and figure.layout.yaxis.title.text == "params (M)"
    assert list(models.x) == pytest.approx([analyse(load_preset(name)).macs / 1e9 for name in ("resnet18", "resnet50")])
    assert models.text[1] == "resnet50 80.9%"  # torchvision's resnet50 IMAGENET1K_V2: 80.858
    assert "2 of 2 within these axes" in models.name
    assert not any("acc@1" in str(name) for name in designs.text)  # no sampled design gets an accuracy


def test_known_models_use_torchvision_metadata():
    models = known_models("macs", "params", ["resnet18"])
    assert models.loc[0, "acc1"] == pytest.approx(69.758) and models.loc[0, "params"] == 11_689_512


def test_edf_points_count_values_at_or_below():
    xs, fs = edf_points([3, 1, 2, 2, float("nan")])
    assert xs.tolist() == [1, 2, 2, 3] and fs.tolist() == [0.25, 0.75, 0.75, 1.0]


def test_edf_overlays_one_curve_per_space(result):
    other = explore("cifar-resnet-depth", 10, seed=0)
    figure = edf({"r50": result, "cifar": other.table}, "params")
    assert [trace.name for trace in figure.data] == ["r50 (n=40)", "cifar (n=10)"]
    assert np.all(np.diff(figure.data[0].y) >= 0) and figure.data[0].y[-1] == 1.0
    with pytest.raises(SpecError, match="not a column"):
        edf({"r50": result}, "speed")
