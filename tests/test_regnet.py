"""``arch_lab.regnet`` and the RegNet presets against torchvision 0.29.1: the builders' parameters are
recorded from torchvision itself (never copied from our code), its ``BlockParams`` are the reference for
the generated stages, its weights' metadata for parameters and MACs, and its modules for the outputs."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import torch
import torchvision.models as tvm
from torchvision.models import regnet as tv_regnet

from arch_lab import SpecError, analyse, build_model, load_preset, regnet
from arch_lab.presets import PRESET_DIR
from arch_lab.regnet import torchvision_regnet_key

NAMES = [name for name in tv_regnet.__all__ if name.startswith("regnet_")]
_FROM_INIT_PARAMS = tv_regnet.BlockParams.from_init_params.__func__


def published(name: str) -> tuple[dict[str, Any], tv_regnet.BlockParams]:
    """The keyword arguments torchvision's builder ``name`` passes to ``BlockParams.from_init_params``,
    and the ``BlockParams`` it gets back. The model itself is built on the meta device (no weights);
    ``from_init_params`` reads tensor values, so the recorder runs it on the CPU."""
    calls: list[tuple[dict[str, Any], tv_regnet.BlockParams]] = []

    def record(cls: type, **kwargs: Any) -> tv_regnet.BlockParams:
        with torch.device("cpu"):
            params = _FROM_INIT_PARAMS(cls, **kwargs)
        calls.append((kwargs, params))
        return params

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tv_regnet.BlockParams, "from_init_params", classmethod(record))
        with torch.device("meta"):
            getattr(tvm, name)()
    assert len(calls) == 1
    return calls[0]


def generated(kwargs: dict[str, Any], **options: Any):
    """Our spec for torchvision's keyword arguments (its names: ``w_0``, ``bottleneck_multiplier``...)."""
    return regnet(kwargs["w_0"], kwargs["w_a"], kwargs["w_m"], kwargs["depth"], kwargs["group_width"],
                  kwargs.get("bottleneck_multiplier", 1.0), kwargs.get("se_ratio") or 0.0, **options)


def assert_same_stages(spec, params: tv_regnet.BlockParams) -> None:
    assert list(spec.widths) == params.widths
    assert list(spec.depths) == params.depths
    assert list(spec.group_width) == params.group_widths
    assert list(spec.stage_bottleneck_ratios) == params.bottleneck_multipliers
    assert list(spec.strides) == params.strides
    assert spec.se_ratio == (params.se_ratio or 0.0)


def test_there_are_fifteen_torchvision_regnets():
    assert len(NAMES) == 15
    assert sum(name.startswith("regnet_y_") for name in NAMES) == 8


@pytest.mark.parametrize("name", NAMES)
def test_generator_reproduces_torchvisions_stages(name):
    kwargs, params = published(name)
    assert kwargs.get("se_ratio") == (0.25 if name.startswith("regnet_y_") else None)
    spec = generated(kwargs, name=name)
    assert_same_stages(spec, params)
    assert (spec.block, spec.stem, spec.stem_width, spec.shortcut) == ("res_bottleneck", "simple", 32, "projection")


def test_generator_matches_torchvision_on_random_parameters():
    """torchvision rounds in float32; float64 would give other widths for some of these (e.g. w0=120,
    wa=53.3, wm=2.1, depth=33: 256 instead of torchvision's 248 in stage 2)."""
    rng = random.Random(0)
    checked = 0
    while checked < 400:
        kwargs = {"depth": rng.randint(1, 40), "w_0": 8 * rng.randint(1, 64),
                  "w_a": round(rng.uniform(0, 150), rng.choice([0, 1, 2])),
                  "w_m": round(rng.uniform(1.05, 3.5), rng.choice([2, 3])), "group_width": rng.choice([1, 8, 24, 64]),
                  "bottleneck_multiplier": rng.choice([1.0, 0.5, 0.25, 2.0])}
        params = _FROM_INIT_PARAMS(tv_regnet.BlockParams, **kwargs)
        if len(params.widths) > 12:  # more stride-2 stages than an 8192 px input can hold
            continue
        assert_same_stages(generated(kwargs, input_size=8192), params)
        checked += 1
    assert_same_stages(generated({"depth": 33, "w_0": 120, "w_a": 53.3, "w_m": 2.1, "group_width": 8}),
                       _FROM_INIT_PARAMS(tv_regnet.BlockParams, depth=33, w_0=120, w_a=53.3, w_m=2.1, group_width=8))


