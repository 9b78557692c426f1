"""Differential test of the counter on the designs the explorer draws: for every built-in design space,
designs sampled by ``explore()`` itself (its sampler, its width adjustment, its constraints) are counted by
the lab and compared with the module built from the same spec (every layer's name, type, shapes, params) and
with ``torch.utils.flop_counter`` (MACs, layer by layer). The explorer's AnyNet spaces allow equal consecutive
widths, the shapes that once made the counter reuse a block counted at another input size."""

from __future__ import annotations

from hunting import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_network_properties import check_against_the_module

from arch_lab.explore import explore, list_spaces


def _every_space(test):
    """One explicit example per built-in space, so CI covers each whatever the random draws."""
    for space in list_spaces():
        test = example(space=space, seed=0)(test)
    return test


@settings(max_examples=examples(12), suppress_health_check=[HealthCheck.too_slow])
@given(space=st.sampled_from(list_spaces()), seed=st.integers(0, 2**32))
@_every_space
def test_designs_drawn_from_every_space_count_as_the_built_module(space, seed):
    result = explore(space, 1, seed=seed)
    assert result.accepted == 1, result.summary()
    spec, row = next(result.specs()), result.table.iloc[0]
    report = check_against_the_module(spec, 1)  # the report equals the module, layer by layer
    assert (row["params"], row["macs"], row["activations"]) == (report.params, report.macs, report.activations)
