"""Estimated latency for every design, fitted on the designs that were measured.

Measuring a design takes seconds; its analytic plan takes a millisecond. So a sweep measures a sample (or its
finalists) and estimates the rest with a small linear model over plan features,
``latency ~ overhead + sum(cost_i * feature_i)``. The fit is non-negative least squares: each coefficient is
the cost of one unit of work (a MAC, a byte written, a layer launched), which cannot be negative, and the
constraint keeps correlated features (layers and convs, MACs and bytes) from cancelling each other into an
estimate that extrapolates to negative times. It minimises *relative* error, since designs span orders of
magnitude in latency and a ranking cares about the small ones as much as the big ones. numpy only: no scipy.

:func:`predictors` answers the RegNet paper's question for the measured device: how well do MACs, activations
and the fitted estimate predict measured latency? The estimate is judged on held-out folds only.
Everything estimated says so: the estimate's column is ``latency_est_ms``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod
from typing import Any

import numpy as np
import pandas as pd

from arch_lab.analysis import analyse
from arch_lab.errors import SpecError
from arch_lab.spec import ResNetSpec

FEATURES = {
    "macs": "multiply-accumulates of conv and linear layers, per batch",
    "activations": "output elements of conv and linear layers, per batch (RegNet's 'activations')",
    "activation_bytes": "fp32 bytes written by every planned layer (conv, BN, pooling, shortcut, fc), per batch; "
                        "ReLU and residual adds are not in the plan",
    "weight_bytes": "fp32 bytes of the parameters",
    "layers": "planned modules (conv, BN, pooling, shortcut, fc): roughly the kernels an eager call launches",
    "convs": "conv layers",
}
"""The features the estimate uses, from the analytic plan (:func:`arch_lab.analysis.analyse`)."""
ESTIMATE_COLUMN = "latency_est_ms"
MIN_DESIGNS = 10
"""Fewest measured designs to fit on: with :data:`CV_FOLDS` folds each fit then sees at least 8 designs for its
7 coefficients (6 features and the overhead)."""
CV_FOLDS = 5
"""k of the k-fold cross-validation. Measured design i (counting only measured ones) is held out in fold i % k."""


@dataclass(frozen=True)
class LatencyModel:
    """``estimated latency (ms) = intercept_ms + sum(coefficients[f] * features[f])``, fitted on measured designs.

    ``cv_error`` is the median absolute percentage error (as a fraction: 0.1 = 10%) of held-out estimates in
    ``cv_folds``-fold cross-validation over the ``designs`` measured designs it was fitted on.
    """

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    """Milliseconds per unit of each feature (non-negative)."""
    intercept_ms: float
    """Fixed cost of a call (non-negative): Python, dispatch, the first kernel's launch."""
    cv_error: float
    cv_folds: int
    designs: int

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Estimated latency (ms) of each row of ``features`` (a :func:`latency_features` table)."""
        missing = [name for name in self.features if name not in features.columns]
        if missing:
            raise SpecError("features", f"missing column(s) {', '.join(missing)}; use latency_features()")
        return self.intercept_ms + features[list(self.features)].to_numpy(dtype=float) @ np.array(self.coefficients)


def latency_features(designs: Sequence[ResNetSpec] | pd.DataFrame, *, batch_size: int = 1) -> pd.DataFrame:
    """A row of :data:`FEATURES` per design (floats: they are the estimate's inputs), from specs or from a table.

    A table that already has every feature column is used as it is; else it needs a ``spec`` column of
    :class:`ResNetSpec` (or spec dicts), whose plans give the features. A table keeps its index.
    """
    if isinstance(designs, pd.DataFrame):
        if set(FEATURES) <= set(designs.columns):
            return designs[list(FEATURES)].astype(float)
        if "spec" not in designs.columns:
            raise SpecError("designs", f"a table needs the columns {', '.join(FEATURES)} or a 'spec' column")
        specs, index = [_as_spec(value) for value in designs["spec"]], designs.index
    else:
        specs, index = [_as_spec(value) for value in designs], None
    rows = [_features(spec, batch_size) for spec in specs]
    return pd.DataFrame(rows, columns=list(FEATURES), index=index).astype(float)


def _as_spec(value: Any) -> ResNetSpec:
    if isinstance(value, ResNetSpec):
        return value
    if isinstance(value, dict):
        return ResNetSpec.from_dict(value)
    raise SpecError("spec", f"expected a ResNetSpec or a spec dict, got {type(value).__name__}")


def _features(spec: ResNetSpec, batch_size: int) -> dict[str, int]:
    report = analyse(spec, batch_size=batch_size)
    records = report.layer_records()
    return {"macs": report.macs, "activations": report.activations,
            "activation_bytes": 4 * sum(prod(record["output_shape"]) for record in records),
            "weight_bytes": 4 * report.params, "layers": len(records),
            "convs": sum(record["type"] == "Conv2d" for record in records)}


def fit_latency_model(features: pd.DataFrame, measured_ms: Sequence[float] | np.ndarray | pd.Series) -> LatencyModel:
    """Fit the estimate on the measured designs (rows whose ``measured_ms`` is NaN, failed designs, are left
    out). Uses every column of ``features``. Refuses, with :class:`SpecError`, fewer than :data:`MIN_DESIGNS`
    measured designs: a cross-validated error needs designs to hold out."""
    x, y = _measured(features, measured_ms)
    coefficients, intercept = _fit(x, y)
    held_out = _cross_validate(x, y)
    return LatencyModel(tuple(features.columns), tuple(float(c) for c in coefficients), float(intercept),
                        float(np.median(np.abs(held_out - y) / y)), CV_FOLDS, len(y))


def cross_validate(features: pd.DataFrame, measured_ms: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    """Each measured design's estimate (ms) from a fit that did not see it (:data:`CV_FOLDS` folds, design i of
    the measured ones in fold i % k); NaN for designs without a measurement."""
    x, y = _measured(features, measured_ms)
    out = np.full(len(features), np.nan)
    out[_kept(features, measured_ms)] = _cross_validate(x, y)
    return out


def predictors(table: pd.DataFrame, *, measured: str = "latency_ms", batch_size: int = 1) -> pd.DataFrame:
    """How well MACs, activations and the estimate predict the measured latency in ``table[measured]``.

    A row per predictor with Pearson and Spearman correlation against the measured latency, over the measured
    designs, and ``est_cv_error``: the median absolute percentage error of a held-out estimate fitted on that
    predictor alone (MACs, activations: overhead + cost x metric) or on all :data:`FEATURES` (the estimate,
    whose correlations are also those of its held-out estimates, never of a fit that saw the design).
    ``table`` needs the feature columns or a ``spec`` column (see :func:`latency_features`).
    """
    if measured not in table.columns:
        raise SpecError("measured", f"the table has no {measured!r} column of measured latency")
    features = latency_features(table, batch_size=batch_size)
    latency = table[measured].astype(float)
    rows = []
    for name, description, columns in (
            ("macs", "MACs per batch (analytic)", ["macs"]),
            ("activations", "conv and linear output elements per batch (analytic)", ["activations"]),
            (ESTIMATE_COLUMN, f"estimated latency: non-negative least squares on {', '.join(FEATURES)}, "
                              f"{CV_FOLDS}-fold held-out estimates", list(FEATURES))):
        held_out = pd.Series(cross_validate(features[columns], latency), index=table.index)
        values = held_out if name == ESTIMATE_COLUMN else features[name]
        measured_rows = latency.notna()
        x, y = values[measured_rows], latency[measured_rows]
        rows.append({"predictor": name, "pearson": x.corr(y), "spearman": x.rank().corr(y.rank()),
                     "est_cv_error": float(np.median(np.abs(held_out[measured_rows] - y) / y)),
                     "description": description})
    return pd.DataFrame(rows).set_index("predictor")


def _kept(features: pd.DataFrame, measured_ms: Any) -> np.ndarray:
    """Rows with a positive, finite measurement and finite features."""
    y = np.asarray(measured_ms, dtype=float)
    if y.shape != (len(features),):
        raise SpecError("measured_ms", f"{y.shape[0] if y.ndim else 0} values for {len(features)} designs")
    return np.isfinite(y) & (y > 0) & np.isfinite(features.to_numpy(dtype=float)).all(axis=1)


def _measured(features: pd.DataFrame, measured_ms: Any) -> tuple[np.ndarray, np.ndarray]:
    kept = _kept(features, measured_ms)
    if kept.sum() < MIN_DESIGNS:
        raise SpecError("measured_ms", f"{kept.sum()} measured designs; fitting the latency estimate needs at least "
                                       f"{MIN_DESIGNS} (measure more designs)")
    return features.to_numpy(dtype=float)[kept], np.asarray(measured_ms, dtype=float)[kept]


def _cross_validate(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    folds = np.arange(len(y)) % CV_FOLDS
    held_out = np.empty(len(y))
    for fold in range(CV_FOLDS):
        test = folds == fold
        coefficients, intercept = _fit(x[~test], y[~test])
        held_out[test] = intercept + x[test] @ coefficients
    return held_out


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Non-negative (coefficients, intercept) minimising sum(((intercept + x @ c) - y) / y) ** 2).

    Columns are scaled to a largest magnitude of 1 first (MACs run to 1e9, layer counts to 1e2), which keeps
    the solve well conditioned and, being a positive scaling, does not change the constraint.
    """
    scale = np.abs(x).max(axis=0)
    scale[scale == 0] = 1.0
    design = np.column_stack([np.ones(len(y)), x / scale]) / y[:, None]
    solution = _nnls(design, np.ones(len(y)))
    return solution[1:] / scale, float(solution[0])


