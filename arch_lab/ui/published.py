# ruff: noqa: E501  (one line per preset: the published label as torchvision words it)
"""torchvision's published ImageNet accuracy for the presets that have weights, as the app shows it.

A snapshot of :func:`arch_lab.reference.reference` (which imports torchvision, and so torch): the app
reads it without loading torch, and ``tests/test_ui_findings.py`` holds it equal to the installed
torchvision's metadata. The figures describe torchvision's trained weights for the preset's network, never
a user's design.
"""

from __future__ import annotations

import re
from functools import cache

from arch_lab.presets import load_preset
from arch_lab.spec import ResNetSpec
from arch_lab.timm_family import accuracy_source, from_timm, timm_accuracy, timm_models

PUBLISHED: dict[str, tuple[float, float, str]] = {
    "resnet18": (69.758, 89.078, "torchvision's published figures for ResNet18_Weights.IMAGENET1K_V1 (ImageNet-1K val, 224 px crops of 256 px images)"),
    "resnet34": (73.314, 91.42, "torchvision's published figures for ResNet34_Weights.IMAGENET1K_V1 (ImageNet-1K val, 224 px crops of 256 px images)"),
    "resnet50": (80.858, 95.434, "torchvision's published figures for ResNet50_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "resnet101": (81.886, 95.78, "torchvision's published figures for ResNet101_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "resnet152": (82.284, 96.002, "torchvision's published figures for ResNet152_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "resnext50_32x4d": (81.198, 95.34, "torchvision's published figures for ResNeXt50_32X4D_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "resnext101_32x8d": (82.834, 96.228, "torchvision's published figures for ResNeXt101_32X8D_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "resnext101_64x4d": (83.246, 96.454, "torchvision's published figures for ResNeXt101_64X4D_Weights.IMAGENET1K_V1 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "wide_resnet50_2": (81.602, 95.758, "torchvision's published figures for Wide_ResNet50_2_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
    "wide_resnet101_2": (82.51, 96.02, "torchvision's published figures for Wide_ResNet101_2_Weights.IMAGENET1K_V2 (ImageNet-1K val, 224 px crops of 232 px images)"),
}
"""preset -> (acc@1 %, acc@5 %, where the figures come from)."""


def published_line(preset: str) -> str:
    """One Markdown line for a preset with torchvision weights; "" for any other."""
    if preset not in PUBLISHED:
        return ""
    acc1, acc5, label = PUBLISHED[preset]
    return f"Published accuracy of **{preset}**: top-1 {acc1:.2f} %, top-5 {acc5:.2f} % — {label}; not a figure for an edited design."


def published_for(spec: ResNetSpec) -> str:
    """The lines for the preset and the timm model whose network ``spec`` is (any name, at the preset's
    224 px or timm's default size, as :func:`arch_lab.reference.reference` decides); "" once any field
    differs, since the figures belong to that network's trained weights only."""
    key = spec.key()
    lines = [published_line(preset) for preset in PUBLISHED if load_preset(preset).key() == key]
    model = _timm_models_by_key().get(key)
    if model:
        lines.append(timm_line(model))
    return "\n\n".join(line for line in lines if line)


@cache
def _timm_models_by_key() -> dict[str, str]:
    """Network key -> the timm model of that network (the catalog's, counted once per process)."""
    return {from_timm(name).key(): name for name in timm_models()}


def timm_line(model: str) -> str:
    """timm's published accuracy for its default pretrained tag of ``model`` (every listed size), with the
    source; "" where timm publishes none."""
    rows = timm_accuracy(model)
    if not rows:
        return ""
    figures = ", ".join(f"top-1 {row.top1:.2f} % / top-5 {row.top5:.2f} % at {row.img_size} px" for row in rows)
    commit = re.search(r"commit ([0-9a-f]{7})", accuracy_source())
    return (f"timm's published accuracy of **{model}.{rows[0].tag}**: {figures} (ImageNet-1k val; timm's "
            f"results/results-imagenet.csv, huggingface/pytorch-image-models {commit[1] if commit else ''}); "
            "not a figure for an edited design.")
