"""The Report API: fields, tables, JSON form, batch and input-size handling, caching, errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from arch_lab import LimitError, Report, ResNetSpec, SpecError, analyse, load_preset
from arch_lab.analysis import METRICS

LAYER_COLUMNS = ["name", "type", "stage", "input_shape", "output_shape", "kernel", "stride", "groups", "dilation",
                 "params", "macs", "role", "block"]
STAGE_COLUMNS = ["stage", "output_shape", "params", "macs", "params_share", "macs_share", "output_stride",
                 "receptive_field"]


def test_report_fields_and_tables():
    report = analyse(load_preset("resnet50"))
    assert isinstance(report, Report)
    assert (report.name, report.input_size, report.batch_size) == ("resnet50", (224, 224), 1)
    assert list(report.layers.columns) == LAYER_COLUMNS
    assert list(report.stages.columns) == STAGE_COLUMNS
    stages = report.stages
    assert list(stages["stage"]) == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert stages["params"].sum() == report.params == report.layers["params"].sum()
    assert stages["macs"].sum() == report.macs == report.layers["macs"].sum()
    assert stages["params_share"].sum() == pytest.approx(1.0)
    assert stages["macs_share"].sum() == pytest.approx(1.0)
    assert list(stages["output_stride"][:-1]) == [4, 4, 8, 16, 32]
    assert set(report.ops) == {"conv", "batch_norm", "adaptive_avg_pool2d", "linear"}
    assert report.flops == 2 * report.macs


def test_stage_output_shapes_skip_squeeze_excitation():
    stages = analyse(load_preset("se_resnet50")).stages
    assert list(stages["output_shape"]) == [(1, 64, 56, 56), (1, 256, 56, 56), (1, 512, 28, 28),
                                            (1, 1024, 14, 14), (1, 2048, 7, 7), (1, 1000)]


def test_counts_scale_with_the_batch_but_params_do_not():
    spec = load_preset("resnet18")
    one, four = analyse(spec), analyse(spec, batch_size=4)
    assert four.params == one.params and four.weights_fp32_mb == one.weights_fp32_mb
    for key in ("macs", "flops", "activations"):
        assert getattr(four, key) == 4 * getattr(one, key)
    assert four.activations_mb == pytest.approx(4 * one.activations_mb)
    assert four.ops == {op: 4 * count for op, count in one.ops.items()}
    assert list(four.layers["macs"]) == [4 * m for m in one.layers["macs"]]
    assert all(shape[0] == 4 for shape in four.layers["output_shape"])
    two = analyse(spec, batch_size=2)  # saved activations grow linearly (plus a per-batch BN term)
    for key in ("train_activations_fp32_mb", "train_activations_mixed_mb"):
        assert getattr(four, key) - getattr(two, key) == pytest.approx(2 * (getattr(two, key) - getattr(one, key)))


@pytest.mark.parametrize("batch", [256, 1024, 4096])
def test_resnet50_is_analysed_at_any_batch_and_each_count_is_batch_times_one_image(batch):
    """Analysis is arithmetic: the batch does not bound it (it once refused ResNet-50 above batch 89)."""
    spec = load_preset("resnet50")
    one, many = analyse(spec), analyse(spec, batch_size=batch)
    for key in ("macs", "flops", "activations"):
        assert getattr(many, key) == batch * getattr(one, key)
    assert many.ops == {op: batch * count for op, count in one.ops.items()}
    assert list(many.layers["macs"]) == [batch * m for m in one.layers["macs"]]
    assert list(many.stages["macs"]) == [batch * m for m in one.stages["macs"]]
    assert many.activations_mb == pytest.approx(batch * one.activations_mb, rel=1e-12)
    two = analyse(spec, batch_size=2)
    for precision in ("fp32", "mixed"):  # per image x batch + what a batch saves once (BN statistics, weight casts)
        key = f"train_activations_{precision}_mb"
        per_image, once = getattr(two, key) - getattr(one, key), 2 * getattr(one, key) - getattr(two, key)
        assert once > 0 and getattr(many, key) == pytest.approx(batch * per_image + once, rel=1e-9)
    assert many.train_step_mixed_mb < many.train_step_fp32_mb


def test_input_size_override_is_the_spec_at_that_size():
    spec = load_preset("resnet50")
    report = analyse(spec, input_size=(160, 192))
    assert report.input_size == (160, 192)
    assert report == analyse(spec.replace(input_size=[160, 192]))
    assert analyse(spec, input_size=128) == analyse(spec, input_size=(128, 128))
    assert report.macs < analyse(spec).macs


def test_reports_are_cached_and_immutable():
    spec = load_preset("resnet34")
    report = analyse(spec)
    assert analyse(spec) is report
    layers = report.layers
    layers.loc[0, "params"] = -1  # a fresh DataFrame on each access: the cached report is not touched
    assert analyse(spec).layers.loc[0, "params"] > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.params = 0


def test_to_dict_is_json_with_the_same_keys():
    report = analyse(load_preset("resnet50d"), batch_size=2)
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    for key in METRICS:
        assert data[key] == getattr(report, key)
    assert data["ops"] == report.ops
    assert data["input_size"] == [224, 224] and data["batch_size"] == 2
    assert ResNetSpec.from_dict(data["spec"]) == report.spec
    assert list(data["layers"][0]) == LAYER_COLUMNS and list(data["stages"][0]) == STAGE_COLUMNS
    assert data["layers"][0] == {"name": "conv1.0", "type": "Conv2d", "stage": "stem", "input_shape": [2, 3, 224, 224],
                                 "output_shape": [2, 32, 112, 112], "kernel": 3, "stride": 2, "groups": 1,
                                 "dilation": 1, "params": 3 * 32 * 9, "macs": 2 * 3 * 32 * 9 * 112 * 112,
                                 "role": "stem", "block": ""}
    assert data["stages"][-1]["receptive_field"] is None
    assert len(data["layers"]) == len(report.layers)
    assert "macs" in data["conventions"]


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "2"])
def test_bad_batch_size(batch_size):
    with pytest.raises(SpecError) as error:
        analyse(load_preset("resnet18"), batch_size=batch_size)
    assert error.value.field == "batch_size"


@pytest.mark.parametrize("input_size", [0, 16, (224,), "224"])
def test_bad_input_size(input_size):
    with pytest.raises(SpecError) as error:
        analyse(load_preset("resnet18"), input_size=input_size)
    assert error.value.field.startswith("input_size")


def test_not_a_spec():
    with pytest.raises(SpecError, match="expected a ResNetSpec"):
        analyse("resnet18")


def test_designs_beyond_the_limits_are_refused():
    with pytest.raises(LimitError, match="blocks"):
        analyse(ResNetSpec(depths=(600, 600)))


def test_every_layer_says_its_role_and_block():
    """Roles come from the network's description; torchvision's module names say the same independently."""
    for name in ("resnet50", "se_resnet50", "resnet18d", "regnet_y_400mf"):
        layers = analyse(load_preset(name)).layers
        for row in layers.itertuples():
            parts = row.name.split(".")
            expected = ("stem" if row.stage == "stem" else "head" if row.stage == "head" else
                        "shortcut" if "downsample" in parts else "se" if "se" in parts else "branch")
            assert row.role == expected, (name, row.name)
            assert row.block == (".".join(parts[:2]) if row.stage.startswith("layer") else ""), (name, row.name)
