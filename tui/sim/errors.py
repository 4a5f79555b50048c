"""The simulator's one user-facing error type."""

from __future__ import annotations


class SimError(RuntimeError):
    """The simulator could not start, or an option or a control call was invalid (one-line
    message)."""
