"""The nodes of a described network: leaves (one module each), the steps of a residual branch, blocks.

Frozen dataclasses, compared by value (except :class:`Block`, by identity), so caches can key on them. Both
interpreters read them: :mod:`arch_lab.models` makes modules under the nodes' names and :mod:`arch_lab.plan`
counts them. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass


# ---- leaves ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Conv:
    """A square conv, padded so that stride 1 keeps the size (``padding = dilation * (kernel - 1) // 2``).
    ``standardized``: BiT's weight standardisation (the weight is normalised per output channel before each
    use; timm's ``StdConv2d`` with ``eps=1e-8``)."""

    name: str
    out_channels: int
    kernel: int
    stride: int = 1
    groups: int = 1
    bias: bool = False
    dilation: int = 1
    standardized: bool = False

    @property
    def padding(self) -> int:
        return self.dilation * (self.kernel - 1) // 2


@dataclass(frozen=True)
class Norm:
    """A normalisation over ``channels``: ``kind`` is a key of :data:`NORM_TYPES` (BatchNorm, or GroupNorm
    in ``groups`` groups). Two affine parameters per channel."""

    name: str
    channels: int
    kind: str = "batchnorm"
    groups: int = 0


NORM_TYPES = {"batchnorm": "BatchNorm2d", "groupnorm": "GroupNorm"}
"""Norm kind -> the module type of its layers."""


@dataclass(frozen=True)
class Act:
    """An in-place activation (``kind`` a key of :data:`ACTIVATIONS`, also its module's name in blocks and
    stems): a module of its own, no parameters."""

    name: str
    kind: str = "relu"


ACTIVATIONS = ("relu", "silu")


@dataclass(frozen=True)
class Pool:
    """Max or average pooling (``kind`` is "MaxPool2d" or "AvgPool2d"). Average pools exclude the padding
    from the mean unless ``count_include_pad`` (torch's default, which timm's anti-aliasing and ResNeSt's
    downsampling pools keep)."""

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int = 0
    ceil: bool = False
    count_include_pad: bool = False


@dataclass(frozen=True)
class BlurPool:
    """Anti-aliased downsampling (Zhang 2019, timm's ``BlurPool2d``): reflect-pad by 1, then a fixed 3x3
    binomial filter ``[1, 2, 1]^T [1, 2, 1] / 16`` per channel (a depthwise conv with a buffer, no
    parameters) at ``stride``."""

    name: str
    channels: int
    stride: int = 2

    kernel = 3


@dataclass(frozen=True)
class Pad:
    """Zero padding of ``padding`` pixels on every side (BiT's stem pads with zeros before its max-pool)."""

    name: str
    padding: int


@dataclass(frozen=True)
class Identity:
    """A placeholder that passes its input through (keeps a container's indices where timm has one)."""

    name: str


@dataclass(frozen=True)
class ZeroPad:
    """He et al.'s parameter-free shortcut: subsample by ``stride``, append zero channels."""

    name: str
    out_channels: int
    stride: int


@dataclass(frozen=True)
class Sequential:
    """Layers run one after the other inside one container named ``name``; each is named by its index
    (the names of ``items`` are ignored), as ``nn.Sequential`` names them."""

    name: str
    items: tuple[Leaf, ...]


Leaf = Conv | Norm | Act | Pool | BlurPool | Pad | Identity | ZeroPad
Downsampler = Pool | BlurPool
"""Layers that anti-alias a stride-2 step (they run after the conv, which then keeps stride 1)."""


# ---- the steps of a residual branch ------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """One statement of a residual branch: ``out = aa(act(norm(conv(out))))`` (each part but the conv
    optional), or with ``preact`` the pre-activation order ``out = conv(act(norm(out)))`` of He et al.'s
    "Identity Mappings" (2016). The statement's input stays alive until its result replaces it (the memory
    model relies on this)."""

    conv: Conv
    norm: Norm | None
    act: Act | None
    aa: Downsampler | None = None
    preact: bool = False


@dataclass(frozen=True)
class SqueezeExcitation:
    """Squeeze-excitation on ``channels``: global mean, 1x1 conv (bias) to ``hidden``, activation, 1x1 conv
    back, sigmoid, product with its input (``out = se(out)``); torchvision's and timm's ``SEModule`` alike
    (``fc1``, ``fc2``)."""

    name: str
    channels: int
    hidden: int
    act: str = "relu"


@dataclass(frozen=True)
class EfficientChannelAttention:
    """ECA-Net (Wang et al. 2020, timm's ``EcaModule``): global mean, a 1-D conv of ``kernel`` taps across
    the channels (no bias), sigmoid, product with the input (``out = se(out)``)."""

    name: str
    channels: int
    kernel: int


@dataclass(frozen=True)
class PoolStep:
    """``out = pool(out)`` inside a branch (ResNeSt's average-pool downsampling, "avd")."""

    pool: Pool


@dataclass(frozen=True)
class SplitAttention:
    """ResNeSt's split attention (Zhang et al. 2020, timm's ``SplitAttn``), replacing a 3x3 conv: ``conv``
    makes ``radix`` groups of ``out_channels`` (``groups x radix`` conv groups), ``bn0``, act; their sum is
    pooled, ``fc1`` (``attn_channels``, bias, ``groups`` groups), ``bn1``, act, ``fc2`` back to ``radix x
    out_channels``; a softmax across the radix (a sigmoid when ``radix`` is 1) weighs the groups, which are
    summed."""

    name: str
    out_channels: int
    stride: int
    groups: int
    radix: int
    attn_channels: int
    norm0: Norm
    norm1: Norm
    act: str


@dataclass(frozen=True)
class Res2Split:
    """Res2Net's hierarchical 3x3 (Gao et al. 2019, timm's ``Bottle2neck``): the input splits into ``scales``
    groups of ``width`` channels; split ``i < scales - 1`` runs ``act(bns[i](convs[i](sp)))`` where ``sp`` is
    the split itself in a block's ``first`` use (a stride or a projection) and else the split plus the
    previous output; the last split passes through (3x3 average-pooled at ``stride`` when ``first``); the
    outputs are concatenated."""

    width: int
    scales: int
    stride: int
    groups: int
    first: bool
    norm: Norm
    act: str


@dataclass(frozen=True)
class SelectiveKernel:
    """SKNet's selective kernel (Li et al. 2019, timm's ``SelectiveKernel``), replacing a 3x3 conv: one
    ``paths.i`` (3x3 conv of dilation ``dilations[i]``, norm, act) per path, each on its share of the input
    channels when ``split_input``; their sum is pooled, ``attn.fc_reduce`` to ``attn_channels``, ``attn.bn``,
    act, ``attn.fc_select`` to ``paths x out_channels``; a softmax across the paths weighs them, and they are
    summed."""

    name: str
    out_channels: int
    stride: int
    groups: int
    dilations: tuple[int, ...]
    split_input: bool
    attn_channels: int
    norm: Norm
    attn_norm: Norm
    act: str


Step = Unit | SqueezeExcitation | EfficientChannelAttention | PoolStep | SplitAttention | Res2Split | SelectiveKernel
ATTENTION_STEPS = (SqueezeExcitation, EfficientChannelAttention)
"""Steps that rescale what they take (``out = out * gate(out)``)."""


# ---- blocks and the network --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Block:
    """``out = act(steps(x) + shortcut(x))``; no ``shortcut`` means the identity, ``residual=False`` no
    skip connection at all (RegNetZ's blocks that change shape), ``act=None`` no activation after the sum
    (pre-activation and linear-output blocks). With ``preact`` the first step's norm and activation run on
    the block's input first and a projection shortcut takes their output (timm's ``PreActBottleneck``).
    Names are relative to the block (``conv1``, ``downsample.0``); the network places it at
    ``layer{s}.{i}``.

    Compared by identity: :func:`arch_lab.network.block` makes one object per distinct block, so caches keyed
    by blocks hash in constant time."""

    kind: str
    in_channels: int
    out_channels: int
    stride: int
    steps: tuple[Step, ...]
    shortcut: Sequential | ZeroPad | None
    act: Act | None = None
    residual: bool = True
    preact: bool = False

    @property
    def last_norm(self) -> Norm | None:
        """The norm closing the branch, which ``zero_init_residual`` zeroes (None in pre-activation blocks,
        whose branch ends with a conv)."""
        units = [step for step in self.steps if isinstance(step, Unit)]
        return None if self.preact or not units else units[-1].norm


@dataclass(frozen=True)
class Network:
    """Stem (top-level leaves and containers, run in order), stages of blocks, the head's layers before
    its global pool (a final norm, conv or activation; often none), and the classifier."""

    stem: tuple[Leaf | Sequential, ...]
    stages: tuple[tuple[Block, ...], ...]
    head: tuple[Leaf, ...]
    in_channels: int
    num_classes: int
    features: int
    """Channels reaching the classifier."""
