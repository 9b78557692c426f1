"""Published figures of the presets torchvision ships weights for: ImageNet accuracy, parameters, GMACs.

They come from the weights' metadata in the installed torchvision (``ResNet50_Weights.IMAGENET1K_V2.meta``),
so nothing is downloaded. They describe those trained weights and are labelled so: a figure is returned
only for a design whose network is the preset's (any name), never for a changed one, whose accuracy
nobody has measured. torchvision's ``_ops`` (shown as "GFLOPS" in its docs) are GMACs, the convention of
our ``macs``; the tests hold our counts against them.

torchvision (and so torch) is imported on the first call only, and the metadata is cached: importing this
module costs nothing at the app's start-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

import pandas as pd

from arch_lab.presets import load_preset
from arch_lab.spec import ResNetSpec

TORCHVISION_PRESETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
                       "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
                       *(f"regnet_x_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf")),
                       *(f"regnet_y_{size}" for size in ("400mf", "800mf", "1_6gf", "3_2gf", "8gf", "16gf", "32gf",
                                                         "128gf")))
"""Presets named after the torchvision builder of the same network (its weights load into ours)."""
DATASET = "ImageNet-1K"


@dataclass(frozen=True)
class Reference:
    """torchvision's published figures for one set of trained weights of a preset's network."""

    preset: str
    weights: str
    """The weights enum entry, e.g. ``ResNet50_Weights.IMAGENET1K_V2``."""
    params: int
    gmacs: float
    """torchvision's ``_ops`` at ``crop_px`` (224, or 384 for RegNetY's SWAG end-to-end weights), to 3 decimals."""
    acc1: float
    """Top-1 accuracy (%) on the ImageNet-1K validation set."""
    acc5: float
    crop_px: int
    """Evaluated on centre crops of this size ..."""
    resize_px: int
    """... of images resized to this shorter side."""
    recipe: str

    @property
    def label(self) -> str:
        """Where the figures come from, to show next to them."""
        return (f"torchvision's published figures for {self.weights} ({DATASET} val, {self.crop_px} px "
                f"crops of {self.resize_px} px images)")


@cache
def torchvision_references(preset: str) -> tuple[Reference, ...]:
    """Every torchvision weights entry of ``preset``, the default (best) first; empty for a preset
    without torchvision weights."""
    if preset not in TORCHVISION_PRESETS:
        return ()
    import torchvision.models

    enum = torchvision.models.get_model_weights(preset)
    entries = sorted(enum, key=lambda weights: weights is not enum.DEFAULT)
    return tuple(_reference(preset, weights) for weights in entries)


def _reference(preset: str, weights) -> Reference:
    meta, sizes = weights.meta, weights.transforms.keywords
    metrics = meta["_metrics"][DATASET]
    return Reference(
        preset=preset, weights=f"{type(weights).__name__}.{weights.name}", params=meta["num_params"],
        gmacs=meta["_ops"], acc1=metrics["acc@1"], acc5=metrics["acc@5"], crop_px=sizes["crop_size"],
        resize_px=sizes.get("resize_size", 256), recipe=meta["recipe"])  # 256: ImageClassification's default


def reference(design: str | ResNetSpec) -> Reference | None:
    """The default torchvision weights' figures for a preset name, or for a spec whose network is a
    preset's at its 224x224 input (the name may differ); ``None`` for anything else."""
    if isinstance(design, str):
        found = torchvision_references(design)
        return found[0] if found else None
    for preset in TORCHVISION_PRESETS:
        if load_preset(preset).key() == design.key():
            return torchvision_references(preset)[0]
    return None


def reference_table() -> pd.DataFrame:
    """A row per preset and torchvision weights entry, default weights first within a preset."""
    rows = [asdict(ref) | {"label": ref.label} for preset in TORCHVISION_PRESETS
            for ref in torchvision_references(preset)]
    return pd.DataFrame(rows)
