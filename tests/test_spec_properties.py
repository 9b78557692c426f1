"""Property-based tests: every valid random spec builds and runs; every invalid one is a SpecError."""

from __future__ import annotations

import math

import torch
from hunting import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import specs  # valid specs of every block type, stem and shortcut

from arch_lab import ResNetSpec, SpecError, build_model
from arch_lab.plan import plan


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.filter_too_much])
@given(specs(max_stages=5, max_extra_side=16), st.integers(1, 2))
def test_valid_specs_build_and_run(spec, batch):
    model = build_model(spec).eval()
    x = torch.randn(batch, spec.in_channels, *spec.input_size)
    with torch.inference_mode():
        assert model(x).shape == (batch, spec.num_classes)
    assert sum(p.numel() for p in model.parameters()) == sum(layer.params for layer in plan(spec))
    assert ResNetSpec.from_dict(spec.to_dict()) == spec


# --------------------------------------------------------------------------------------------------
# Invalid specs: a valid base with one field replaced by a value of the wrong kind or out of range
# --------------------------------------------------------------------------------------------------
not_int = st.one_of(st.booleans(), st.floats(allow_nan=True), st.text(max_size=4), st.none(),
                    st.lists(st.integers(), max_size=2))
bad_positive_int = st.one_of(not_int, st.integers(max_value=0))
bad_number = st.one_of(st.booleans(), st.text(max_size=4), st.none(), st.just(math.nan), st.just(math.inf),
                       st.floats(max_value=-1e-9), st.floats(min_value=1.0001, allow_infinity=False))
bad_name = st.text(min_size=1, max_size=8).filter(lambda s: s not in {"basic", "bottleneck", "classic", "deep",
                                                                     "cifar", "projection", "avg_down",
                                                                     "zero_pad", "conv"})
BAD_FIELDS = {
    "depths": st.one_of(st.just([]), st.text(max_size=6), st.lists(bad_positive_int, min_size=4, max_size=4)),
    "widths": st.one_of(st.lists(st.integers(1, 9), min_size=1, max_size=3),
                        st.lists(bad_positive_int, min_size=4, max_size=4)),
    "strides": st.lists(st.integers(3, 9), min_size=4, max_size=4),
    "block": st.one_of(bad_name, st.lists(bad_name, min_size=4, max_size=4), st.integers()),
    "groups": st.one_of(bad_positive_int, st.integers(2, 64)),  # basic blocks need groups=1
    "width_per_group": st.one_of(bad_positive_int, st.integers(65, 256)),
    "stem": st.one_of(bad_name, st.integers()),
    "stem_width": bad_positive_int,
    "shortcut": st.one_of(bad_name, st.none()),
    "conv_bias": st.one_of(st.integers(), st.text(max_size=3), st.none()),
    "zero_init_residual": st.one_of(st.integers(), st.none()),
    "se_ratio": bad_number,
    "in_channels": bad_positive_int,
    "num_classes": bad_positive_int,
    "input_size": st.one_of(bad_positive_int.filter(lambda v: not isinstance(v, list)), st.integers(1, 16),
                            st.lists(st.integers(1, 300), min_size=3, max_size=4)),
}


@settings(max_examples=examples(300))
@given(st.sampled_from(sorted(BAD_FIELDS)).flatmap(lambda f: st.tuples(st.just(f), BAD_FIELDS[f])))
def test_invalid_specs_raise_spec_error_naming_the_field(field_and_value):
    field, value = field_and_value
    base = {"block": "basic", "depths": [2, 2, 2, 2], "input_size": 64}
    try:
        ResNetSpec.from_dict({**base, field: value})
    except SpecError as exc:
        assert str(exc).startswith(field), str(exc)
    else:
        raise AssertionError(f"{field}={value!r} was accepted")


@settings(max_examples=examples(50))
@given(st.text(min_size=1, max_size=10).filter(lambda k: k not in ResNetSpec.__dataclass_fields__))
def test_unknown_keys_are_errors(key):
    try:
        ResNetSpec.from_dict({"depths": [1], key: 1})
    except SpecError as exc:
        assert str(exc).startswith(key)
    else:
        raise AssertionError(f"unknown key {key!r} was accepted")
