"""Complexity analysis of a design from its spec alone: parameters, MACs/FLOPs, activations, memory,
per-layer and per-stage tables (see :mod:`arch_lab.analysis.report`)."""

from arch_lab.analysis.report import CONVENTIONS, METRICS, Report, analyse, clear_cache

__all__ = ["CONVENTIONS", "METRICS", "Report", "analyse", "clear_cache"]
