"""The latency estimate: plan features, exact recovery of a linear relation, held-out error, predictors.

No timing here: latencies are made up from known relations, so every expected number is exact.
"""

from __future__ import annotations

from math import prod

import numpy as np
import pandas as pd
import pytest

from arch_lab import SpecError, analyse, load_preset
from arch_lab.explore.estimate import (
    CV_FOLDS,
    ESTIMATE_COLUMN,
    MIN_DESIGNS,
    cross_validate,
    fit_latency_model,
    latency_features,
    predictors,
)

RESNET20 = load_preset("resnet20")
SPECS = [RESNET20.replace(name=f"d{depth}w{width}", depths=(depth,) * 3, stem_width=width,
                          widths=(width, 2 * width, 4 * width))
         for depth in (1, 2, 3, 5) for width in (8, 16, 24)]


def test_features_come_from_the_analytic_plan() -> None:
    features = latency_features(SPECS[:3], batch_size=2)
    for spec, (_, row) in zip(SPECS[:3], features.iterrows(), strict=True):
        report = analyse(spec, batch_size=2)
        layers = report.layers
        assert row.macs == report.macs and row.activations == report.activations
        assert row.weight_bytes == 4 * report.params
        assert row.layers == len(layers) and row.convs == (layers.type == "Conv2d").sum()
        assert row.activation_bytes == 4 * sum(prod(shape) for shape in layers.output_shape)


def test_features_from_a_table_by_its_columns_or_its_specs() -> None:
    from_specs = latency_features(SPECS)
    table = pd.DataFrame({"spec": [spec.to_dict() for spec in SPECS]}, index=[f"x{i}" for i in range(len(SPECS))])
    pd.testing.assert_frame_equal(latency_features(table), from_specs.set_axis(table.index))
    pd.testing.assert_frame_equal(latency_features(from_specs.assign(name="n")), from_specs)
    with pytest.raises(SpecError, match="'spec' column"):
        latency_features(from_specs.drop(columns="convs"))


def test_recovers_a_known_linear_relation_exactly() -> None:
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.uniform(1, 100, size=(20, 3)) * [1e6, 1e3, 1.0], columns=["a", "b", "c"])
    truth = np.array([2e-8, 0.0, 0.05])
    measured = 0.4 + features.to_numpy() @ truth
    model = fit_latency_model(features, measured)
    np.testing.assert_allclose(model.coefficients, truth, rtol=1e-9, atol=1e-15)
    assert model.intercept_ms == pytest.approx(0.4, rel=1e-9)
    assert model.cv_error < 1e-9 and model.cv_folds == CV_FOLDS and model.designs == 20
    np.testing.assert_allclose(model.predict(features), measured, rtol=1e-9)


def test_recovers_latency_from_real_design_features() -> None:
    """Layers and convs are collinear in these designs (layers = 2 x convs + const), so only the estimate,
    not each coefficient, is determined: it must still be exact."""
    features = latency_features(SPECS)
    measured = 0.3 + 2e-8 * features.macs + 5e-9 * features.activation_bytes + 0.01 * features.layers
    model = fit_latency_model(features, measured)
    np.testing.assert_allclose(model.predict(features), measured, rtol=1e-9)
    assert min(model.coefficients) >= 0 and model.intercept_ms >= 0


def test_cv_error_is_measured_on_held_out_folds() -> None:
    """Feature a_j is non-zero only in fold j (designs j and j + 5): a fit that holds fold j out never sees it,
    so those designs are estimated at 1 ms against 2 ms measured (50% off), while a fit on all of them is
    exact. Folds 3 and 4 have no such feature and are estimated exactly. The 11th design is unmeasured."""
    folds = np.arange(11) % CV_FOLDS
    features = pd.DataFrame({f"a{j}": (folds == j).astype(float) for j in range(3)})
    measured = 1.0 + features.sum(axis=1).to_numpy()
    measured[10] = np.nan
    model = fit_latency_model(features, measured)
    np.testing.assert_allclose(model.predict(features)[:10], measured[:10], rtol=1e-12)  # in-sample: exact
    held_out = cross_validate(features, measured)
    np.testing.assert_allclose(held_out[:10], np.ones(10), rtol=1e-12)
    assert np.isnan(held_out[10])
    assert model.cv_error == pytest.approx(0.5)  # median of six 50% errors and four 0% errors
    assert model.designs == 10


def test_refuses_to_fit_on_too_few_measured_designs() -> None:
    features = latency_features(SPECS[:MIN_DESIGNS])
    measured = np.arange(1.0, MIN_DESIGNS + 1)
    measured[0] = np.nan  # a failed design does not count
    with pytest.raises(SpecError, match=f"{MIN_DESIGNS - 1} measured designs.*at least {MIN_DESIGNS}"):
        fit_latency_model(features, measured)
    with pytest.raises(SpecError, match="3 values for 10 designs"):
        fit_latency_model(features, [1.0, 2.0, 3.0])


def test_predictors_correlations_are_pandas_own() -> None:
    features = latency_features(SPECS)
    # not linear in any feature, so no predictor is perfect; one design failed
    latency = 0.2 + 1e-8 * features.macs + 3e-4 * features.layers ** 1.5 + 1e-3 * np.sqrt(features.weight_bytes)
    table = features.assign(latency_ms=latency)
    table.loc[4, "latency_ms"] = np.nan
    result = predictors(table)
    assert list(result.index) == ["macs", "activations", ESTIMATE_COLUMN]
    assert "estimated" in result.description[ESTIMATE_COLUMN]
    measured = table.dropna(subset=["latency_ms"])
    held_out = cross_validate(features, table.latency_ms)
    measured = measured.assign(**{ESTIMATE_COLUMN: held_out[table.latency_ms.notna()]})
    for predictor in result.index:
        pair = measured[[predictor, "latency_ms"]]
        assert result.pearson[predictor] == pytest.approx(pair.corr().iloc[0, 1], rel=1e-12)
        assert result.spearman[predictor] == pytest.approx(pair.corr(method="spearman").iloc[0, 1], rel=1e-12)
    assert result.est_cv_error[ESTIMATE_COLUMN] == pytest.approx(
        fit_latency_model(features, table.latency_ms).cv_error, rel=1e-12)
    assert result.est_cv_error["macs"] == pytest.approx(
        fit_latency_model(features[["macs"]], table.latency_ms).cv_error, rel=1e-12)
    with pytest.raises(SpecError, match="no 'latency_ms' column"):
        predictors(features)

