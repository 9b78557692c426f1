"""The network as analytic arithmetic: every layer's shapes, parameters and MACs from the spec alone.

In the pycls ``complexity()`` style: no torch, no weights, microseconds per layer. This is what makes the
analysers instant and lets the request limits be checked before anything is allocated. The layer names
are the built module's names; the tests hold every number against the real module, fvcore, torchinfo
and ``torch.utils.flop_counter``.

Conventions: MACs are the multiply-accumulates of conv and linear layers (torchvision's published
"GFLOPS"); BN, ReLU, pooling and the residual add count none. Parameters include conv/linear biases and
BN's affine weights, not BN's running statistics (buffers).
"""

from __future__ import annotations

from dataclasses import dataclass

from arch_lab.cache import WeightedLRU
from arch_lab.spec import ResNetSpec, squeeze_channels

Shape = tuple[int, int, int]
"""(channels, height, width) of one image."""


@dataclass(frozen=True)
class Layer:
    """One module of the built network, as the analysers see it."""

    name: str
    type: str
    stage: str
    input_shape: Shape
    output_shape: Shape
    kernel: int = 0
    stride: int = 1
    groups: int = 1
    params: int = 0
    macs: int = 0

    @property
    def activations(self) -> int:
        """Output elements of conv and linear layers (what fvcore's ActivationCountAnalysis counts)."""
        if self.type in ("Conv2d", "Linear"):
            c, h, w = self.output_shape
            return c * h * w
        return 0


