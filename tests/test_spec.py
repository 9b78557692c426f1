"""ResNetSpec: defaults, canonical form, JSON round trip and the error messages users see."""

from __future__ import annotations

import json
import math

import pytest

from arch_lab import ResNetSpec, SpecError, list_presets, load_preset
from arch_lab.presets import PRESET_DIR, preset_source


def test_defaults_follow_torchvision():
    spec = ResNetSpec(block="bottleneck", depths=(3, 4, 6, 3))
    assert spec.widths == (64, 128, 256, 512)
    assert spec.strides == (1, 2, 2, 2)
    assert spec.input_size == (224, 224)
    assert [spec.stage_out_channels(i) for i in range(4)] == [256, 512, 1024, 2048]


def test_default_widths_continue_for_more_stages():
    spec = ResNetSpec(depths=(1, 1, 1, 1, 1))
    assert spec.widths == (64, 128, 256, 512, 1024)
    assert spec.strides == (1, 2, 2, 2, 2)


@pytest.mark.parametrize(("planes", "wpg", "groups", "inner"), [
    (64, 4, 32, 128),    # resnext50_32x4d stage 1: 32 groups x 4 channels
    (512, 8, 32, 2048),  # resnext101_32x8d stage 4
    (64, 128, 1, 128),   # wide_resnet50_2 stage 1: twice the 64 of resnet50
    (100, 64, 1, 100),
    (100, 10, 3, 45),    # int(100 * 10 / 64) = 15 per group, x3
])
def test_bottleneck_inner_width_is_torchvisions_rule(planes, wpg, groups, inner):
    spec = ResNetSpec(block="bottleneck", depths=(1,), widths=(planes,), groups=groups, width_per_group=wpg)
    assert spec.stage_inner_width(0) == inner


def test_equivalent_specs_compare_equal_and_hash_alike():
    a = ResNetSpec.from_dict({"block": "basic", "depths": [2, 2, 2, 2], "input_size": 224})
    b = ResNetSpec.from_dict({"block": ["basic"] * 4, "depths": [2, 2, 2, 2], "widths": [64, 128, 256, 512],
                              "strides": [1, 2, 2, 2], "input_size": [224, 224]})
    assert a == b
    assert a.key() == b.key()
    assert a.key() != a.replace(depths=[2, 2, 2, 3]).key()


def test_name_does_not_change_the_key():
    spec = load_preset("resnet50")
    assert spec.replace(name="mine").key() == spec.key()


def test_mixed_blocks_stay_a_list():
    spec = ResNetSpec(block=("basic", "bottleneck"), depths=(1, 1))
    assert spec.to_dict()["block"] == ["basic", "bottleneck"]
    assert spec.stage_out_channels(1) == 128 * 4


def test_non_square_input_round_trips():
    spec = ResNetSpec(input_size=(160, 192))
    assert spec.to_dict()["input_size"] == [160, 192]
    assert ResNetSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_round_trips(name):
    spec = load_preset(name)
    assert ResNetSpec.from_dict(spec.to_dict()) == spec
    assert ResNetSpec.from_json(spec.to_json()) == spec
    assert spec.name == name


