"""Errors raised for bad designs.

Every invalid spec raises :class:`SpecError` (a ``ValueError``) naming the field, the value and what
is allowed, so the CLI and the app can show the message as it is and carry on.
"""

from __future__ import annotations


class SpecError(ValueError):
    """A design that cannot be built: the message names the field, the value and what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class LimitError(SpecError):
    """A valid design that is larger than the configured request limits (refused before allocating)."""
