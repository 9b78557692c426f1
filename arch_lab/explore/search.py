"""Objective-driven search over a design space with Optuna (the optional ``explore`` extra).

Optuna's TPE sampler, seeded, proposes each design through the space's own samplers (one Optuna
parameter per field, ``depths[2]`` per stage), so a search covers exactly the designs random sampling
could draw. A proposal that is invalid, a duplicate or outside the constraints is pruned: it produces no
row and gives the sampler no value, and it counts as a try like a rejected random sample.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from arch_lab.errors import SpecError
from arch_lab.explore.space import Space
from arch_lab.spec import ResNetSpec

if TYPE_CHECKING:
    from arch_lab.explore.engine import _Rows


def optuna_search(space: Space, rows: _Rows, objective: Callable[[ResNetSpec], float], wanted: int, seed: int,
                  max_tries: int) -> None:
    """Add to ``rows`` the designs Optuna tries, with their ``objective`` values, until ``wanted`` are
    accepted, ``max_tries`` trials have run or the rows' time limit is reached."""
    try:
        import optuna
    except ImportError:
        raise SpecError("method", "optuna is not installed; pip install 'arch-lab[explore]'") from None
    if not callable(objective):
        raise SpecError("objective", f"a {type(objective).__name__} is not callable; give a function spec -> float")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))

    def trial_value(trial: optuna.Trial) -> float:
        found = rows.offer(space.suggest(trial))
        if found is None:
            raise optuna.TrialPruned()
        spec, metrics = found
        value = float(objective(spec))
        rows.add(spec, {**metrics, "objective": value})
        return value

    def enough(study: optuna.Study, _trial: optuna.trial.FrozenTrial) -> None:
        if len(rows) >= wanted or rows.out_of_time():
            study.stop()

    study.optimize(trial_value, n_trials=max_tries, callbacks=[enough])
