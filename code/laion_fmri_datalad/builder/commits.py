"""One commit per changed subdataset, and one superdataset commit recording them all."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..layout.listings import listing_path, parse, render
from ..repo.dataset import committed_text, dataset_id, registered_subdatasets
from ..repo.git import git, gitlinks, read_blobs, rev_parse, tree_sizes
from .gitplumbing import GITLINK, REGULAR, TreeChanges, fast_import_commit
from .recovery import BUILD_REF, FAST_CHECKOUT, clear_pending, mark_pending


def commit_dataset(repo: Path, changes: TreeChanges, message: str) -> str:
    """Commit ``changes`` on top of HEAD and check the result out; return the commit.

    HEAD moves first (atomically), then the index and work tree; a pending marker spans
    both, so a build stopped anywhere in between is completed by the next one
    (``recovery.finish_interrupted_checkout``). ``read-tree -m -u`` refuses to overwrite
    local modifications, so nothing a user changed is lost."""
    old = rev_parse(repo, "HEAD")
    new = fast_import_commit(repo, BUILD_REF, old, changes, message)
    mark_pending(repo, old, new)
    git(repo, "update-ref", "-m", message, "HEAD", new, *([old] if old else []))
    if old is None:
        git(repo, *FAST_CHECKOUT, "read-tree", "-u", "--reset", new)
    else:
        git(repo, *FAST_CHECKOUT, "read-tree", "-m", "-u", old, new)
    clear_pending(repo)
    return new


def _gitmodules_with(superdataset: Path, new: list[str]) -> bytes:
    current = committed_text(superdataset, ".gitmodules") or ""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "gitmodules"
        scratch.write_text(current)
        for name in new:
            for key, value in (
                ("path", name),
                ("url", f"./{name}"),
                ("datalad-id", dataset_id(superdataset / name)),
            ):
                git(superdataset, "config", "-f", str(scratch), f"submodule.{name}.{key}", value)
        return scratch.read_bytes()


def stale_subdatasets(superdataset: Path, names: list[str]) -> list[str]:
    """Subdatasets whose current commit the superdataset does not record (yet): new ones,
    or ones committed by a build that stopped before its superdataset commit."""
    recorded = gitlinks(superdataset, "HEAD", names)
    stale = []
    for name in names:
        head = rev_parse(superdataset / name, "HEAD") if (superdataset / name).is_dir() else None
        if head is not None and recorded.get(name) != head:
            stale.append(name)
    return stale


def unlisted_subdatasets(superdataset: Path, names: list[str]) -> list[str]:
    """Subdatasets whose shipped listing at HEAD is missing or names another commit than
    the one HEAD records (a superdataset built before listings were shipped)."""
    recorded = gitlinks(superdataset, "HEAD", names)
    specs = [f"HEAD:{listing_path(name)}" for name in recorded]
    blobs = read_blobs(superdataset, specs)  # no HEAD: no gitlinks, so no specs
    unlisted = []
    for name, commit in recorded.items():
        data = blobs.get(f"HEAD:{listing_path(name)}")
        parsed = None if data is None else parse(data.decode(errors="replace"))
        if parsed is None or parsed[0] != commit:
            unlisted.append(name)
    return unlisted


def commit_superdataset(
    superdataset: Path, subdatasets: list[str], root_changes: TreeChanges, message: str
) -> bool:
    """Record the current commit of each of ``subdatasets`` (registering new ones), its
    file listing (``layout/listings.py``) and the superdataset's own changed files in one commit.
    Returns whether a commit was made."""
    changes = TreeChanges(dict(root_changes.writes), set(root_changes.deletes))
    known = registered_subdatasets(superdataset, committed=True)
    new = [name for name in subdatasets if name not in known]
    if new:
        changes.writes[".gitmodules"] = (REGULAR, _gitmodules_with(superdataset, new))
    for name in subdatasets:
        head = rev_parse(superdataset / name, "HEAD")
        assert head is not None
        changes.writes[name] = (GITLINK, head.encode())
        sizes = tree_sizes(superdataset / name, head)
        changes.writes[listing_path(name)] = (REGULAR, render(name, head, sizes))
    if not changes:
        return False
    commit_dataset(superdataset, changes, message)
    return True
