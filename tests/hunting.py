"""Hypothesis profiles: ``ci`` (the default) and ``hunt``.

``ci`` is derandomised: every run draws the same examples, so CI is stable and a failure reproduces on any
machine. ``hunt`` draws at least :data:`HUNT_EXAMPLES` fresh random examples per property test, to look for
bugs on purpose (``python -m pytest -m hypothesis --hypothesis-profile=hunt``, in the README); every
failure it finds becomes an ``@example`` of the test that found it.

Tests give their CI example count through :func:`examples`, which the hunt profile raises.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

HUNT_EXAMPLES = 5_000

settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("hunt", max_examples=HUNT_EXAMPLES, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")  # pytest's --hypothesis-profile option loads another after this module is imported


def examples(ci: int) -> int:
    """``ci`` examples under the ci profile; at least :data:`HUNT_EXAMPLES` while hunting."""
    return max(ci, HUNT_EXAMPLES) if settings.get_current_profile_name() == "hunt" else ci
