"""Checking retrieved content against its git-annex key, with ``git annex fsck``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .annex import fsck, key_size


@dataclass
class VerifyReport:
    verified: int = 0
    bytes: int = 0
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{self.verified} files, {self.bytes / 1e6:.2f} MB arrived and match their keys; "
            f"{len(self.failed)} failed"
        )

    def merge(self, other: VerifyReport) -> None:
        self.verified += other.verified
        self.bytes += other.bytes
        self.failed += other.failed


def verify_present(dataset: Path, paths: list[str]) -> VerifyReport:
    """Re-hash the present annexed files under ``paths`` and compare with their keys; a
    ``RepoError`` when fsck itself fails."""
    report = VerifyReport()
    for record in fsck(dataset, paths):
        if record.get("success"):
            report.verified += 1
            report.bytes += key_size(record["key"])
        else:
            report.failed.append(record.get("file", "?"))
    return report