@pytest.mark.parametrize("name", NAMES)
def test_preset_is_the_generated_spec_and_cites_its_parameters(name):
    kwargs, _ = published(name)
    preset = load_preset(name)
    assert preset == generated(kwargs, name=name)
    source = json.loads((PRESET_DIR / f"{name}.json").read_text())["source"]
    assert f"torchvision.models.{name}" in source and "Radosavovic et al. 2020" in source
    for word in (f"depth={kwargs['depth']}", f"w0={kwargs['w_0']}", f"wa={kwargs['w_a']}", f"wm={kwargs['w_m']}",
                 f"group_width={kwargs['group_width']}", f"se_ratio={kwargs.get('se_ratio') or 0.0}"):
        assert word in source


@pytest.mark.parametrize("name", NAMES)
def test_params_and_macs_equal_torchvisions_published_figures(name):
    """Every weights entry, at its evaluation crop (224 px, or 384 px for the SWAG end-to-end ones);
    regnet_y_128gf has no IMAGENET1K_V1, only SWAG weights."""
    spec = load_preset(name)
    entries = list(tvm.get_model_weights(name))
    assert entries
    for weights in entries:
        crop = weights.transforms.keywords["crop_size"]
        report = analyse(spec, input_size=crop)
        assert report.params == weights.meta["num_params"], weights
        assert round(report.macs / 1e9, 3) == weights.meta["_ops"], weights
    if name != "regnet_y_128gf":
        assert tvm.get_model_weights(name).IMAGENET1K_V1.transforms.keywords["crop_size"] == 224


@pytest.mark.parametrize("name", ["regnet_x_400mf", "regnet_y_400mf", "regnet_x_1_6gf", "regnet_y_1_6gf"])
def test_torchvision_weights_load_strictly_and_give_identical_outputs(name):
    torch.manual_seed(0)
    reference = getattr(tvm, name)()
    with torch.no_grad():  # BN at init is the identity in eval mode; random statistics make it count
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
    reference.eval()
    ours = build_model(load_preset(name)).eval()
    mapped = {torchvision_regnet_key(key): value for key, value in reference.state_dict().items()}
    assert len(mapped) == len(reference.state_dict())
    ours.load_state_dict(mapped, strict=True)
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        assert torch.equal(ours(x), reference(x))


def test_key_map_table():
    assert torchvision_regnet_key("stem.0.weight") == "conv1.weight"
    assert torchvision_regnet_key("stem.1.running_var") == "bn1.running_var"
    assert torchvision_regnet_key("trunk_output.block3.block3-11.f.b.0.weight") == "layer3.11.conv2.weight"
    assert torchvision_regnet_key("trunk_output.block1.block1-0.f.se.fc2.bias") == "layer1.0.se.fc2.bias"
    assert torchvision_regnet_key("trunk_output.block4.block4-0.proj.1.weight") == "layer4.0.downsample.1.weight"
    assert torchvision_regnet_key("fc.bias") == "fc.bias"
    for key in ("trunk_output.block1.block2-0.f.a.0.weight", "avgpool.weight", "trunk_output.block1.block1-0.f.d.0"):
        with pytest.raises(KeyError, match="not a torchvision RegNet"):
            torchvision_regnet_key(key)


@pytest.mark.parametrize(("kwargs", "field", "words"), [
    ({"w0": 0}, "w0", "from 8"),
    ({"w0": 12}, "w0", "multiple of 8"),
    ({"w0": 24.0}, "w0", "not an integer"),
    ({"wa": -1.0}, "wa", "wa >= 0"),
    ({"wa": float("nan")}, "wa", "wa >= 0"),
    ({"wm": 1.0}, "wm", "wm > 1"),
    ({"wm": 0.5}, "wm", "wm > 1"),
    ({"wm": float("inf")}, "wm", "at most 16"),
    ({"depth": 0}, "depth", "from 1 to 1,000"),
    ({"depth": True}, "depth", "not an integer"),
    ({"group_width": 0}, "group_width", "from 1"),
    ({"bottleneck_ratio": 0.0}, "bottleneck_ratio", "bottleneck_ratio > 0"),
    ({"bottleneck_ratio": 0.01}, "bottleneck_ratio", "0 channels"),
    ({"se_ratio": 2.0}, "se_ratio", "from 0.0 to 1.0"),
    ({"wa": 500.0, "wm": 1.05, "depth": 200}, "wm", "at most 16"),
    ({"w0": 65_536, "wa": 60_000.0, "depth": 3}, "wa", "at most 65,536"),
])
def test_invalid_generator_inputs_name_the_parameter(kwargs, field, words):
    args = {"w0": 24, "wa": 24.48, "wm": 2.54, "depth": 22, "group_width": 16} | kwargs
    with pytest.raises(SpecError, match=words) as info:
        regnet(**args)
    assert info.value.field == field