@pytest.mark.parametrize("path", sorted(PRESET_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_preset_files_are_valid_and_cite_a_source(path):
    data = json.loads(path.read_text())
    assert len(data.pop("source")) > 20
    ResNetSpec.from_dict(data)  # raises on any unknown or bad field
    assert preset_source(path.stem) == json.loads(path.read_text())["source"]


def test_the_expected_presets_exist():
    expected = {
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
        "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "d2l_resnet18",
        "resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet50d",
    }
    assert expected <= set(list_presets())


def test_unknown_preset_suggests_close_names():
    with pytest.raises(SpecError, match="resnet50") as info:
        load_preset("resnet5O")
    assert "did you mean" in str(info.value)


# --------------------------------------------------------------------------------------------------
# Invalid specs: the message names the field, the value and what is allowed
# --------------------------------------------------------------------------------------------------
BAD = [
    ({"depths": "3,4,6,3"}, "depths", "not a list"),
    ({"depths": []}, "depths", "at least one stage"),
    ({"depths": [3, 0, 6, 3]}, "depths[1]", ">= 1"),
    ({"depths": [3, -1]}, "depths[1]", ">= 1"),
    ({"depths": [3, 4.0]}, "depths[1]", "not an integer"),
    ({"depths": [True, 2]}, "depths[0]", "not an integer"),
    ({"widths": [64, 128]}, "widths", "one per stage"),
    ({"strides": [1, 3, 2, 2]}, "strides", "1 or 2"),
    ({"block": "resblock"}, "block", "basic, bottleneck"),
    ({"block": ["basic", "bottle", "basic", "basic"]}, "block[1]", "basic, bottleneck"),
    ({"stem": "patchify"}, "stem", "classic, deep, deep_tiered, cifar, simple"),
    ({"shortcut": "B"}, "shortcut", "projection, avg_down, zero_pad, conv"),
    ({"groups": 32}, "groups", "basic blocks"),
    ({"width_per_group": 128}, "width_per_group", "basic blocks"),
    ({"block": "bottleneck", "widths": [1, 128, 256, 512], "width_per_group": 4}, "widths", ">= 16"),
    ({"groups": 0}, "groups", ">= 1"),
    ({"groups": True}, "groups", "not an integer"),
    ({"se_ratio": math.nan}, "se_ratio", "from 0.0 to 1.0"),
    ({"se_ratio": math.inf}, "se_ratio", "from 0.0 to 1.0"),
    ({"se_ratio": True}, "se_ratio", "not a number"),
    ({"se_ratio": "0.25"}, "se_ratio", "not a number"),
    ({"conv_bias": 1}, "conv_bias", "true or false"),
    ({"num_classes": 0}, "num_classes", ">= 1"),
    ({"in_channels": 2.5}, "in_channels", "not an integer"),
    ({"input_size": [224, 224, 3]}, "input_size", "[H, W]"),
    ({"input_size": "224"}, "input_size", "not an integer"),
    ({"input_size": 16}, "input_size", "at least 17"),
    ({"stem": "deep", "stem_width": 1}, "stem_width", ">= 2"),
    ({"shortcut": "zero_pad", "widths": [64, 32, 256, 512]}, "shortcut", "cannot shrink"),
    ({"name": 5}, "name", "not text"),
    ({"dephts": [2, 2]}, "dephts", "unknown field"),
]


@pytest.mark.parametrize(("change", "field", "allowed"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_invalid_specs_name_field_and_allowed_values(change, field, allowed):
    with pytest.raises(SpecError) as info:
        ResNetSpec.from_dict({"depths": [2, 2, 2, 2], **change})
    message = str(info.value)
    assert message.startswith(f"{field}:"), message
    assert allowed in message, message
    assert isinstance(info.value, ValueError)


def test_group_width_wider_than_a_normalised_width_is_refused():
    """Found by the issue-19 hunt: a bottleneck of 1 inner channel under ``norm_group_width=2`` asks for
    1 // 2 = 0 groups; the spec was accepted and building it crashed inside torch's GroupNorm."""
    narrow = {"block": "res_bottleneck", "depths": [1], "widths": [4], "bottleneck_ratio": 0.25, "stem": "cifar",
              "stem_width": 4, "input_size": [8, 8], "norm": "groupnorm"}
    with pytest.raises(SpecError) as info:
        ResNetSpec.from_dict({**narrow, "norm_group_width": 2})
    assert str(info.value).startswith("norm_group_width: 2 does not fit layer1.0.bn1, a GroupNorm of 1 channels")
    assert ResNetSpec.from_dict({**narrow, "norm_group_width": 1}).norm_group_width == 1  # one channel per group fits


def test_collapse_threshold_is_exact():
    """resnet18 at 17x17: 9 after the conv, 5 after the pool, then 5 -> 3 -> 2 -> 1 in layers 2-4."""
    ResNetSpec(input_size=17)
    with pytest.raises(SpecError, match="layer4"):
        ResNetSpec(input_size=(17, 16))


def test_cifar_stem_keeps_resolution():
    spec = load_preset("resnet20")
    assert spec.replace(input_size=3).input_size == (3, 3)  # 3 -> 2 -> 1 over two stride-2 stages
    with pytest.raises(SpecError, match="at least 3"):
        spec.replace(input_size=2)


def test_not_an_object():
    with pytest.raises(SpecError, match="JSON object"):
        ResNetSpec.from_dict([1, 2])


def test_malformed_json_says_where():
    with pytest.raises(SpecError, match="line 2, column 1"):
        ResNetSpec.from_json('{"depths": [2,\n')


# ---- RegNet/AnyNet fields ---------------------------------------------------------------------------------
REGNET = {"block": "res_bottleneck", "depths": [1, 1, 4, 7], "widths": [32, 64, 160, 384], "strides": [2, 2, 2, 2],
          "group_width": 16, "stem": "simple", "stem_width": 32}


def test_regnet_fields_resolve_per_stage_and_round_trip():
    spec = ResNetSpec.from_dict(REGNET)
    assert spec.group_width == (16, 16, 16, 16) and spec.bottleneck_ratio == 1.0
    assert [spec.stage_groups(i) for i in range(4)] == [2, 4, 10, 24]  # 3x3 width / 16 channels per group
    assert ResNetSpec.from_dict({**REGNET, "bottleneck_ratio": [0.5] * 4}).bottleneck_ratio == 0.5
    assert ResNetSpec.from_dict(spec.to_dict()) == spec
    mixed = ResNetSpec.from_dict({"block": ["basic", "res_bottleneck"], "depths": [1, 1], "widths": [16, 24],
                                  "group_width": [None, 8], "bottleneck_ratio": [1, 2]})
    assert mixed.stage_inner_width(1) == 48 and mixed.stage_groups(1) == 6 and mixed.stage_groups(0) == 1


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"group_width": 48}, "group_width[0]", "does not divide stage 1's 3x3 width 32"),
    ({"group_width": [16, 16]}, "group_width", "has 2 entries but depths has 4 stages"),
    ({"group_width": 0}, "group_width", "too small"),
    ({"bottleneck_ratio": 0}, "bottleneck_ratio", "above 0"),
    ({"bottleneck_ratio": 0.001}, "bottleneck_ratio", "= 0 channels"),
    ({"groups": 32}, "groups", "res_bottleneck stages set their grouping with group_width"),
    ({"block": ["basic", "res_bottleneck", "res_bottleneck", "res_bottleneck"]}, "group_width[0]",
     "applies only to res_bottleneck stages"),
    ({"block": "basic", "group_width": None, "bottleneck_ratio": 0.5}, "bottleneck_ratio",
     "applies only to res_bottleneck stages"),
    ({"input_size": 16}, "input_size", "needs at least 17"),  # the simple stem and four stride-2 stages
])
def test_regnet_field_errors_name_the_field(change, field, words):
    with pytest.raises(SpecError) as error:
        ResNetSpec.from_dict({**REGNET, **change})
    assert str(error.value).startswith(field) and words in str(error.value), str(error.value)


def test_split_attention_groups_must_divide_resnests_attention_width():
    """ResNeSt's attention has max(32, make_divisible(inner * radix / 4, 8)) channels in ``groups`` groups: with
    5 groups of 8 channels the 3x3 is 40 wide, its attention 32 wide (20 rounds up to the minimum of 32), and
    5 groups do not divide 32; 4 groups of 8 (32 wide, attention 32) do."""
    base = {"block": "split_attention", "depths": [1, 1], "widths": [64, 128], "strides": [1, 2],
            "width_per_group": 8}
    with pytest.raises(SpecError) as info:
        ResNetSpec.from_dict({**base, "groups": 5})
    assert str(info.value) == ("groups: stage 1's split attention has 32 attention channels (ResNeSt's rule), "
                               "which 5 groups do not divide")
    assert ResNetSpec.from_dict({**base, "groups": 4}).groups == 4
