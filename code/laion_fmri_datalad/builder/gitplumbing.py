"""Bulk git writes through ``git fast-import``: one process writes a whole commit.

Used for the work-tree commit of a subdataset (symlinks to annexed keys, small text files,
removals) and for the git-annex branch (location and URL logs of thousands of keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from ..repo.git import git, rev_parse

SYMLINK = "120000"
REGULAR = "100644"
GITLINK = "160000"


@dataclass
class TreeChanges:
    """The changes of one commit: files to write (mode, bytes) and paths to delete."""

    writes: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.writes or self.deletes)


def _data(payload: bytes) -> bytes:
    return b"data %d\n" % len(payload) + payload + b"\n"


def fast_import_commit(
    repo: Path, ref: str, parent: str | None, changes: TreeChanges, message: str
) -> str:
    """Write one commit on ``ref`` with ``changes`` on top of ``parent``; return its id.
    Its committer is the user's (as git names them in ``repo``; ``repo.env`` gives one only
    where the user has none)."""
    ident = git(repo, "var", "GIT_COMMITTER_IDENT").strip()
    chunks = [
        f"commit {ref}\n".encode(),
        f"committer {ident}\n".encode(),
        _data(message.encode()),
    ]
    if parent:
        chunks.append(f"from {parent}\n".encode())
    for path in sorted(changes.deletes):
        chunks.append(f'D "{_quote(path)}"\n'.encode())
    for path in sorted(changes.writes):
        mode, payload = changes.writes[path]
        if mode == GITLINK:  # a subdataset: the payload is its commit id
            chunks.append(f'M {mode} {payload.decode()} "{_quote(path)}"\n'.encode())
            continue
        chunks.append(f'M {mode} inline "{_quote(path)}"\n'.encode())
        chunks.append(_data(payload))
    chunks.append(b"done\n")
    git(repo, "fast-import", "--quiet", "--done", "--force", input=b"".join(chunks))
    commit = rev_parse(repo, ref)
    if commit is None:
        raise BuildError(f"fast-import wrote no commit on {ref} in {repo}")
    return commit


def _quote(path: str) -> str:
    return path.replace("\\", "\\\\").replace('"', '\\"')
