"""Builds that survive being stopped at any point: a lock, and the completion of a
checkout that a killed build left half done.

Every commit the builder makes moves a branch in two steps (``commits.commit_dataset``):
HEAD first (``update-ref``, atomic), then the index and work tree (``read-tree``). Before
the first step it writes a *pending* marker into the repository's git directory naming the
old and new commit, and removes it after the second. A build that finds a marker finishes
what the killed one began: if HEAD never moved there is nothing to undo; if it moved, the
index and work tree are brought to HEAD (the files the build itself was writing). All
later decisions read the build state from HEAD, never from the work tree, so a rerun
after an interruption at any point gives the dataset an uninterrupted build gives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError
from ..repo.git import git, rev_parse
from ..runtime.locks import file_lock, holder

STATE = "laion-fmri"
PENDING = "checkout-pending"
LOCK = "build.lock"
BUILD_REF = "refs/laion-fmri/build"
# Checking out symlinks and small text files needs no annex filter; parallel workers.
FAST_CHECKOUT = (
    *("-c", "filter.annex.process=", "-c", "filter.annex.smudge="),
    *("-c", "filter.annex.clean=", "-c", "checkout.workers=4"),
    *("-c", "checkout.thresholdForParallelism=100"),
)


def git_dir(repo: Path) -> Path:
    return Path(git(repo, "rev-parse", "--absolute-git-dir").strip())


def _pending(repo: Path) -> Path:
    return git_dir(repo) / STATE / PENDING


def mark_pending(repo: Path, old: str | None, new: str) -> None:
    path = _pending(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(f"{old or '-'} {new}\n")
    scratch.replace(path)


def clear_pending(repo: Path) -> None:
    _pending(repo).unlink(missing_ok=True)
    git(repo, "update-ref", "-d", BUILD_REF)


def finish_interrupted_checkout(repo: Path) -> bool:
    """Complete the checkout a stopped build left behind in ``repo``; True if there was one."""
    path = _pending(repo)
    if not path.is_file():
        return False
    old, new = path.read_text().split()
    head = rev_parse(repo, "HEAD")
    if head == new:  # HEAD moved: the index and work tree may be anywhere between
        (git_dir(repo) / "index.lock").unlink(missing_ok=True)  # git itself was killed
        git(repo, *FAST_CHECKOUT, "read-tree", "-u", "--reset", "HEAD")
    elif head != (None if old == "-" else old):
        raise UsageError(
            f"{repo}: HEAD {head} is neither the old ({old}) nor the new ({new}) commit of "
            f"an interrupted build; check the repository and remove {path} to go on"
        )
    clear_pending(repo)
    return True


def candidate_datasets(superdataset: Path) -> Iterator[Path]:
    """The superdataset and every subdataset that may exist below it (at most two levels:
    ``sub-XX``, ``stimuli``, ``archive``, ``derivatives/<stream>``)."""
    yield superdataset
    for pattern in ("*/.git", "*/*/.git"):
        for found in sorted(superdataset.glob(pattern)):
            yield found.parent


def finish_interrupted_build(superdataset: Path) -> list[str]:
    """Complete every interrupted checkout; the datasets resumed ("" = the superdataset)."""
    resumed = []
    for repo in candidate_datasets(superdataset):
        if finish_interrupted_checkout(repo):
            relative = repo.relative_to(superdataset).as_posix()
            resumed.append("" if relative == "." else relative)
    return resumed


@contextlib.contextmanager
def build_lock(superdataset: Path) -> Iterator[None]:
    """One build at a time per superdataset; a second one is refused with one line."""
    lock = git_dir(superdataset) / STATE / LOCK
    with file_lock(lock, wait=False) as held:
        if not held:
            raise UsageError(
                f"another build of {superdataset} is running ({holder(lock)}); wait for it to end"
            )
        yield
