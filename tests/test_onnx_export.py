"""ONNX export: a representative set of designs runs in onnxruntime to PyTorch's output, with a dynamic
batch; the 2 GiB protobuf limit is decided from the parameter count, before anything is built.

Designs are small (one or two blocks a stage, narrow widths, 32-64 px) so that the export of each takes
about a second; every feature that changes the graph (block type, groups, SE, stem, shortcut, number of
stages) is in at least one of them.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import arch_lab.onnx_export as onnx_export
from arch_lab import LimitError, ResNetSpec, SpecError, build_model, load_preset
from arch_lab.cli import main
from arch_lab.limits import Limits
from arch_lab.onnx_export import (
    DEFAULT_OPSET,
    SINGLE_FILE_LIMIT_BYTES,
    export_onnx,
    needs_external_data,
    weight_bytes,
)

SMALL = {"depths": [1, 1], "widths": [8, 16], "input_size": 32, "num_classes": 10}
DESIGNS = {
    "basic": ResNetSpec(name="basic", **SMALL),
    "bottleneck": ResNetSpec(name="bottleneck", block="bottleneck", **SMALL),
    "grouped": ResNetSpec(name="grouped", block="bottleneck", groups=4, width_per_group=8, **SMALL),
    "se": ResNetSpec(name="se", block="bottleneck", se_ratio=0.25, **SMALL),
    "deep_stem_avg_down": ResNetSpec(name="deep", stem="deep", stem_width=16, shortcut="avg_down", **SMALL),
    "cifar_zero_pad": ResNetSpec(name="cifar", stem="cifar", stem_width=8, shortcut="zero_pad",
                                 depths=[2, 2], widths=[8, 16], strides=[1, 2], input_size=16, num_classes=10),
    "five_stage_mixed": ResNetSpec(name="mixed5", block=["basic", "basic", "bottleneck", "bottleneck", "basic"],
                                   depths=[1, 1, 1, 1, 1], widths=[8, 8, 8, 16, 32], strides=[1, 2, 2, 2, 2],
                                   shortcut="conv", conv_bias=True, input_size=[64, 48], num_classes=7),
    # timm's family: every step and layer kind it adds
    "eca_tiered_blur": ResNetSpec(name="eca", attention="eca", stem="deep_tiered", stem_width=16, anti_alias="blur",
                                  shortcut="avg_down", **SMALL),
    "avg_aa_conv_pool_se8": ResNetSpec(name="aa", anti_alias="avg", stem_pool="conv", se_ratio=0.25, se_divisor=8,
                                       **SMALL),
    "groupnorm_silu_regnetz": ResNetSpec(name="z", block="res_bottleneck", bottleneck_ratio=4.0, group_width=4,
                                         se_ratio=0.25, activation="silu", linear_out=True, shortcut="none",
                                         head_width=32, stem="simple", norm="groupnorm", norm_groups=4,
                                         depths=[1, 2], widths=[8, 16], input_size=32, num_classes=10),
    "preact_bit": ResNetSpec(name="bit", block="bottleneck", preact=True, weight_standardization=True,
                             norm="groupnorm", norm_groups=2, stem_pool="zero_pad_max", **SMALL),
    "resnest": ResNetSpec(name="resnest", block="split_attention", radix=2, avd="first", stem="deep",
                          stem_width=16, **SMALL),
    "res2net_senet": ResNetSpec(name="res2net", block="res2net", scales=4, width_per_group=32, **SMALL),
    "sknet": ResNetSpec(name="sk", block=["sk_basic", "sk_bottleneck"], reduce_first=2, groups=1, **SMALL),
}


def _randomise_batchnorm(model: torch.nn.Module) -> None:
    """Non-trivial BN statistics and affine weights, so folding BN into the convs is really checked."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            c = module.num_features
            module.running_mean.copy_(torch.randn(c, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(c, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(c, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(c, generator=generator) * 0.1)


@pytest.mark.parametrize("key", DESIGNS)
def test_onnxruntime_matches_pytorch_at_batch_1_and_3(key, tmp_path):
    spec = DESIGNS[key]
    torch.manual_seed(0)
    model = build_model(spec)
    _randomise_batchnorm(model)
    path = export_onnx(model, tmp_path / f"{key}.onnx")
    assert model.training  # the caller's mode is restored after the eval-mode export
    model.eval()

    proto = onnx.load(path)
    assert [(o.domain, o.version) for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [("", DEFAULT_OPSET)]
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "input" and out.name == "logits"
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == [
        "batch", spec.in_channels, *spec.input_size]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", spec.num_classes]

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        x = torch.randn(batch, spec.in_channels, *spec.input_size, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = model(x).numpy()
        (got,) = session.run(None, {"input": x.numpy()})
        assert got.shape == (batch, spec.num_classes)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))


def test_export_from_a_spec_builds_with_the_specs_input_size_and_older_opset(tmp_path):
    spec = DESIGNS["basic"].replace(input_size=[40, 24])
    path = export_onnx(spec, tmp_path / "basic.onnx", opset=18)
    proto = onnx.load(path)
    assert [o.version for o in proto.opset_import if o.domain == ""] == [18]
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim][1:] == [3, 40, 24]
    assert not (tmp_path / "basic.onnx.data").exists()


@pytest.mark.parametrize("opset", [17, 24, 99])
def test_an_opset_the_exporter_cannot_write_is_refused(opset, tmp_path):
    with pytest.raises(SpecError, match="^opset: .*18 to 23"):
        export_onnx(DESIGNS["basic"], tmp_path / "x.onnx", opset=opset)
    assert not (tmp_path / "x.onnx").exists()


def test_weight_bytes_is_an_upper_bound_of_the_file(tmp_path):
    """The size decision's estimate against a real single-file export (resnet18, 46.8 MB of weights)."""
    spec = load_preset("resnet18").replace(input_size=32)
    estimate = weight_bytes(spec)
    model = build_model(spec, device="meta")
    params = sum(p.numel() for p in model.parameters())
    bn_stats = sum(m.running_mean.numel() + m.running_var.numel() for m in model.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))
    assert bn_stats == 2 * 4_800  # 20 BNs over 4,800 channels
    assert estimate == 4 * (params + bn_stats)
    path = export_onnx(spec, tmp_path / "r18.onnx")
    assert 0.99 * estimate < path.stat().st_size < 1.01 * estimate


# wide_resnet101_2 with every stage twice as wide: about 4x its 127 M parameters, 2 GB of fp32 weights
HUGE = load_preset("wide_resnet101_2").replace(name="huge", widths=[128, 256, 512, 1024])


def test_the_size_decision_comes_from_the_parameter_count():
    assert weight_bytes(HUGE) > SINGLE_FILE_LIMIT_BYTES > weight_bytes(load_preset("wide_resnet101_2"))
    assert needs_external_data(HUGE)
    assert not any(needs_external_data(load_preset(name)) for name in ("resnet152", "wide_resnet101_2",
                                                                          "resnext101_32x8d"))


def test_a_design_over_the_limit_is_refused_before_it_is_built(monkeypatch, tmp_path):
    def no_build(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr("arch_lab.models.build_model", no_build)
    with pytest.raises(LimitError, match=r"^external_data: huge's weights take \d+\.\d\d GB .*2 GiB.*external data"):
        export_onnx(HUGE, tmp_path / "huge.onnx", external_data=False)
    assert not list(tmp_path.iterdir())


def test_a_design_over_the_limit_is_saved_with_external_data(monkeypatch, tmp_path):
    """The automatic choice for a design over the limit, with the build swapped for a small model: the
    decision is the spec's, the writing path is the one a 2 GB model takes."""
    small = build_model(DESIGNS["basic"])
    monkeypatch.setattr("arch_lab.models.build_model", lambda spec, limits=None: small)
    monkeypatch.setattr(onnx_export, "needs_external_data", lambda spec: spec.name == "huge")
    path = export_onnx(DESIGNS["basic"].replace(name="huge"), tmp_path / "huge.onnx")
    data = tmp_path / "huge.onnx.data"
    assert data.is_file() and data.stat().st_size > path.stat().st_size
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 3, 32, 32)
    small.eval()
    with torch.no_grad():
        np.testing.assert_allclose(session.run(None, {"input": x.numpy()})[0], small(x).numpy(), rtol=1e-4, atol=1e-4)


def test_cli_export(tmp_path, capsys):
    out = tmp_path / "r20.onnx"
    assert main(["export", "resnet20", "--onnx", str(out), "--input-size", "16"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    shape = onnx.load(out).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in shape] == ["batch", 3, 16, 16]


def test_cli_export_refusals_are_one_line(tmp_path, capsys):
    assert main(["export", "resnet20", "--onnx", str(tmp_path / "x.onnx"), "--opset", "12"]) == 2
    assert capsys.readouterr().err.startswith("error: opset: 12 is not allowed")
    spec_file = tmp_path / "huge.json"
    spec_file.write_text(HUGE.to_json())
    assert main(["export", str(spec_file), "--onnx", str(tmp_path / "x.onnx"), "--external-data", "never"]) == 2
    assert capsys.readouterr().err.startswith("error: external_data: huge's weights take")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.json"]


def test_a_timed_export_runs_in_a_child_and_brings_back_its_file_or_its_refusal(tmp_path):
    spec = load_preset("resnet20").replace(input_size=16)
    path = export_onnx(spec, tmp_path / "r20.onnx", timeout_s=300)
    onnx.checker.check_model(str(path))
    with pytest.raises(LimitError, match=r"^max_params: .* exceed the limit of 1,000"):
        export_onnx(spec, tmp_path / "small.onnx", timeout_s=300, limits=Limits(max_params=1_000))
    with pytest.raises(SpecError, match="^timeout_s: a time bound needs a spec"):
        export_onnx(build_model(spec), tmp_path / "m.onnx", timeout_s=300)
