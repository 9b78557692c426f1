"""Memory estimates against hand arithmetic on a tiny design and against real measurements:

* inference activations: the peak bytes of tensors alive at once in a real no-grad forward, tracked
  per storage with weak references from a ``TorchDispatchMode`` (every op's outputs are registered; a
  storage counts until the last tensor using it is garbage);
* training activations: the bytes autograd actually saves, collected with
  ``torch.autograd.graph.saved_tensors_hooks`` (each storage once, parameters and buffers excluded), in an
  fp32 forward and under ``torch.autocast`` to bf16 and to fp16 on the CPU;
* weights in each storage precision: the bytes of the parameters once cast;
* the optimizer's state: parameters, gradients and Adam's moments after a real training step.
"""

from __future__ import annotations

import weakref

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from arch_lab import ResNetSpec, SpecError, analyse, build_model, load_preset
from arch_lab.timm_family import from_timm

# conv 3x3 stem (1 -> 4), one basic block of 4 channels, 4x4 input, 2 classes
TINY = ResNetSpec(block="basic", depths=(1,), widths=(4,), stem="cifar", stem_width=4, in_channels=1,
                  num_classes=2, input_size=4)


def test_tiny_design_by_hand():
    report = analyse(TINY, batch_size=2)
    # params: stem conv 4*1*9 = 36, BN 2*4 = 8; block convs 2 * 4*4*9 = 288, BNs 16; fc 4*2 + 2 = 10
    assert report.params == 36 + 8 + 288 + 16 + 10 == 358
    # MACs per image: each conv weight once per output pixel (16 pixels): (36 + 288) * 16, fc 8
    assert report.macs == 2 * ((36 + 288) * 16 + 8) == 10_384
    assert report.activations == 2 * (3 * 64 + 2)  # three conv maps of 4x4x4, the 2 logits
    assert report.weights_fp32_mb == 358 * 4 / 1e6
    assert report.weights_bf16_mb == 358 * 2 / 1e6
    # inference peak per image, in elements: input 16 + block input 64 + first BN output 64
    # + second conv output 64 + second BN output 64, while the second BN runs
    assert report.activations_mb == 2 * (16 + 4 * 64) * 4 / 1e6
    # saved for backward per image: input 16; stem conv and BN outputs 64 + 64; block conv1, bn1, conv2
    # outputs 3 * 64 (bn2's output only feeds the add); the residual sum 64; the pooled vector 4.
    # Per batch: BN mean and inverse std, 3 BNs * 4 channels * 2.
    saved = 2 * (16 + 2 * 64 + 3 * 64 + 64 + 4) * 4 + 3 * 4 * 2 * 4
    assert report.train_activations_fp32_mb == saved / 1e6
    assert report.train_step_fp32_mb == (4 * 358 * 4 + saved) / 1e6  # weights, grads, 2 Adam moments
    # under autocast the same activations in 2 bytes, the same fp32 BN statistics, and a 16-bit copy of each
    # conv and linear weight: 36 + 288 + 8 elements
    mixed = 2 * (16 + 2 * 64 + 3 * 64 + 64 + 4) * 2 + 3 * 4 * 2 * 4 + (36 + 288 + 8) * 2
    assert report.train_activations_mixed_mb == mixed / 1e6
    assert report.train_step_mixed_mb == (4 * 358 * 4 + mixed) / 1e6  # fp32 master weights, grads, moments
    assert (report.weights_fp16_mb, report.weights_int8_mb) == (358 * 2 / 1e6, 358 / 1e6)


class LiveTensors(TorchDispatchMode):
    """Bytes of the storages that some live tensor produced by an op (or registered) still uses."""

    def __init__(self, ignore: set[int]) -> None:
        super().__init__()
        self.ignore = ignore
        self.sizes: dict[int, int] = {}
        self.refs: dict[int, dict[int, weakref.ref]] = {}
        self.peak = 0

    def track(self, tensor: torch.Tensor) -> None:
        storage = tensor.untyped_storage()
        pointer = storage.data_ptr()
        if pointer in self.ignore:
            return
        self.sizes[pointer] = storage.nbytes()
        ref = weakref.ref(tensor, lambda ref, pointer=pointer: self._gone(pointer, ref))
        self.refs.setdefault(pointer, {})[id(ref)] = ref

    def _gone(self, pointer: int, ref: weakref.ref) -> None:
        refs = self.refs.get(pointer, {})
        refs.pop(id(ref), None)
        if not refs:
            self.refs.pop(pointer, None)
            self.sizes.pop(pointer, None)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for value in tree_leaves(out):
            if isinstance(value, torch.Tensor):
                self.track(value)
        self.peak = max(self.peak, sum(self.sizes.values()))
        return out


def storages(model: torch.nn.Module) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}


def measured_inference_peak(model: torch.nn.Module, x: torch.Tensor) -> int:
    mode = LiveTensors(storages(model))
    mode.track(x)
    with torch.no_grad(), mode:
        model(x)
    return mode.peak


