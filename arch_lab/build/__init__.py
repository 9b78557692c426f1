"""Spec -> ``nn.Module``."""

from arch_lab.build.model import ResNet, build_model

__all__ = ["ResNet", "build_model"]
