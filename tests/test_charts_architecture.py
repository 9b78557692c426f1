"""The network as a picture: every box and label against the spec, worked out here by hand arithmetic
(not by the analysers), and box sizes to scale of channels or MACs."""

from __future__ import annotations

import pytest

from arch_lab import ResNetSpec, SpecError, analyse, list_presets, load_preset
from arch_lab.charts import _INNER_MIN, architecture

MIXED = ResNetSpec(name="mixed5", block=["basic", "bottleneck", "basic", "bottleneck", "bottleneck"],
                   depths=[2, 1, 3, 2, 1], widths=[32, 16, 96, 64, 128], strides=[1, 2, 2, 1, 2],
                   stem="deep", stem_width=32, shortcut="avg_down", se_ratio=0.125, input_size=[200, 136])


def expected_rows(spec: ResNetSpec) -> list[tuple[str, str, int, int]]:
    """(stage, text the label must hold, channels, feature-map size) by hand: a stride-2 step turns a
    side n into ceil(n / 2); the classic and deep stems take two of them (conv, max-pool), RegNet's simple
    stem one (its conv), CIFAR's none."""
    h, w = spec.input_size
    for _ in range({"classic": 2, "deep": 2, "simple": 1, "cifar": 0}[spec.stem]):
        h, w = -(-h // 2), -(-w // 2)
    size = f"{spec.stem_width}×{h}×{w}"
    rows = [("stem", f"stem · {spec.stem}", spec.stem_width, size),
            ("stem", f"{spec.stem_width} ch", spec.stem_width, size)]
    for i, depth in enumerate(spec.depths):
        kind = spec.block if isinstance(spec.block, str) else spec.block[i]
        stride = spec.strides[i]
        if stride == 2:
            h, w = -(-h // 2), -(-w // 2)
        out = spec.widths[i] * (4 if kind == "bottleneck" else 1)
        rows.append((f"layer{i + 1}", f"layer{i + 1} · {kind} × {depth}", out, f"{out}×{h}×{w}"))
        rows.append((f"layer{i + 1}", f"{out} ch · stride {stride}", out, f"{out}×{h}×{w}"))
    rows.append(("head", f"{out} → {spec.num_classes}", spec.num_classes, f"{spec.num_classes} logits"))
    return rows


def boxes(fig, column: int = 0) -> dict[str, tuple[float, float]]:
    """Stage box name -> (width, height), in drawing order."""
    out = {}
    for shape in fig.layout.shapes:
        name = shape.name or ""
        prefix, _, stage = name.partition(":")
        if prefix == str(column) and stage and ":" not in stage:
            out[stage] = (shape.x1 - shape.x0, shape.y1 - shape.y0)
    return out


def texts(fig, column: int, suffix: str) -> dict[str, str]:
    out = {}
    for note in fig.layout.annotations:
        name = note.name or ""
        if name.startswith(f"{column}:") and name.endswith(f":{suffix}"):
            out[name.split(":")[1]] = note.text
    return out


def inner(fig, column: int, stage: str) -> list[tuple[str, float]]:
    """The inner-structure boxes of a row: (label, height)."""
    labels = {n.name: n.text for n in fig.layout.annotations if n.name}
    return [(labels[s.name], s.y1 - s.y0) for s in fig.layout.shapes
            if (s.name or "").startswith(f"{column}:{stage}:inner")]


def check_against_spec(fig, spec: ResNetSpec, column: int = 0) -> None:
    stages = ["stem", *(f"layer{i + 1}" for i in range(len(spec.depths))), "head"]
    assert list(boxes(fig, column)) == stages
    labels, sizes = texts(fig, column, "label"), texts(fig, column, "size")
    assert list(sizes) == stages
    for stage, must_hold, _, size in expected_rows(spec):
        assert must_hold in labels[stage], (stage, labels[stage])
        assert sizes[stage] == size
    h, w = spec.input_size
    assert [n.text for n in fig.layout.annotations if n.name == f"{column}:input"] == [
        f"input {spec.in_channels}×{h}×{w}"]


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_is_drawn_as_its_spec(name):
    spec = load_preset(name)
    fig = architecture(analyse(spec))
    check_against_spec(fig, spec)


def test_a_five_stage_mixed_block_design():
    fig = architecture(analyse(MIXED))
    check_against_spec(fig, MIXED)
    labels = texts(fig, 0, "label")
    # hand arithmetic: 200x136 -> /2 -> /2 = 50x34; strides 1,2,2,1,2 -> 50x34, 25x17, 13x9, 13x9, 7x5
    assert texts(fig, 0, "size") == {"stem": "32×50×34", "layer1": "32×50×34", "layer2": "64×25×17",
                                     "layer3": "96×13×9", "layer4": "256×13×9", "layer5": "512×7×5",
                                     "head": "1000 logits"}
    assert "16 → 64 ch · stride 2" in labels["layer2"] and "64 → 256 ch · stride 1" in labels["layer4"]
    assert labels["stem"].endswith("32 ch · stride 4")
    # the deep stem's three 3x3 convs (16, 16, 32 channels) and the max-pool
    assert [label for label, _ in inner(fig, 0, "stem")] == ["3×3, 16<br>/2", "3×3, 16", "3×3, 32",
                                                            "3×3 max-pool /2"]
    notes = texts(fig, 0, "note")
    assert notes["layer3"] == ("shortcut: 2×2 avg-pool /2 → 1×1 conv → BN (block 1), identity (blocks 2-3)"
                               " · SE 96→12→96")
    assert notes["layer4"].startswith("shortcut: 1×1 conv → BN (block 1), identity (block 2)")


def test_block_inner_structure_and_shortcuts():
    fig = architecture([analyse(load_preset("resnext50_32x4d")), analyse(load_preset("resnet18"))])
    # ResNeXt-50 32x4d layer2: 1x1 to 256, grouped strided 3x3 (32 groups), 1x1 up to 512
    assert [label for label, _ in inner(fig, 0, "layer2")] == ["1×1, 256", "3×3, 256<br>g32 /2", "1×1, 512"]
    assert texts(fig, 0, "note")["layer2"] == "shortcut: 1×1 conv /2 → BN (block 1), identity (blocks 2-4)"
    # ResNet-18: 3x3 -> 3x3; layer1 keeps shape so its shortcut is the identity
    assert [label for label, _ in inner(fig, 1, "layer3")] == ["3×3, 256<br>/2", "3×3, 256"]
    assert texts(fig, 1, "note")["layer1"] == "shortcut: identity"
    assert [label for label, _ in inner(fig, 1, "head")] == ["global<br>avg-pool", "fc, 1000"]
    zero_pad = architecture(analyse(load_preset("resnet20")))
    assert texts(zero_pad, 0, "note")["layer2"].startswith("shortcut: identity /2 + zero channels (block 1)")
    se = architecture(analyse(load_preset("se_resnet50")))
    assert texts(se, 0, "note")["layer1"].endswith(" · SE 256→16→256")


def test_inner_boxes_are_to_scale_of_channels():
    fig = architecture(analyse(load_preset("resnet50")))
    heights = {label.split("<br>")[0]: height for stage in ("layer1", "layer4")
               for label, height in inner(fig, 0, stage)}
    # 1x1,256 : 1x1,512 : 1x1,2048 as 256 : 512 : 2048; 64 channels would be a hairline (a 32nd of the row)
    # and are drawn at the least height instead (issue 18)
    assert heights["1×1, 2048"] == pytest.approx(8 * heights["1×1, 256"])
    assert heights["1×1, 64"] == pytest.approx(_INNER_MIN) and _INNER_MIN < heights["1×1, 256"]
    assert heights["3×3, 64"] == pytest.approx(heights["1×1, 64"])
    assert heights["1×1, 512"] < heights["1×1, 2048"]


@pytest.mark.parametrize("name", ["resnet50", "resnet20", "wide_resnet50_2"])
def test_stage_boxes_are_to_scale_of_channels_and_of_macs(name):
    spec = load_preset(name)
    report = analyse(spec)
    channels = {stage: ch for stage, _, ch, _ in expected_rows(spec)}
    for scale, values in (("channels", channels),
                          ("macs", dict(zip(report.stages["stage"], report.stages["macs"], strict=True)))):
        widths = {stage: size[0] for stage, size in boxes(architecture(report, scale=scale)).items()}
        assert set(widths) == set(values)
        top = max(values, key=values.get)
        assert widths[top] == pytest.approx(1.0)  # the largest fills the column
        for stage in widths:
            assert widths[stage] == pytest.approx(values[stage] / values[top]), (scale, stage)
        order = sorted(values, key=values.get)
        assert [widths[s] for s in order] == sorted(widths.values())  # monotone
    # resnet50's MACs peak in layer3 (1.46 G) while its channels peak in layer4
    if name == "resnet50":
        macs_widths = boxes(architecture(report, scale="macs"))
        assert macs_widths["layer3"][0] > macs_widths["layer4"][0]
        assert boxes(architecture(report))["layer3"][0] < boxes(architecture(report))["layer4"][0]


def test_side_by_side_designs_share_one_scale():
    r18, r50 = analyse(load_preset("resnet18")), analyse(load_preset("resnet50"))
    fig = architecture([r18, r50])
    check_against_spec(fig, r18.spec, 0)
    check_against_spec(fig, r50.spec, 1)
    left, right = boxes(fig, 0), boxes(fig, 1)
    assert left["layer4"][0] == pytest.approx(right["layer2"][0])  # both 512 channels
    assert right["layer4"][0] == pytest.approx(1.0) and left["layer4"][0] == pytest.approx(0.25)
    assert {s.xref for s in fig.layout.shapes if (s.name or "").startswith("1:")} == {"x2"}
    assert [a.text.split("<br>")[0] for a in fig.layout.annotations[:2]] == ["resnet18", "resnet50"]


def test_bad_scale_and_nothing_to_draw():
    with pytest.raises(SpecError, match="^scale: 'flops' is not allowed"):
        architecture(analyse(load_preset("resnet18")), scale="flops")
    assert architecture([]).layout.annotations[0].text == "Add a design to draw it"


def test_timm_family_designs_show_their_blur_pools_attention_and_projections():
    from arch_lab.timm_family import from_timm

    blur = architecture(analyse(from_timm("resnetblur18")))
    # the stem's 3x3/1 max-pool then the blur pool that halves; a stage's strided 3x3 runs at stride 1, then blurs
    assert [label for label, _ in inner(blur, 0, "stem")][-2:] == ["3×3 max-pool", "3×3 blur-pool /2"]
    assert [label for label, _ in inner(blur, 0, "layer2")] == ["3×3, 128", "3×3 blur-pool /2", "3×3, 128"]
    eca = architecture(analyse(from_timm("ecaresnet26t")))
    assert texts(eca, 0, "note")["layer1"].endswith(" · ECA k=5")  # 256 channels: int(|log2 256 + 1| / 2) = 4 -> 5
    senet = architecture(analyse(from_timm("senet154")))
    assert texts(senet, 0, "note")["layer2"].startswith("shortcut: 3×3 conv /2 → BN (block 1)")
    assert texts(senet, 0, "note")["layer2"].endswith(" · SE 512→32→512")  # make_divisible(512 / 16, 8)
    for name, text in (("resnest14d", " · split attention"), ("skresnet18", " · selective-kernel attention")):
        assert texts(architecture(analyse(from_timm(name))), 0, "note")["layer1"].endswith(text), name
    gn = architecture(analyse(from_timm("resnet50_gn")))
    assert texts(gn, 0, "note")["layer2"] == "shortcut: 1×1 conv /2 → GN (block 1), identity (blocks 2-4)"
