"""The report protocol: what every command returns, so exit codes are decided in one place.

A report has ``ok`` (the command did what was asked; a failed item makes it False) and
``summary()``, one line ("412 added, 3 changed, 0 removed, ..."). A report with more to show
(a table, a list of items) also has ``details()``, printed before the summary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Report(Protocol):
    @property
    def ok(self) -> bool: ...

    def summary(self) -> str: ...


@runtime_checkable
class DetailedReport(Report, Protocol):
    def details(self) -> str: ...


@dataclass(frozen=True)
class Done:
    """A command whose only outcome is a message (a citation, a served bucket stopped)."""

    message: str
    ok: bool = True

    def summary(self) -> str:
        return self.message


@dataclass(frozen=True)
class Reports:
    """Several reports of one command, in order: ok when all are."""

    parts: Sequence[Report]

    @property
    def ok(self) -> bool:
        return all(part.ok for part in self.parts)

    def details(self) -> str:
        return "\n".join(render(part) for part in self.parts[:-1])

    def summary(self) -> str:
        return render(self.parts[-1]) if self.parts else ""


def render(report: Report) -> str:
    """Details (if any) then the summary line: what the command line prints."""
    details = report.details() if isinstance(report, DetailedReport) else ""
    return f"{details}\n{report.summary()}" if details else report.summary()


def exit_code(report: Report) -> int:
    return 0 if report.ok else 1
