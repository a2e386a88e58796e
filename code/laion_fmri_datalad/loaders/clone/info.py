"""What a clone holds: subjects, sessions, ROIs, streams, and how much of each is here.

Answered from git alone (``git ls-files`` of each installed subdataset and the git-annex
keys its symlinks name), so it is fast and needs no content and no pybids index.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ...layout.discovery import subjects_in
from ...layout.names import GLM, ROIS, STREAMS
from ...repo.dataset import registered_subdatasets
from ...repo.git import tracked_files
from .content import annexed_size, human, is_installed

ROI_PATH = re.compile(r"^(sub-[^/]+)/([a-z]+)/sub-[^_/]+_space-T1w_res-1pt8_label-([^_/]+)_mask")
SHARED_DATASETS = ("stimuli", "archive", "derivatives/splits")
SESSION_PATH = re.compile(r"^(sub-[^/]+)/(ses-[^/]+)/")


@dataclass
class Tally:
    files: int = 0
    bytes: int = 0
    present: int = 0
    present_bytes: int = 0

    def add(self, size: int, present: bool) -> None:
        self.files += 1
        self.bytes += size
        if present:
            self.present += 1
            self.present_bytes += size


@dataclass
class CloneInfo:
    root: Path
    subjects: list[str]
    sessions: dict[str, list[str]] = field(default_factory=dict)
    rois: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    streams: dict[str, Tally] = field(default_factory=dict)  # "stream" -> tally
    not_installed: list[str] = field(default_factory=list)

    ok: bool = True

    def summary(self) -> str:
        files = sum(t.files for t in self.streams.values())
        present = sum(t.present for t in self.streams.values())
        size = sum(t.bytes for t in self.streams.values())
        here = sum(t.present_bytes for t in self.streams.values())
        return (
            f"{len(self.subjects)} subjects; {present} of {files} files present "
            f"({human(here)} of {human(size)}); {len(self.not_installed)} datasets not installed"
        )

    def details(self) -> str:
        lines = [f"LAION-fMRI clone at {self.root}", f"subjects: {' '.join(self.subjects)}"]
        for subject in self.subjects:
            sessions = self.sessions.get(subject)
            shown = (
                f"{len(sessions)} sessions ({sessions[0]} ... {sessions[-1]})"
                if sessions
                else "sessions: (derivatives/glmsingle-tedana not installed)"
            )
            lines.append(f"{subject}: {shown}")
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
        lines.append("")
        lines.append(f"{'stream':<34} {'files':>7} {'present':>8} {'size':>10} {'present':>10}")
        for name, t in self.streams.items():
            lines.append(
                f"{name:<34} {t.files:>7} {t.present:>8} {human(t.bytes):>10} "
                f"{human(t.present_bytes):>10}"
            )
        for path in self.not_installed:
            lines.append(f"{path:<34} not installed (datalad get -n {path})")
        return "\n".join(lines)


def _tracked(dataset: Path) -> list[str]:
    return [p for p in tracked_files(dataset) if not p.startswith(".")]


def clone_info(dataset: Path, subject: str | None = None) -> CloneInfo:
    root: Path = Path(dataset)
    subjects = subjects_in(root)
    chosen = subjects if subject is None else [subject]
    info = CloneInfo(root, chosen)
    for stream, path in STREAMS.items():
        for name in [path] if path is not None else chosen:
            if not is_installed(root / name):
                info.not_installed.append(name)
                continue
            label = f"{stream} ({name})" if path is None else name
            tally = info.streams.setdefault(label, Tally())
            _count(root / name, path, chosen, tally, info)
    registered = registered_subdatasets(root)
    for name in SHARED_DATASETS:  # not per subject: counted whole
        if name not in registered:
            continue
        if not is_installed(root / name):
            info.not_installed.append(name)
            continue
        _count(root / name, None, [], info.streams.setdefault(name, Tally()), info)
    return info


def _count(
    dataset: Path, stream: str | None, subjects: list[str], tally: Tally, info: CloneInfo
) -> None:
    sessions: dict[str, set[str]] = defaultdict(set)
    for rel in _tracked(dataset):
        owner = rel.split("/", 1)[0] if stream is not None else dataset.name
        if subjects and owner not in subjects:
            continue
        full = dataset / rel
        size = annexed_size(full)
        if size is None:
            tally.add(full.stat().st_size if full.exists() else 0, full.exists())
        else:
            tally.add(size, full.exists())
        if stream == GLM:
            found = SESSION_PATH.match(rel)
            if found:
                sessions[found.group(1)].add(found.group(2))
        elif stream == ROIS:
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