def _nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin ||a @ w - b|| subject to w >= 0: the Lawson-Hanson active-set method (as scipy.optimize.nnls).

    Grow the set of free (positive) variables by the one whose gradient most wants to rise; solve unconstrained
    on the free set; if that makes some free variable non-positive, step back to the boundary and drop it.
    """
    columns = a.shape[1]
    w = np.zeros(columns)
    free = np.zeros(columns, dtype=bool)
    tolerance = 10 * np.finfo(float).eps * np.abs(a).sum(axis=0).max() * max(a.shape)
    for _ in range(3 * columns):  # Lawson and Hanson's bound on the outer iterations
        gradient = a.T @ (b - a @ w)
        if free.all() or gradient[~free].max() <= tolerance:
            break
        free[np.argmax(np.where(free, -np.inf, gradient))] = True
        while True:
            z = np.zeros(columns)
            z[free] = np.linalg.lstsq(a[:, free], b, rcond=None)[0]
            if (z[free] > tolerance).all():
                w = z
                break
            blocking = free & (z <= tolerance)
            room = w[blocking] - z[blocking]  # > 0 unless a variable is at zero and stays there: no step then
            step = np.min(np.divide(w[blocking], room, out=np.zeros_like(room), where=room > 0))
            w = w + step * (z - w)
            free &= w > tolerance
            w[~free] = 0.0
    return w
