"""timm as the outside oracle: every supported timm ResNet-family model, built by the lab from
``from_timm(name)``, has exactly timm's parameters, timm's MACs (``torch.utils.flop_counter`` on timm's own
model), every layer's output shape, and a state dict that maps one to one onto timm's; for one model of every
feature family, timm's random-initialised weights loaded through ``load_timm_weights`` give timm's outputs.

Built on the meta device (no memory, no arithmetic) except the output checks, which run at 64x64.
"""

from __future__ import annotations

import pytest
import torch
from test_analysis_crosscheck import record_shapes
from torch.utils.flop_counter import FlopCounterMode

from arch_lab import analyse, build_model
from arch_lab.timm_family import from_timm, load_timm_weights, timm_models, timm_module_name

timm = pytest.importorskip("timm", reason="timm (requirements-dev.txt) is the test-only oracle")

REPRESENTATIVES = [
    "resnet26t", "resnet50d", "ecaresnet26t", "resnetaa50", "resnetblur18", "seresnet18", "resnetrs50", "resnet50_gn",
    "regnetx_004", "regnety_040_sgn", "regnetz_005", "resnetv2_18", "resnetv2_50x1_bit", "resnest14d",
    "res2net50_26w_4s", "skresnet18",
    # and the remaining features: SENet-154's 3x3 projection and halved first convs, SKNet's unsplit input,
    # ResNeSt's avd before the split attention, Res2NeXt's groups, RegNetZ without a head conv, GroupNorm ResNetV2
    "senet154", "skresnext50_32x4d", "resnest50d_4s2x40d", "res2next50", "regnetz_040", "resnetv2_50d_gn"]
"""One model of every feature family (the issue's list first)."""


def squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    while len(shape) > 2 and shape[-1] == shape[-2] == 1:
        shape = shape[:-2]
    return shape


def output_shapes(model: torch.nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Each module's output shape at its first call (``record_shapes``), trailing 1x1 dimensions dropped (a
    classifier may be a 1x1 conv or a linear layer)."""
    return {name: squeezed(output) for name, (_, output) in record_shapes(model, x).items()}


@pytest.mark.parametrize("name", timm_models())
def test_the_lab_builds_timms_model_exactly(name):
    spec = from_timm(name)
    with torch.device("meta"):
        theirs = timm.create_model(name).eval()
    ours = build_model(spec, device="meta").eval()
    report = analyse(spec)
    x = torch.zeros(1, 3, *spec.input_size, device="meta")
    assert report.params == sum(p.numel() for p in theirs.parameters()) == sum(p.numel() for p in ours.parameters())
    with FlopCounterMode(display=False) as counter:
        theirs(x)
    assert report.macs == counter.get_total_flops() // 2
    their_shapes = output_shapes(theirs, x)
    checked = 0
    for layer in report.layers.itertuples():
        module = timm_module_name(layer.name, spec)
        if module in their_shapes:
            assert their_shapes[module] == squeezed(layer.output_shape), (layer.name, module)
            checked += 1
        else:
            assert layer.params == 0, f"{layer.name} ({module}) has parameters but no timm module"
    assert checked >= len(report.layers) // 2
    their_state = {key: tuple(value.shape) for key, value in theirs.state_dict().items()}
    our_state = {f"{timm_module_name(key.rpartition('.')[0], spec)}.{key.rpartition('.')[2]}": tensor.numel()
                 for key, tensor in ours.state_dict().items()}
    assert set(our_state) == set(their_state)
    assert all(our_state[key] == torch.Size(shape).numel() for key, shape in their_state.items())


@pytest.mark.parametrize("name", REPRESENTATIVES)
def test_timms_weights_load_and_give_timms_outputs(name):
    torch.manual_seed(0)
    theirs = timm.create_model(name).eval()
    ours = build_model(from_timm(name).replace(input_size=64)).eval()
    load_timm_weights(ours, theirs.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = theirs(x), ours(x)
    # bit-identical except ResNetV2, whose classifier timm runs as a 1x1 conv (another summation order)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
