"""The one place each kind of value a user gives is checked (``validate``), and the one-line
error for a value that is not among the known ones, with the closest match (``choices``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .choices import closest, unknown

_WHERE = {
    "unknown": "choices",
    "closest": "choices",
}

__all__ = [
    "closest",
    "unknown",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
