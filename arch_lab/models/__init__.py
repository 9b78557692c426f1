"""Spec -> ``nn.Module``."""

from arch_lab.models.model import ResNet, build_model

__all__ = ["ResNet", "build_model"]
