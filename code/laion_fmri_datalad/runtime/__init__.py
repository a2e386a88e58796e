"""How commands run: advisory file locks between processes (``locks``), progress bars
(``progress``), and the report protocol that decides exit codes (``reports``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .locks import file_lock, holder
    from .progress import ProgressBar, no_bar, progress_bar
    from .reports import Done, Report, Reports, exit_code, render

_WHERE = {
    "file_lock": "locks",
    "holder": "locks",
    "progress_bar": "progress",
    "no_bar": "progress",
    "ProgressBar": "progress",
    "Report": "reports",
    "Done": "reports",
    "Reports": "reports",
    "exit_code": "reports",
    "render": "reports",
}

__all__ = [
    "Done",
    "ProgressBar",
    "Report",
    "Reports",
    "exit_code",
    "file_lock",
    "holder",
    "no_bar",
    "progress_bar",
    "render",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