def measured_saved_bytes(model: torch.nn.Module, x: torch.Tensor, autocast: torch.dtype | None = None) -> int:
    """Bytes of the storages autograd saves in a training forward (in ``autocast`` to that dtype, if given)."""
    ignore = storages(model)
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in ignore:
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor), torch.autocast(
            "cpu", dtype=autocast or torch.bfloat16, enabled=autocast is not None):
        model(x)
    return sum(saved.values())


DESIGNS = [
    TINY,
    load_preset("resnet18").replace(input_size=64),
    load_preset("resnet50").replace(input_size=(48, 64)),
    load_preset("resnet50d").replace(input_size=64, widths=[16, 32, 64, 128]),
    load_preset("se_resnet50").replace(input_size=64, widths=[16, 32, 64, 128]),
    load_preset("resnext50_32x4d").replace(input_size=64),
    load_preset("d2l_resnet18").replace(input_size=64),
    load_preset("resnet20"),
    ResNetSpec(block=("basic", "bottleneck", "basic"), depths=(1, 2, 1), widths=(8, 4, 16), strides=(2, 1, 2),
               stem="deep", stem_width=8, input_size=(40, 56), num_classes=3),
]


def _small(name: str) -> ResNetSpec:
    """timm's ``name`` at 64x64, its widths quartered where its groups allow (RegNets' group widths and
    GroupNorm's 32 groups need theirs)."""
    spec = from_timm(name).replace(input_size=64)
    try:
        return spec.replace(widths=[max(8, w // 4) for w in spec.widths])
    except SpecError:
        return spec


FAMILY = [_small(name) for name in (
    "resnet26t", "ecaresnet26t", "resnetaa50", "resnetblur18", "seresnet18", "resnetrs50", "resnet50_gn",
    "regnetx_004", "regnety_040_sgn", "regnetz_005", "regnetz_040", "resnetv2_18", "resnetv2_50d_gn",
    "resnetv2_50x1_bit", "resnest14d", "resnest50d_4s2x40d", "res2net50_26w_4s", "res2next50", "skresnet18",
    "skresnext50_32x4d", "senet154")] + [
    ResNetSpec(block="basic", depths=(1,), widths=(8,), input_size=32, num_classes=4, stem_pool="zero_pad_max"),
    ResNetSpec(block="basic", depths=(1, 1), widths=(8, 16), input_size=32, num_classes=4, anti_alias="blur",
               stem="cifar", strides=(2, 2)),
]
"""One design per feature of timm's family (small, so a real forward pass is quick)."""


@pytest.mark.parametrize("spec", DESIGNS + FAMILY, ids=lambda spec: f"{spec.name}-{spec.key()[:6]}")
def test_estimates_equal_measured_bytes(spec):
    torch.manual_seed(0)
    model = build_model(spec)
    x = torch.randn(2, spec.in_channels, *spec.input_size)
    report = analyse(spec, batch_size=2)
    measured = measured_inference_peak(model.eval(), x)
    if spec.weight_standardization:  # each conv's standardised weight is alive while it runs: not in the model
        largest = max(p.numel() for p in model.parameters()) * 4
        assert measured - largest <= round(report.activations_mb * 1e6) <= measured
    else:
        assert round(report.activations_mb * 1e6) == measured
    assert round(report.train_activations_fp32_mb * 1e6) == measured_saved_bytes(model.train(), x)
    for dtype in (torch.bfloat16, torch.float16):
        assert round(report.train_activations_mixed_mb * 1e6) == measured_saved_bytes(model, x, dtype), dtype


@pytest.mark.parametrize("spec", DESIGNS[:3], ids=lambda spec: f"{spec.name}-{spec.key()[:6]}")
def test_weights_in_every_precision_equal_the_cast_parameters(spec):
    report = analyse(spec)
    model = build_model(spec)
    for precision, dtype in {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16,
                             "int8": torch.int8}.items():
        cast = sum(p.detach().to(dtype).untyped_storage().nbytes() for p in model.parameters())
        assert round(getattr(report, f"weights_{precision}_mb") * 1e6) == cast, precision


def test_the_training_state_equals_parameters_gradients_and_adam_moments_after_a_step():
    spec = DESIGNS[1]
    model = build_model(spec).train()
    optimizer = torch.optim.Adam(model.parameters())
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed precision: the state stays fp32
        loss = model(torch.randn(2, 3, *spec.input_size)).float().sum()
    loss.backward()
    optimizer.step()
    tensors = [*model.parameters(), *(p.grad for p in model.parameters())]
    tensors += [state[key] for state in optimizer.state.values() for key in ("exp_avg", "exp_avg_sq")]
    state = sum(t.untyped_storage().nbytes() for t in tensors)
    report = analyse(spec, batch_size=2)
    for precision in ("fp32", "mixed"):
        saved = getattr(report, f"train_activations_{precision}_mb")
        assert round((getattr(report, f"train_step_{precision}_mb") - saved) * 1e6) == state
