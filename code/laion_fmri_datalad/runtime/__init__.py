"""How commands run: advisory file locks between processes (``locks``), progress bars
(``progress``), and the report protocol that decides exit codes (``reports``)."""

from __future__ import annotations

from .locks import file_lock, holder
from .progress import ProgressBar, no_bar, progress_bar
from .reports import Done, Report, Reports, exit_code, render

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
