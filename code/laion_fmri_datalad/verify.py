"""Checking retrieved content against its git-annex key, with ``git annex fsck``."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .build.annexkeys import key_size


@dataclass
class VerifyReport:
    verified: int = 0
    bytes: int = 0
    failed: list[str] = field(default_factory=list)

    def merge(self, other: VerifyReport) -> None:
        self.verified += other.verified
        self.bytes += other.bytes
        self.failed += other.failed


def verify_present(dataset: Path, paths: list[str]) -> VerifyReport:
    """Re-hash the present annexed files under ``paths`` and compare with their keys."""
    report = VerifyReport()
    done = subprocess.run(
        ["git", "-C", str(dataset), "annex", "fsck", "--json", "--", *paths],
        capture_output=True,
        text=True,
    )
    for line in done.stdout.splitlines():
        record = json.loads(line)
        if record.get("success"):
            report.verified += 1
            report.bytes += key_size(record["key"])
        else:
            report.failed.append(record.get("file", "?"))
    return report
