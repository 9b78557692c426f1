"""Loaded by pytest before any test module: registers the Hypothesis profiles (see tests/hunting.py)."""

import hunting  # noqa: F401  (registers and loads the profiles)
