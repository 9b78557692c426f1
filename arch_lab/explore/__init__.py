"""Design-space exploration: spaces, sampling, the result table, measurement and latency estimates.

``explore(space, n=..., seed=..., constraints=..., objectives=..., method=...)`` returns an
:class:`ExploreResult` whose ``table`` has a row per accepted design. Spaces are data
(:mod:`arch_lab.explore.space`); built-in ones are listed by :func:`list_spaces`. Plots live in
:mod:`arch_lab.explore.plots` (imported on demand: plotly is not needed to explore).
"""

from arch_lab.explore.criteria import Constraint, Objective, pareto_mask, parse_constraint, parse_objective
from arch_lab.explore.engine import METHODS, METRIC_COLUMNS, explore
from arch_lab.explore.result import ExploreResult
from arch_lab.explore.space import MAX_GRID, FieldSampler, Space, parse_space
from arch_lab.explore.spaces import BUILTIN_SPACES, list_spaces, load_space, space_source

__all__ = ["BUILTIN_SPACES", "MAX_GRID", "METHODS", "METRIC_COLUMNS", "Constraint", "ExploreResult", "FieldSampler",
           "Objective", "Space", "explore", "list_spaces", "load_space", "parse_constraint", "parse_objective",
           "parse_space", "pareto_mask", "space_source"]
