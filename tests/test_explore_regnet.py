"""RegNet spaces: designs are the generator's, inside the regime, counted as ``analyse()`` counts them;
a space file's ``regnet`` block is checked like every other part of a space."""

from __future__ import annotations

import pytest

from arch_lab import SpecError, analyse, load_preset, regnet
from arch_lab.explore import explore, load_space, parse_space


def test_regnetx_400mf_designs_are_generated_four_stage_and_in_the_regime():
    result = explore("regnetx-400mf", 8, seed=3, objectives=["min:params"])
    assert result.accepted == 8
    for spec, row in zip(result.specs(), result.table.to_dict("records"), strict=True):
        assert spec.block == "res_bottleneck" and spec.stem == "simple" and spec.num_stages == 4
        assert 360e6 <= row["macs"] <= 400e6
        assert row["macs"] == analyse(spec).macs and row["params"] == analyse(spec).params


def test_a_regnet_space_builds_the_generators_design_with_the_base_settings():
    space = parse_space({"name": "one", "base": {"block": "basic", "input_size": 64, "num_classes": 10,
                                                 "stem_width": 32},
                         "regnet": {"depth": {"choices": [22]}, "w0": {"choices": [24]}, "wa": {"choices": [24.48]},
                                    "wm": {"choices": [2.54]}, "group_width": {"choices": [16]}}})
    [values] = list(space.grid())
    built = space.build(values, "x")
    expected = regnet(w0=24, wa=24.48, wm=2.54, depth=22, group_width=16, name="x", num_classes=10, input_size=64)
    assert built == expected
    assert built.replace(num_classes=1000, input_size=224) == load_preset("regnet_x_400mf").replace(name="x")


@pytest.mark.parametrize(("regnet_block", "field"), [
    ({"depth": {"range": [12, 28]}}, "space.regnet.w0"),
    ({"depth": {"range": [12, 28]}, "w0": {"choices": [24]}, "wa": {"choices": [2]}, "wm": {"choices": [2]},
      "group_width": {"choices": [8]}, "width": {"choices": [1]}}, "space.regnet.width"),
    ({"depth": {"range": [12, 28], "per_stage": True}, "w0": {"choices": [24]}, "wa": {"choices": [2]},
      "wm": {"choices": [2]}, "group_width": {"choices": [8]}}, "space.regnet.depth.per_stage"),
    ("fast", "space.regnet"),
])
def test_bad_regnet_blocks_name_the_path(regnet_block, field):
    with pytest.raises(SpecError) as error:
        parse_space({"name": "bad", "regnet": regnet_block})
    assert str(error.value).startswith(field), str(error.value)


def test_builtin_regnet_spaces_load():
    assert load_space("regnetx-4gf").constraints == ("num_stages==4", "3.6e+09<=macs<=4e+09")


def test_per_stage_adjustment_equals_torchvisions():
    import random

    from torchvision.models.regnet import BlockParams

    from arch_lab.regnet import adjust_widths_groups

    rng = random.Random(0)
    for _ in range(300):
        widths = [8 * rng.randint(1, 128) for _ in range(4)]
        ratios = [rng.choice([1.0, 0.5, 0.25]) for _ in range(4)]
        groups = [rng.choice([1, 2, 4, 8, 16, 32]) for _ in range(4)]
        expected = BlockParams._adjust_widths_groups_compatibilty(widths, ratios, groups)
        assert adjust_widths_groups(widths, ratios, groups) == tuple(map(list, expected))


def test_anynetx_draws_are_made_compatible_instead_of_rejected():
    result = explore("anynetx-4gf", 30, seed=5)
    assert result.rejected["invalid"] == 0 and result.accepted == 30
    for spec in result.specs():
        assert all(spec.stage_inner_width(i) % spec.group_width[i] == 0 for i in range(spec.num_stages))


@pytest.mark.parametrize("name", ["anynetx-400mf", "anynetx-4gf"])
def test_anynetx_spaces_adjust_every_draw_and_their_source_says_so(name):
    """The source once said no width was adjusted, after the adjustment had landed."""
    from arch_lab.explore import space_source

    space = load_space(name)
    assert space.compatible_widths and "adjusted for group compatibility" in space_source(name)
    assert "no width is adjusted" not in space_source(name)
    result = explore(name, 5, seed=1)
    assert result.rejected["invalid"] == 0  # no draw is refused for a group width that does not divide
    for spec in result.specs():
        for stage in range(spec.num_stages):
            assert spec.stage_inner_width(stage) % spec.group_width[stage] == 0


def test_the_tricks_space_samples_the_timm_family_fields_and_holds_timms_resnet50_variants():
    """Its grid is every combination; the ones timm builds are timm's models, counted as analyse() counts them."""
    from arch_lab.timm_family import from_timm

    result = explore("resnet50-tricks", None, method="grid")
    assert result.accepted == 3 * 2 * 2 * 3 * 3 * 2 - 3 * 2 * 2 * 3 * 2  # ECA with an SE ratio is no design
    rows = {(r["stem"], r["shortcut"], r["attention"] if r["attention"] == r["attention"] else None,
             r["anti_alias"], r["stem_pool"] if r["stem_pool"] == r["stem_pool"] else None, r["se_ratio"]):
            (r["params"], r["macs"]) for r in result.table.to_dict("records")}
    for name, key in (("resnet50d", ("deep", "avg_down", None, "none", None, 0.0)),
                      ("ecaresnet50d", ("deep", "avg_down", "eca", "none", None, 0.0)),
                      ("resnetaa50d", ("deep", "avg_down", None, "avg", None, 0.0)),
                      ("resnetblur50d", ("deep", "avg_down", None, "blur", None, 0.0)),
                      ("resnet50t", ("deep_tiered", "avg_down", None, "none", None, 0.0))):
        report = analyse(from_timm(name))
        assert rows[key] == (report.params, report.macs), name
