"""What a clone holds: subjects, sessions, ROIs, streams, and how much of each is here.

Answered from git alone, so it is fast and needs no content and no pybids index: for an
installed subdataset, ``git ls-files`` and the git-annex keys its symlinks name (present:
the content is here); for one not installed, the listing the superdataset ships for the
commit it records (``layout/listings.py``: every path with its size), so a fresh clone says what
the dataset holds and how large it is before anything is installed or fetched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ...layout.discovery import subjects_in
from ...layout.names import ARCHIVE, GLM, ROIS, SPLITS, STIMULI
from ...repo.dataset import registered_subdatasets
from ...repo.git import gitlinks, tracked_files
from ...repo.pins import drifted
from .content import annexed_size, human, is_installed
from .listed import listed_sizes
from .streams import clone_streams

ROI_PATH = re.compile(r"^(sub-[^/]+)/([a-z]+)/sub-[^_/]+_space-T1w_res-1pt8_label-([^_/]+)_mask")
SHARED_DATASETS = (STIMULI, ARCHIVE, SPLITS)
SESSION_PATH = re.compile(r"^(sub-[^/]+)/(ses-[^/]+)/")
LISTED = "listed"  # how a stream's files were counted when it is not installed


@dataclass
class Tally:
    files: int = 0
    bytes: int = 0
    present: int = 0
    present_bytes: int = 0
    unknown: int = 0  # files whose size is not known (a listing written before sizes)

    def add(self, size: int | None, present: bool) -> None:
        self.files += 1
        self.bytes += size or 0
        self.unknown += size is None
        if present:
            self.present += 1
            self.present_bytes += size or 0

    def row(self, name: str) -> str:
        unknown = f"  ({self.unknown} sizes unknown)" if self.unknown else ""
        return (
            f"{name:<34} {self.files:>7} {self.present:>8} {human(self.bytes):>10} "
            f"{human(self.present_bytes):>10}{unknown}"
        )


HEADER = f"{'':<34} {'files':>7} {'present':>8} {'size':>10} {'present':>10}"


@dataclass
class CloneInfo:
    root: Path
    subjects: list[str]
    sessions: dict[str, list[str]] = field(default_factory=dict)
    rois: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    streams: dict[str, Tally] = field(default_factory=dict)  # "stream" -> tally
    by_subject: dict[str, Tally] = field(default_factory=dict)
    by_session: dict[tuple[str, str], Tally] = field(default_factory=dict)
    listed: list[str] = field(default_factory=list)  # not installed: counted from listings
    not_installed: list[str] = field(default_factory=list)  # not installed and not listed
    show_sessions: bool = False  # one row per session (info --subject)
    drift: list[str] = field(default_factory=list)  # installed subdatasets at another commit

    ok: bool = True

    def summary(self) -> str:
        files = sum(t.files for t in self.streams.values())
        present = sum(t.present for t in self.streams.values())
        size = sum(t.bytes for t in self.streams.values())
        here = sum(t.present_bytes for t in self.streams.values())
        installed = len(self.streams) - len(self.listed)
        return (
            f"{len(self.subjects)} subjects; {present} of {files} files present "
            f"({human(here)} of {human(size)}); {installed} datasets installed, "
            f"{len(self.listed) + len(self.not_installed)} not"
        )

    def _sessions_line(self, subject: str) -> str:
        """The subject's sessions with betas, then those of every stream without betas (the
        precision-mapping and anatomy sessions), as the listings name them."""
        betas = self.sessions.get(subject)
        shown = (
            f"{len(betas)} sessions with betas ({betas[0]} ... {betas[-1]})"
            if betas
            else f"sessions with betas: ({GLM} neither installed nor listed)"
        )
        others = sorted(
            {s for owner, s in self.by_session if owner == subject} - set(betas or ()),
            key=str.lower,
        )
        return shown + (f"; {len(others)} more: {' '.join(others)}" if others else "")

    def details(self) -> str:
        lines = [f"LAION-fMRI clone at {self.root}", *(f"warning: {d}" for d in self.drift)]
        lines.append(f"subjects: {' '.join(self.subjects)}")
        for subject in self.subjects:
            lines.append(f"{subject}: {self._sessions_line(subject)}")
        # subjects with the same ROIs are listed together
        groups: dict[str, list[str]] = {}
        for subject in self.subjects:
            if subject in self.rois:
                groups.setdefault(repr(sorted(self.rois[subject].items())), []).append(subject)
        for members in groups.values():
            catalogue = self.rois[members[0]]
            count = sum(len(names) for names in catalogue.values())
            lines.append(f"ROIs of {' '.join(members)} ({count}):")
            for category, names in sorted(catalogue.items()):
                lines.append(f"  {category:<11} {' '.join(names)}")
        lines += ["", HEADER.replace(" " * 6, "stream", 1)]
        for name, tally in self.streams.items():
            mark = "  (not installed: from the shipped listing)" if name in self.listed else ""
            lines.append(tally.row(name) + mark)
        for path in self.not_installed:
            lines.append(f"{path:<34} not installed (datalad get -n {path})")
        lines += ["", HEADER.replace(" " * 7, "subject", 1)]
        for subject in self.subjects:
            lines.append(self.by_subject.get(subject, Tally()).row(subject))
            if self.show_sessions:
                for (owner, session), tally in sorted(self.by_session.items()):
                    if owner == subject:
                        lines.append(tally.row(f"  {session}"))
        return "\n".join(lines)


def _tracked(dataset: Path) -> list[str]:
    return [p for p in tracked_files(dataset) if not p.startswith(".")]


def clone_info(dataset: Path, subject: str | None = None) -> CloneInfo:
    """Subjects, sessions, ROIs and, per stream, subject and session, files and bytes
    registered and present; ``subject`` alone (with one row per session)."""
    root: Path = Path(dataset)
    subjects = subjects_in(root)
    chosen = subjects if subject is None else [subject]
    info = CloneInfo(root, chosen, show_sessions=subject is not None)
    info.drift = [d.line(root) for d in drifted(root)]
    registered = registered_subdatasets(root)
    recorded = gitlinks(root, "HEAD", sorted(registered))
    for stream, path in clone_streams(root).items():
        for name in [path] if path is not None else chosen:
            if name not in registered:
                continue
            label = f"{stream} ({name})" if path is None else name
            _count(root, name, path is not None, chosen, label, info, recorded.get(name))
    for name in SHARED_DATASETS:  # not per subject: counted whole
        if name in registered:
            _count(root, name, False, [], name, info, recorded.get(name))
    return info


def _files(
    root: Path, name: str, recorded: str | None
) -> tuple[list[tuple[str, int | None, bool]], bool] | None:
    """(path, size, present) of every file of subdataset ``name`` and whether they come
    from its listing; None when it is neither installed nor listed."""
    dataset = root / name
    if is_installed(dataset):
        found: list[tuple[str, int | None, bool]] = []
        for rel in _tracked(dataset):
            full = dataset / rel
            size = annexed_size(full)
            exists = full.exists()
            found.append(
                (rel, size if size is not None else (full.stat().st_size if exists else 0), exists)
            )
        return found, False
    sizes = listed_sizes(root, name, recorded)
    if sizes is None:
        return None
    return [(rel, size, False) for rel, size in sizes.items()], True


def _count(
    root: Path,
    name: str,
    per_subject_tree: bool,
    subjects: list[str],
    label: str,
    info: CloneInfo,
    recorded: str | None,
) -> None:
    """Tally subdataset ``name``: by stream, subject and session; sessions from the betas'
    stream and ROIs from the ROI stream on the way."""
    got = _files(root, name, recorded)
    if got is None:
        info.not_installed.append(name)
        return
    files, listed = got
    if listed:
        info.listed.append(label)
    tally = info.streams.setdefault(label, Tally())
    sessions: dict[str, set[str]] = {}
    for rel, size, present in files:
        owner = rel.split("/", 1)[0] if per_subject_tree else name
        if subjects and owner not in subjects:
            continue
        tally.add(size, present)
        if owner in info.subjects:
            info.by_subject.setdefault(owner, Tally()).add(size, present)
        in_session = SESSION_PATH.match(rel if per_subject_tree else f"{name}/{rel}")
        if in_session and in_session.group(1) == owner:
            info.by_session.setdefault((owner, in_session.group(2)), Tally()).add(size, present)
            if name == GLM:
                sessions.setdefault(owner, set()).add(in_session.group(2))
        if name == ROIS:
            roi = ROI_PATH.match(rel)
            if roi:
                names = info.rois.setdefault(roi.group(1), {}).setdefault(roi.group(2), [])
                if roi.group(3) not in names:
                    names.append(roi.group(3))
    for subject, found_sessions in sessions.items():
        info.sessions[subject] = sorted(found_sessions)
    for categories in info.rois.values():
        for names in categories.values():
            names.sort(key=str.lower)
