"""The timm catalog: regenerated from the pinned timm it equals the committed file (no drift); it covers
timm's whole ResNet family, each model supported or unsupported with its reason; ``from_timm`` accepts
pretrained tags and refuses what it does not know with the nearest names; the published accuracy comes
from timm's own results table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from arch_lab import SpecError
from arch_lab.timm_family import (
    accuracy_source,
    catalog,
    from_timm,
    timm_accuracy,
    timm_models,
    unsupported_timm_models,
)

timm = pytest.importorskip("timm", reason="timm (requirements-dev.txt) regenerates the catalog")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import timm_catalog  # noqa: E402  (tools/, on the path just above)


def test_the_committed_catalog_is_what_the_pinned_timm_generates():
    assert timm.__version__ == catalog()["timm_version"] == "1.0.31"
    regenerated = timm_catalog.render(timm_catalog.build())
    assert json.loads(regenerated) == catalog(), "run: python tools/timm_catalog.py"
    assert (ROOT / "arch_lab" / "timm_catalog.json").read_text(encoding="utf-8") == regenerated


def test_the_catalog_covers_timms_whole_resnet_family():
    family = {name for _, name in timm_catalog.family_models()}
    assert len(family) == 158
    assert set(timm_models()) | set(unsupported_timm_models()) == family
    assert not set(timm_models()) & set(unsupported_timm_models())
    assert len(timm_models()) >= 150
    assert set(unsupported_timm_models()) == {"ecaresnet50d_pruned", "ecaresnet101d_pruned", "regnetv_040",
                                              "regnetv_064", "resnetv2_50d_evos", "resnetv2_50d_frn"}


def test_from_timm_accepts_tags_and_the_picker_prefix():
    spec = from_timm("resnet50d")
    assert spec == from_timm("resnet50d.a1_in1k") == from_timm("timm:resnet50d.ra2_in1k")
    assert (spec.stem, spec.stem_width, spec.shortcut, spec.name) == ("deep", 64, "avg_down", "resnet50d")


@pytest.mark.parametrize(("name", "expected"), [
    ("resnet50dd", "'resnet50dd' is not a supported timm model; nearest: resnet50d"),
    ("resnet50.bogus_tag", "resnet50.bogus_tag is not a pretrained tag timm 1.0.31 knows; resnet50 has a1_in1k"),
    ("regnetv_040", "'regnetv_040' is a timm ResNet-family model the spec cannot express: RegNetV"),
    ("x" * 81, "text of 81 characters is not a timm model name"),
])
def test_unknown_names_and_tags_are_refused_with_the_nearest_names(name, expected):
    with pytest.raises(SpecError) as error:
        from_timm(name)
    assert str(error.value).startswith(f"timm: {expected}"), str(error.value)


def test_published_accuracy_is_timms_own_table():
    rows = {(row.tag, row.img_size): row.top1 for row in timm_accuracy("resnet50")}
    assert rows == {("a1_in1k", 288): 81.24, ("a1_in1k", 224): rows[("a1_in1k", 224)]}
    assert all(row.tag == "ra2_in1k" for row in timm_accuracy("resnet50d.ra2_in1k"))
    with (ROOT / "tools" / "timm_results_imagenet.csv").open(encoding="utf-8") as handle:
        assert "resnet50.a1_in1k,288,81.240," in handle.read()
    assert "results-imagenet.csv" in accuracy_source() and "aa4b5850" in accuracy_source()
