"""The build report: per subdataset what was added, changed, removed and withheld."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .keysafety import Refusal


@dataclass
class DatasetCounts:
    added: int = 0
    changed: int = 0
    removed: int = 0
    withheld: int = 0
    unchanged: int = 0
    bytes: int = 0  # total size of the objects the dataset now registers

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(self) -> str:
        return f"{self.added} added, {self.changed} changed, {self.removed} removed"


@dataclass
class BuildReport:
    datasets: dict[str, DatasetCounts] = field(default_factory=dict)
    unrouted: list[str] = field(default_factory=list)
    # streams the bucket has and upstream does not document: each routed to its own subdataset
    new_streams: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)  # keys never written, and why
    failures: list[str] = field(default_factory=list)  # "key: reason"
    hashed_objects: int = 0
    hashed_bytes: int = 0
    committed: bool = False
    resumed: list[str] = field(default_factory=list)  # datasets whose stopped build was finished
    timings: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def add_time(self, step: str) -> Iterator[None]:
        """Add the time spent inside to ``timings[step]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - start

    def counts(self, dataset: str) -> DatasetCounts:
        return self.datasets.setdefault(dataset, DatasetCounts())

    @property
    def ok(self) -> bool:
        return not self.failures

    def total(self) -> DatasetCounts:
        total = DatasetCounts()
        for c in self.datasets.values():
            for name in ("added", "changed", "removed", "withheld", "unchanged", "bytes"):
                setattr(total, name, getattr(total, name) + getattr(c, name))
        return total

    def summary(self) -> str:
        total = self.total()
        line = (
            f"{total.summary()}, {total.withheld} withheld, {len(self.unrouted)} unrouted, "
            f"{len(self.refused)} refused, "
            f"{len(self.failures)} failed"
        )
        if self.new_streams:
            line += f"; new streams (own subdatasets): {', '.join(self.new_streams)}"
        if self.resumed:
            names = ", ".join(name or "(superdataset)" for name in self.resumed)
            line += f"; resumed the interrupted build of {names}"
        return line + ("" if self.committed else "; no new commit")

    def details(self) -> str:
        header = (
            f"{'dataset':30s} {'added':>7s} {'changed':>7s} {'removed':>7s} "
            f"{'withheld':>8s} {'MB':>9s}"
        )
        lines = [header]
        for name in sorted(self.datasets):
            c = self.datasets[name]
            lines.append(
                f"{name or '(superdataset)':30s} {c.added:7d} {c.changed:7d} {c.removed:7d} "
                f"{c.withheld:8d} {c.bytes / 1e6:9.2f}"
            )
        for stream in self.new_streams:
            lines.append(
                f"new stream {stream!r}: derivatives/{stream}/ is not a documented stream; "
                f"routed to its own subdataset (laion-fmri-datalad get --stream {stream})"
            )
        if self.unrouted:
            lines.append(f"unrouted keys ({len(self.unrouted)}):")
            lines += [f"  {key}" for key in self.unrouted]
        if self.refused:
            lines.append(f"refused keys ({len(self.refused)}; listed in .laion-fmri/refused.tsv):")
            lines += [f"  {refusal.line()}" for refusal in self.refused]
        if self.failures:
            lines.append(f"failures ({len(self.failures)}):")
            lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)
