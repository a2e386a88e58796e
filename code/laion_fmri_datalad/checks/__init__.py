"""The one place each kind of value a user gives is checked (``validate``), and the one-line
error for a value that is not among the known ones, with the closest match (``choices``)."""

from __future__ import annotations

from .choices import closest, unknown

__all__ = [
    "closest",
    "unknown",
]