class _Tracer:
    """Walks the network in forward order, threading the current shape through each layer."""

    def __init__(self, spec: ResNetSpec) -> None:
        self.spec = spec
        self.layers: list[Layer] = []
        self.stage = "stem"

    def conv(self, name: str, shape: Shape, out_channels: int, kernel: int, stride: int = 1,
             groups: int = 1, bias: bool | None = None) -> Shape:
        c, h, w = shape
        pad = kernel // 2  # every conv here is padded to keep the size at stride 1
        out = (out_channels, (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1)
        has_bias = self.spec.conv_bias if bias is None else bias
        weights = out_channels * (c // groups) * kernel * kernel
        self.layers.append(Layer(name, "Conv2d", self.stage, shape, out, kernel, stride, groups,
                                 params=weights + (out_channels if has_bias else 0),
                                 macs=weights * out[1] * out[2]))
        return out

    def bn(self, name: str, shape: Shape) -> Shape:
        self.layers.append(Layer(name, "BatchNorm2d", self.stage, shape, shape, params=2 * shape[0]))
        return shape

    def pool(self, name: str, kind: str, shape: Shape, kernel: int, stride: int, padding: int = 0,
             ceil: bool = False) -> Shape:
        c, h, w = shape

        def side(n: int) -> int:
            span = n + 2 * padding - kernel
            return (-(-span // stride) if ceil else span // stride) + 1

        out = (c, side(h), side(w))
        self.layers.append(Layer(name, kind, self.stage, shape, out, kernel, stride))
        return out

    def stem(self, shape: Shape) -> Shape:
        spec, width = self.spec, self.spec.stem_width
        if spec.stem == "classic":
            shape = self.conv("conv1", shape, width, 7, 2)
        elif spec.stem == "deep":
            shape = self.conv("conv1.0", shape, width // 2, 3, 2)
            shape = self.bn("conv1.1", shape)
            shape = self.conv("conv1.3", shape, width // 2, 3)
            shape = self.bn("conv1.4", shape)
            shape = self.conv("conv1.6", shape, width, 3)
        else:
            shape = self.conv("conv1", shape, width, 3)
        shape = self.bn("bn1", shape)
        if spec.stem != "cifar":
            shape = self.pool("maxpool", "MaxPool2d", shape, 3, 2, padding=1)
        return shape

    def shortcut(self, prefix: str, shape: Shape, out_channels: int, stride: int) -> Shape:
        kind = self.spec.shortcut
        if kind == "projection":
            out = self.conv(f"{prefix}.0", shape, out_channels, 1, stride)
            return self.bn(f"{prefix}.1", out)
        if kind == "avg_down":
            if stride > 1:
                shape = self.pool(f"{prefix}.0", "AvgPool2d", shape, 2, stride, ceil=True)
            out = self.conv(f"{prefix}.1", shape, out_channels, 1)
            return self.bn(f"{prefix}.2", out)
        if kind == "conv":
            return self.conv(f"{prefix}.0", shape, out_channels, 1, stride, bias=True)
        c, h, w = shape  # zero_pad: strided identity padded with zero channels
        out = (out_channels, -(-h // stride), -(-w // stride))
        self.layers.append(Layer(prefix, "ZeroPadShortcut", self.stage, shape, out, 1, stride))
        return out

    def squeeze_excitation(self, prefix: str, shape: Shape) -> None:
        channels = shape[0]
        hidden = squeeze_channels(channels, self.spec.se_ratio)
        pooled = (channels, 1, 1)
        self.layers.append(Layer(f"{prefix}.avgpool", "AdaptiveAvgPool2d", self.stage, shape, pooled))
        squeezed = self.conv(f"{prefix}.fc1", pooled, hidden, 1, bias=True)
        self.conv(f"{prefix}.fc2", squeezed, channels, 1, bias=True)

    def block(self, prefix: str, kind: str, shape: Shape, stage: int, stride: int) -> Shape:
        spec = self.spec
        out_channels = spec.stage_out_channels(stage)
        inner = spec.stage_inner_width(stage)
        if stride != 1 or shape[0] != out_channels:
            self.shortcut(f"{prefix}.downsample", shape, out_channels, stride)
        if kind == "basic":
            out = self.bn(f"{prefix}.bn1", self.conv(f"{prefix}.conv1", shape, inner, 3, stride))
            out = self.bn(f"{prefix}.bn2", self.conv(f"{prefix}.conv2", out, out_channels, 3))
        else:
            out = self.bn(f"{prefix}.bn1", self.conv(f"{prefix}.conv1", shape, inner, 1))
            out = self.bn(f"{prefix}.bn2", self.conv(f"{prefix}.conv2", out, inner, 3, stride, spec.groups))
            out = self.bn(f"{prefix}.bn3", self.conv(f"{prefix}.conv3", out, out_channels, 1))
        if spec.se_ratio > 0:
            self.squeeze_excitation(f"{prefix}.se", out)
        return out

    def run(self) -> tuple[Layer, ...]:
        spec = self.spec
        shape = self.stem((spec.in_channels, *spec.input_size))  # type: ignore[misc]
        for stage, kind in enumerate(spec.stage_blocks):
            self.stage = f"layer{stage + 1}"
            for index in range(spec.depths[stage]):
                stride = spec.strides[stage] if index == 0 else 1  # type: ignore[index]
                shape = self.block(f"{self.stage}.{index}", kind, shape, stage, stride)
        self.stage = "head"
        self.layers.append(Layer("avgpool", "AdaptiveAvgPool2d", "head", shape, (shape[0], 1, 1)))
        features = shape[0]
        self.layers.append(Layer("fc", "Linear", "head", (features, 1, 1), (spec.num_classes, 1, 1),
                                 params=features * spec.num_classes + spec.num_classes,
                                 macs=features * spec.num_classes))
        return tuple(self.layers)


CACHED_LAYERS = 100_000
"""Plans kept in memory, counted in layers (~310 bytes each: about 30 MB); resnet50's plan has 126."""
_PLANS: WeightedLRU[tuple[Layer, ...]] = WeightedLRU(CACHED_LAYERS, len)


def plan(spec: ResNetSpec) -> tuple[Layer, ...]:
    """Every counted layer of ``spec``'s network in forward order (ReLUs, which hold and compute
    nothing, are left out). Cached by the network, not its name: designs that differ only by name share
    one plan."""
    return _PLANS.get(spec.network(), lambda: _Tracer(spec).run())


def clear_plans() -> None:
    """Forget the cached plans (for cold-start timing)."""
    _PLANS.clear()
