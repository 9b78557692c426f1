"""torchvision's published figures for the presets it has weights for: found for exactly those presets,
read from the installed metadata, and our analytic counts equal to them."""

from __future__ import annotations

import pytest
import torchvision.models as tvm

from arch_lab import analyse, list_presets, load_preset
from arch_lab.reference import TORCHVISION_PRESETS, reference, reference_table, torchvision_references


def _has_torchvision_weights(name: str) -> bool:
    """Asked of torchvision itself, so that the preset list cannot silently miss one."""
    if name not in tvm.list_models(module=tvm):
        return False
    return len(tvm.get_model_weights(name)) > 0


def test_exactly_the_presets_with_torchvision_weights_have_references():
    with_weights = [name for name in list_presets() if _has_torchvision_weights(name)]
    assert sorted(TORCHVISION_PRESETS) == sorted(with_weights)
    assert len(with_weights) == 25  # 10 ResNets, 15 RegNets
    for name in list_presets():
        assert (reference(name) is not None) == (name in with_weights), name


@pytest.mark.parametrize("name", TORCHVISION_PRESETS)
def test_our_params_and_macs_equal_the_published_figures(name):
    report = analyse(load_preset(name))
    assert report.input_size == (224, 224)
    refs = torchvision_references(name)
    enum = tvm.get_model_weights(name)
    assert len(refs) == len(enum)
    assert refs[0].weights == f"{enum.__name__}.{enum.DEFAULT.name}"
    for ref in refs:  # each at the crop it was evaluated on (RegNetY's SWAG end-to-end weights: 384 px)
        macs = analyse(load_preset(name), input_size=ref.crop_px).macs
        assert report.params == ref.params
        # torchvision prints _ops to 3 decimals (GMACs); our MACs rounded the same way
        assert f"{macs / 1e9:.3f}" == f"{ref.gmacs:.3f}"


def test_resnet50_default_weights_are_v2_with_its_published_accuracy():
    ref = reference("resnet50")
    assert ref.weights == "ResNet50_Weights.IMAGENET1K_V2"
    meta = tvm.ResNet50_Weights.IMAGENET1K_V2.meta
    assert (ref.acc1, ref.acc5) == (meta["_metrics"]["ImageNet-1K"]["acc@1"], meta["_metrics"]["ImageNet-1K"]["acc@5"])
    assert (ref.acc1, ref.acc5, ref.params, ref.gmacs) == (80.858, 95.434, 25_557_032, 4.089)
    assert (ref.crop_px, ref.resize_px) == (224, 232)
    assert ref.label == ("torchvision's published figures for ResNet50_Weights.IMAGENET1K_V2 "
                         "(ImageNet-1K val, 224 px crops of 232 px images)")
    v1 = torchvision_references("resnet50")[1]
    assert (v1.weights, v1.acc1, v1.resize_px) == ("ResNet50_Weights.IMAGENET1K_V1", 76.13, 256)


def test_a_spec_gets_the_reference_only_while_it_is_the_presets_network():
    resnet50 = load_preset("resnet50")
    assert reference(resnet50.replace(name="my copy")) == reference("resnet50")
    assert reference(load_preset("wide_resnet50_2")).weights.startswith("Wide_ResNet50_2_Weights.")
    assert reference(resnet50.replace(depths=[3, 4, 6, 2])) is None
    assert reference(resnet50.replace(input_size=160)) is None  # the published figures are at 224 px
    assert reference(load_preset("resnet50d")) is None


def test_reference_table_lists_every_weights_entry():
    table = reference_table()
    expected = sum(len(tvm.get_model_weights(name)) for name in TORCHVISION_PRESETS)
    assert len(table) == expected == 51  # 17 weights entries of the ResNets, 34 of the RegNets
    assert table.groupby("preset", sort=False).head(1)["weights"].tolist() == [
        reference(name).weights for name in TORCHVISION_PRESETS]
    assert table["label"].str.startswith("torchvision's published figures for ").all()
