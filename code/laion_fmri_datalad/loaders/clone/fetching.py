"""Getting a selection of files with DataLad, in parallel, idempotently, with progress."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ...repo.datalad import result_message
from ...runtime.progress import ProgressBar, progress_bar
from .content import Content, human, is_present
from .selection import Selected

log = logging.getLogger("laion_fmri_datalad.loaders")


@dataclass
class FetchSummary:
    files: int = 0
    bytes: int = 0
    present: int = 0
    present_bytes: int = 0
    fetched: int = 0
    fetched_bytes: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def details(self) -> str:
        return "\n".join(f"  failed: {path}: {reason}" for path, reason in self.failed[:10])

    def summary(self) -> str:
        return (
            f"{self.files} files, {human(self.bytes)}: {self.fetched} fetched "
            f"({human(self.fetched_bytes)}), {self.present} already present "
            f"({human(self.present_bytes)}), {len(self.failed)} failed"
        )


@dataclass(frozen=True)
class DownloadPlan:
    """What a ``get --dry-run`` would fetch: each file, its size, and whether it is here."""

    content: Content
    selected: list[Selected]
    ok: bool = True

    def details(self) -> str:
        return "\n".join(
            f"{self.content.relative(s.path)}\t{human(s.size)}\t"
            + ("present" if s.present else "to get")
            for s in self.selected
        )

    def summary(self) -> str:
        missing = [s for s in self.selected if not s.present]
        return (
            f"would get {len(missing)} of {len(self.selected)} files, "
            f"{human(sum(s.size for s in missing))} (of {human(sum(s.size for s in self.selected))})"
        )


def fetch(
    content: Content,
    selected: list[Selected],
    jobs: int | str = 1,
    bar: ProgressBar = progress_bar,
    description: str = "datalad get",
) -> FetchSummary:
    """``datalad get`` the files of ``selected`` that are not present yet (failed transfers
    tried again: ``Content.results``), a ``bar`` of their bytes."""

    summary = FetchSummary(files=len(selected), bytes=sum(s.size for s in selected))
    missing = {s.path: s for s in selected if not s.present}
    for s in selected:
        if s.present:
            summary.present += 1
            summary.present_bytes += s.size
    if not missing:
        return summary
    log.info(
        "getting %d file(s), %s, with DataLad",
        len(missing),
        human(sum(s.size for s in missing.values())),
    )
    with bar(description, sum(s.size for s in missing.values()), "B") as advance:
        for result in content.results(list(missing), jobs=jobs):
            if result.get("type") != "file":
                continue
            path = Path(result.get("path", ""))
            item = missing.get(path)
            if item is None:
                continue
            status = result.get("status")
            if status in ("ok", "notneeded") and is_present(path):
                summary.fetched += 1
                summary.fetched_bytes += item.size
                advance(item.size)
            else:
                summary.failed.append((content.relative(path), result_message(result)))
    answered = summary.fetched + len(summary.failed)
    if answered < len(missing):  # DataLad gave no record for some: say so, never drop them
        done = {content.root / f for f, _ in summary.failed}
        for path in missing:
            if path not in done and not is_present(path):
                summary.failed.append((content.relative(path), "no result from datalad get"))
    return summary
