"""The analytic report against fvcore 0.1.5 for every preset (the cases of test_analysis_crosscheck.py):
FlopCountAnalysis's full per-operator breakdown, its conv + linear total (the MACs), per-module counts,
and ActivationCountAnalysis's total, on a real module (fvcore traces with torch.jit, which needs real
tensors; zero-filled weights, since only shapes matter)."""

from __future__ import annotations

import warnings
from collections import Counter
from math import prod

import pytest
import torch
from test_analysis_crosscheck import CASES, IDS, setup
from torch import nn

with warnings.catch_warnings():  # fvcore's import scripts a function with the deprecated torch.jit
    warnings.simplefilter("ignore")
    from fvcore.nn import FlopCountAnalysis
    from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as ACTIVATION_HANDLES
    from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FLOP_HANDLES


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """fvcore runs real forwards; on the shared 2-core machine one thread is faster under load than two
    whose workers wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _as_counter(op: str, counts) -> Counter:
    return counts if isinstance(counts, Counter) else Counter({op.split("::")[1]: counts})


def _flops_and_activations(op: str):
    """fvcore's flop handle of ``op`` plus its ActivationCountAnalysis handle, counted as "activations"."""
    def handle(inputs, outputs):
        counts = _as_counter(op, FLOP_HANDLES[op](inputs, outputs)) if op in FLOP_HANDLES else Counter()
        counts["activations"] += sum(_as_counter(op, ACTIVATION_HANDLES[op](inputs, outputs)).values())
        return counts
    return handle


def fvcore_analysis(model: nn.Module, x: torch.Tensor) -> FlopCountAnalysis:
    """FlopCountAnalysis with ActivationCountAnalysis's handles added, so one trace (a real forward,
    the slow part) serves both: ``by_operator()`` holds fvcore's flops and an "activations" entry."""
    analysis = FlopCountAnalysis(model, x)
    analysis.set_op_handle(**{op: _flops_and_activations(op) for op in ACTIVATION_HANDLES})
    return analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")


@pytest.mark.parametrize(("name", "size", "batch"), CASES, ids=IDS)
def test_fvcore_operators_macs_and_activations(name, size, batch):
    report, model, x = setup(name, size, batch, device="meta")
    model = model.to_empty(device="cpu")  # fvcore traces a real forward; the values do not matter
    for tensor in [*model.parameters(), *model.buffers()]:
        tensor.data.zero_()
    analysis = fvcore_analysis(model, torch.zeros(x.shape))
    by_operator = dict(analysis.by_operator())
    assert by_operator.pop("activations") == report.activations
    assert by_operator == report.ops  # the full per-operator breakdown
    assert by_operator["conv"] + by_operator["linear"] == report.macs  # restricted to conv and linear
    by_module = analysis.by_module_and_operator()
    for row in report.layers.itertuples():
        if row.type in ("Conv2d", "Linear"):
            assert by_module[row.name][{"Conv2d": "conv", "Linear": "linear"}[row.type]] == row.macs, row.name
        elif row.type == "BatchNorm2d":
            assert by_module[row.name]["batch_norm"] == 2 * prod(row.input_shape), row.name


def test_the_combined_trace_counts_what_activation_count_analysis_does():
    from fvcore.nn import ActivationCountAnalysis

    report, model, x = setup("resnet18", (64, 80), 2, device="cpu")
    analysis = ActivationCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    assert analysis.total() == fvcore_analysis(model, x).by_operator()["activations"] == report.activations
