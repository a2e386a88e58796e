"""The betas caches of a clone: build them ahead, show their sizes, free them.

The caches themselves (format, keys, checks) are :mod:`.betacache`; this module finds them
for a clone (the git directory of ``derivatives/glmsingle-tedana``, ``$LAION_FMRI_CACHE_DIR``
and the user's cache directory) and returns reports for the ``cache`` command.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from ... import config
from ...checks import validate
from ...checks.choices import unknown
from ...errors import LaionFmriError
from ...layout.discovery import resolve_subjects, subjects_in
from ...layout.entities import name_entities
from ...layout.ids import session_id
from ...layout.names import GLM
from ...repo.git import git
from ...runtime.progress import ProgressBar
from ..clone.content import human, is_installed
from . import cache as betacache
from .modelfile import ROWS


def cache_dirs(root: Path) -> list[Path]:
    """Where the caches of the clone at ``root`` can be."""
    configured = os.environ.get(config.CACHE_DIR)
    if configured:
        return [Path(configured).expanduser() / "betas"]
    found = []
    glm = root / GLM
    if is_installed(glm):
        git_dir = Path(git(glm, "rev-parse", "--absolute-git-dir").strip())
        found.append(git_dir / "laion-fmri" / "betas")
    found.append(betacache.user_cache_dir())
    return found


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    subject: str
    session: str
    size: int


def iter_entries(root: Path) -> Iterator[CacheEntry]:
    for directory in cache_dirs(root):
        if not directory.is_dir():
            continue
        # voxel-major caches of the NIfTI, and the row caches of model.h5 (a folder each)
        found = [*directory.glob(f"*{betacache.SUFFIX}"), *directory.glob(f"*{ROWS}")]
        for path in sorted(found):
            if path.name.startswith("."):
                continue
            label = path.name.split("--", 1)[0]
            parts = name_entities(label)
            yield CacheEntry(
                path,
                f"sub-{parts.get('sub', '?')}",
                f"ses-{parts.get('ses', '?')}",
                _size(path),
            )


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def _chosen(
    entry: CacheEntry, subjects: Sequence[str] | None, sessions: Sequence[str] | None
) -> bool:
    return (not subjects or entry.subject in subjects) and (
        not sessions or entry.session in sessions
    )


def _session_names(
    root: Path, subjects: list[str] | None, sessions: Sequence[str] | None
) -> list[str] | None:
    """The sessions asked for, each one the chosen subjects have (from the clone's shipped
    listings: nothing installed); an unknown one is a ``UsageError`` naming it."""
    if not sessions:
        return None
    from ..api.subject import load_subject

    known = sorted(
        {
            s
            for name in subjects or subjects_in(root)
            for s in load_subject(name, root).get_sessions()
        }
    )
    names = [session_id(s) for s in sessions]
    for given, name in zip(sessions, names, strict=True):
        if name not in known:
            raise unknown("session", given, known)
    return names


@dataclass(frozen=True)
class CacheInfo:
    """``cache info``: the caches per subject and session, with their sizes."""

    entries: list[CacheEntry]
    directories: list[Path]
    ok: bool = True

    def details(self) -> str:
        lines = [f"{e.subject} {e.session} {human(e.size):>9}  {e.path}" for e in self.entries]
        return "\n".join(lines)

    def summary(self) -> str:
        total = sum(e.size for e in self.entries)
        where = ", ".join(str(d) for d in self.directories)
        return f"{len(self.entries)} betas caches, {human(total)} (in {where})"


def cache_info(
    root: Path, subjects: Sequence[str] | None = None, sessions: Sequence[str] | None = None
) -> CacheInfo:
    chosen = resolve_subjects(root, subjects) if subjects else None
    names = _session_names(root, chosen, sessions)
    entries = [e for e in iter_entries(root) if _chosen(e, chosen, names)]
    return CacheInfo(entries, cache_dirs(root))


@dataclass(frozen=True)
class CacheCleared:
    removed: list[CacheEntry]
    ok: bool = True

    def summary(self) -> str:
        total = sum(e.size for e in self.removed)
        return f"{len(self.removed)} betas caches removed, {human(total)} freed"


def clear_caches(
    root: Path, subjects: Sequence[str] | None = None, sessions: Sequence[str] | None = None
) -> CacheCleared:
    """Remove the caches (of the chosen subjects and sessions). A reader that has one open
    keeps reading it; the next query rebuilds it."""
    removed = []
    for entry in cache_info(root, subjects, sessions).entries:
        if entry.path.is_dir():
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            entry.path.unlink(missing_ok=True)
            entry.path.with_name(entry.path.name + ".lock").unlink(missing_ok=True)
        removed.append(entry)
    return CacheCleared(removed)


@dataclass
class CacheBuilt:
    """``cache betas``: per session, built, already there, or failed (named)."""

    built: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def details(self) -> str:
        return "\n".join(f"failed: {item}: {why}" for item, why in self.failed)

    def summary(self) -> str:
        return (
            f"{len(self.built)} session caches built, {len(self.present)} already there, "
            f"{len(self.failed)} failed"
        )


def build_caches(
    root: Path,
    subjects: Sequence[str] | str = "all",
    sessions: Sequence[str] | None = None,
    jobs: int = 1,
    progress: ProgressBar | None = None,
) -> CacheBuilt:
    """Build the cache of each chosen session (default: every public session of every
    subject), ``jobs`` sessions at once; their betas are got through DataLad first."""
    from ..api.subject import Subject, load_subject

    configured = os.environ.get(config.CACHE_DIR)
    if configured:  # a cache directory that cannot be one is said before anything is got
        validate.directory_to_write(Path(configured).expanduser() / "betas", f"${config.CACHE_DIR}")
    report = CacheBuilt()
    work: list[tuple[str, Path, Subject, int]] = []
    for subject in resolve_subjects(root, subjects):
        sub = load_subject(subject, dataset=root)
        names = [sub.files.session(s) for s in sessions] if sessions else sub.get_sessions()
        paths = {name: sub.files.betas(name) for name in names}
        sub.content.ensure_present(list(paths.values()))
        for name, path in paths.items():
            work.append((f"{subject} {name}", path, sub, len(sub.get_trial_info(name))))
    total = sum(n for *_, n in work)

    def one(item: tuple[str, Path, Subject, int], advance: Callable[[int], None]) -> None:
        label, path, sub, _ = item
        try:
            brain = sub.get_brain_mask().reshape(sub.shape)
            wrote = betacache.ensure_cache(path, brain, progress=advance)
        except (LaionFmriError, OSError, ValueError) as exc:
            report.failed.append((label, str(exc)))
            return
        (report.built if wrote else report.present).append(label)

    bar = progress("caching betas", total, "vol") if progress else None
    with (
        bar if bar is not None else nullcontext(_ignore) as advance,
        ThreadPoolExecutor(jobs) as pool,
    ):
        list(pool.map(lambda item: one(item, advance), work))
    return report


def _ignore(n: int) -> None:
    return None
