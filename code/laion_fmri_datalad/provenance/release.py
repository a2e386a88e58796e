"""Releases: one tag on the superdataset and on every subdataset that changed, a CHANGES.md
entry saying per subdataset what was added, changed and removed, and CITATION.cff updated.

Releasing a version that already tags ``HEAD`` changes nothing; a version that tags another
commit is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..checks import validate
from ..errors import LaionFmriError, UsageError
from ..layout.discovery import is_superdataset
from ..layout.names import new_stream
from ..repo.git import git_oneline, gitlinks
from .gitquery import is_clean, tag_commit, version_tags

CHANGES = "CHANGES.md"
CITATION = "CITATION.cff"
LISTED = 20  # paths named per kind of change before only counting
MINIMAL_CITATION = """\
cff-version: 1.2.0
message: "Cite this release of the LAION-fMRI DataLad dataset by its tag and commit."
title: "LAION-fMRI (DataLad superdataset)"
type: dataset
authors:
  - name: "LAION-fMRI authors"
"""
HIDDEN = (".datalad/", ".laion-fmri/", ".gitattributes", ".gitmodules")


@dataclass
class DatasetChanges:
    path: str
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new: bool = False

    def kinds(self) -> list[tuple[str, list[str]]]:
        return [("added", self.added), ("changed", self.changed), ("removed", self.removed)]

    def markdown(self) -> list[str]:
        new = " (new stream)" if self.new and new_stream(self.path) else " (new)"
        lines = [f"### {self.path}" + (new if self.new else "")]
        for kind, paths in self.kinds():
            if not paths:
                continue
            lines.append(f"- {kind}: {len(paths)} file{'s' if len(paths) != 1 else ''}")
            for path in paths[:LISTED]:
                lines.append(f"  - `{path}`")
            if len(paths) > LISTED:
                lines.append(f"  - … and {len(paths) - LISTED} more")
        return lines


@dataclass
class ReleaseReport:
    version: str
    commit: str | None = None  # the release commit; None when nothing was done
    data_commit: str = ""
    previous: str | None = None
    datasets: list[DatasetChanges] = field(default_factory=list)
    already: bool = False
    ok: bool = True  # a release that cannot be made raises instead

    def summary(self) -> str:
        if self.already:
            return f"{self.version} is already released at {self.commit}; nothing changed"
        names = ", ".join(d.path for d in self.datasets) or "none"
        since = f"since {self.previous}" if self.previous else "(first release)"
        return (
            f"released {self.version} at {str(self.commit)[:10]}; subdatasets changed {since}: "
            f"{names}"
        )


def _dataset_changes(root: Path, path: str, old: str | None, new: str) -> DatasetChanges:
    changes = DatasetChanges(path, new=old is None)
    sub = root / path
    if old is None:
        out = git_oneline(sub, "ls-tree", "-r", "--name-only", new)
        changes.added = [p for p in out.splitlines() if not p.startswith(HIDDEN)]
        return changes
    out = git_oneline(sub, "diff", "--no-renames", "--name-status", old, new)
    for line in out.splitlines():
        status, name = line.split("\t", 1)
        if name.startswith(HIDDEN):
            continue
        {"A": changes.added, "D": changes.removed}.get(status[0], changes.changed).append(name)
    return changes


def _update_citation(text: str, version: str, date: str, commit: str) -> str:
    for key, value in (("version", version), ("date-released", date), ("commit", commit)):
        line = f'{key}: "{value}"'
        pattern = re.compile(rf"^{re.escape(key)}:.*$", re.MULTILINE)
        text = (
            pattern.sub(line, text) if pattern.search(text) else text.rstrip("\n") + f"\n{line}\n"
        )
    return text


def release(dataset: Path, version: str, date: str | None = None) -> ReleaseReport:
    """Tag ``version`` on the superdataset ``dataset`` and on its changed subdatasets."""
    validate.version(version)
    root = Path(dataset).absolute()
    if not is_superdataset(root):
        raise UsageError(
            f"{str(root)!r} is not a LAION-fMRI superdataset (a subdataset of one, or "
            "another dataset); run release in the superdataset"
        )
    head = git_oneline(root, "rev-parse", "HEAD")
    tagged = tag_commit(root, version)
    if tagged is None:
        newest = version_tags(root, None)
        validate.later_version(version, newest[0] if newest else None)
    if tagged == head:
        return ReleaseReport(version, commit=head, already=True)
    if tagged is not None:
        raise UsageError(
            f"version {version!r} already tags {tagged[:10]}, not HEAD {head[:10]}; "
            "choose a new version"
        )
    if not is_clean(root):
        raise LaionFmriError(f"{root} has uncommitted changes; save or discard them first")
    previous = next(iter(version_tags(root, "HEAD")), None)
    now = gitlinks(root, "HEAD")
    before = gitlinks(root, previous) if previous else {}
    report = ReleaseReport(version, data_commit=head, previous=previous)
    for path, commit in sorted(now.items()):
        if before.get(path) == commit:
            continue
        if not (root / path / ".git").exists():
            raise LaionFmriError(f"subdataset {path} changed but is not installed; install it")
        report.datasets.append(_dataset_changes(root, path, before.get(path), commit))
    for path, _commit in sorted(before.items()):
        if path not in now:
            report.datasets.append(DatasetChanges(path, removed=["(subdataset removed)"]))
    day = date or dt.datetime.now(dt.UTC).date().isoformat()
    _write_changes(root, report, day)
    citation = root / CITATION
    text = citation.read_text() if citation.is_file() else MINIMAL_CITATION
    citation.write_text(_update_citation(text, version, day, head))
    git_oneline(root, "add", CHANGES, CITATION)
    git_oneline(
        root, "commit", "-q", "-m", f"[laion-fmri] Release {version}", "--", CHANGES, CITATION
    )
    for changes in report.datasets:
        if (root / changes.path / ".git").exists() and changes.removed != ["(subdataset removed)"]:
            _tag(root / changes.path, version, now[changes.path])
    report.commit = git_oneline(root, "rev-parse", "HEAD")
    _tag(root, version, report.commit)
    return report


def _tag(dataset: Path, version: str, commit: str) -> None:
    existing = tag_commit(dataset, version)
    if existing == commit:
        return
    if existing is not None:
        raise LaionFmriError(f"{dataset} already has tag {version} at {existing[:10]}")
    git_oneline(dataset, "tag", "-a", version, "-m", f"LAION-fMRI release {version}", commit)


def _write_changes(root: Path, report: ReleaseReport, day: str) -> None:
    path = root / CHANGES
    old = path.read_text() if path.is_file() else "# Changes\n"
    header, _, rest = old.partition("\n")
    dsid = git_oneline(root, "config", "-f", ".datalad/config", "datalad.dataset.id")
    since = f"Changes since {report.previous}." if report.previous else "First release."
    entry = [
        f"## {report.version} ({day})",
        "",
        f"{since} Data commit `{report.data_commit}` of dataset `{dsid}`.",
        "",
    ]
    for changes in report.datasets:
        entry += [*changes.markdown(), ""]
    if not report.datasets:
        entry += ["No subdataset changed.", ""]
    path.write_text(header + "\n\n" + "\n".join(entry) + rest.lstrip("\n"))
