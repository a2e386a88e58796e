"""Whether each installed subdataset is at the commit its superdataset records.

A plain ``git checkout 1.0.0`` in a clone moves the superdataset and leaves every installed
subdataset where it was: ``git status`` says ``M stimuli``, ``datalad get`` reports
``notneeded`` and the loaders would read the newer bytes while ``cite`` names the older
release. Every reader asks :func:`drifted` first; :func:`move_to` is the one way to move a
clone (``laion-fmri-datalad checkout``), the superdataset and its installed subdatasets
together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .dataset import registered_subdatasets
from .errors import RepoError
from .git import git, git_or_none, gitlinks, rev_parse


@dataclass(frozen=True)
class Drift:
    """An installed subdataset whose HEAD is not the commit the superdataset records."""

    path: str
    recorded: str
    checked_out: str

    def line(self, root: Path) -> str:
        return (
            f"subdataset {self.path!r} is at commit {self.checked_out[:8]}, but the checked-out "
            f"superdataset records {self.recorded[:8]}: its files are another version; run "
            f"laion-fmri-datalad checkout {_here(root)} -d {root} "
            f"(or: git -C {root} submodule update {self.path})"
        )


def _here(root: Path) -> str:
    """The superdataset's HEAD as a user names it: a tag on it, its branch, or the commit."""
    tag = git_or_none(root, "describe", "--tags", "--exact-match", "HEAD")
    branch = git_or_none(root, "symbolic-ref", "--short", "-q", "HEAD")
    return tag or branch or git(root, "rev-parse", "HEAD").strip()


def drifted(root: Path, paths: list[str] | None = None) -> list[Drift]:
    """The installed subdatasets (of ``paths``, default all) not at their recorded commit."""
    registered = sorted(registered_subdatasets(root))
    wanted = registered if paths is None else [p for p in paths if p in registered]
    found = []
    for path, recorded in sorted(gitlinks(root, "HEAD", wanted).items()):
        if not (root / path / ".git").exists():
            continue  # not installed: datalad get installs it at the recorded commit
        head = rev_parse(root / path, "HEAD")
        if head is not None and head != recorded:
            found.append(Drift(path, recorded, head))
    return found


def move_to(root: Path, revision: str) -> list[str]:
    """Check ``revision`` out in the superdataset and every installed subdataset at the
    commit it records (a local branch that points there, else detached); the subdatasets
    moved. Refuses before anything moves when a repository has uncommitted changes or a
    recorded commit is missing from its subdataset."""
    target = rev_parse(root, revision)
    if target is None:
        raise UsageError(f"no revision {revision!r} in {root}; give a tag, branch or commit")
    _require_clean(root, ignore_submodules=True)
    recorded = gitlinks(root, target, sorted(registered_subdatasets(root)))
    installed = {p: c for p, c in recorded.items() if (root / p / ".git").exists()}
    for path, commit in installed.items():
        _require_clean(root / path)
        if rev_parse(root / path, commit) is None:
            raise RepoError(
                f"subdataset {path!r} lacks commit {commit[:8]} that {revision} records; "
                f"run: datalad update -d {root / path} (then this command again)"
            )
    git(root, "checkout", "-q", revision)
    moved = []
    for path, commit in sorted(installed.items()):
        sub = root / path
        if rev_parse(sub, "HEAD") == commit:
            continue
        branches = git(sub, "for-each-ref", "--points-at", commit, "--format=%(refname:short)",
                       "refs/heads").split()  # fmt: skip
        git(sub, "checkout", "-q", branches[0] if branches else commit)
        moved.append(path)
    return moved


def _require_clean(repo: Path, ignore_submodules: bool = False) -> None:
    extra = ["--ignore-submodules=all"] if ignore_submodules else []
    changed = git(repo, "status", "--porcelain", "--untracked-files=no", *extra).strip()
    if changed:
        first = changed.splitlines()[0].strip()
        raise RepoError(f"{repo} has uncommitted changes ({first} ...); save or discard them first")
