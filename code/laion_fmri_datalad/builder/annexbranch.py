"""Registering keys on the git-annex branch in bulk, as git-annex itself records them.

For each key: the location log ``<hashdirlower><key>.log`` marks it present in the web
special remote, and the URL log ``<hashdirlower><key>.log.web`` holds its URLs. Existing
log lines are kept; one fast-import commit writes all keys of a build. git-annex notices
that its branch moved and updates its own index on the next command.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from ..repo.git import git, read_blobs, rev_parse
from .annexkeys import hashdir_lower
from .gitplumbing import REGULAR, TreeChanges, fast_import_commit

WEB_UUID = "00000000-0000-0000-0000-000000000001"
ANNEX_BRANCH = "refs/heads/git-annex"


def _stamp() -> str:
    return f"{time.time():.9f}s"


def _merge_log(existing: bytes, info: list[str], stamp: str) -> bytes:
    """Append ``<stamp> 1 <info>`` for each info value not already present in the log."""
    lines = existing.decode().splitlines()
    latest: dict[str, tuple[float, str]] = {}
    for line in lines:
        parts = line.split(" ", 2)
        if len(parts) == 3:
            when = float(parts[0].rstrip("s"))
            if parts[2] not in latest or when >= latest[parts[2]][0]:
                latest[parts[2]] = (when, parts[1])
    lines += [f"{stamp} 1 {v}" for v in info if latest.get(v, (0.0, "0"))[1] != "1"]
    return ("\n".join(lines) + "\n").encode()


def register_urls(repo: Path, urls: Mapping[str, list[str]], message: str) -> int:
    """Record each key as present in the web remote with its URLs; return keys written."""
    if not urls:
        return 0
    journal = repo / ".git" / "annex" / "journal"
    if journal.is_dir() and any(journal.iterdir()):
        # Let git-annex commit its own pending journal first, so nothing is overwritten.
        git(repo, "annex", "merge")
    parent = rev_parse(repo, ANNEX_BRANCH)
    existing_paths = (
        set(git(repo, "ls-tree", "-r", "--name-only", ANNEX_BRANCH).splitlines())
        if parent
        else set()
    )
    specs = []
    for key in urls:
        base = hashdir_lower(key) + key
        specs += [f"{ANNEX_BRANCH}:{p}" for p in (base + ".log", base + ".log.web")]
    old = read_blobs(repo, [s for s in specs if s.split(":", 1)[1] in existing_paths])
    stamp = _stamp()
    changes = TreeChanges()
    for key, key_urls in urls.items():
        base = hashdir_lower(key) + key
        location = old.get(f"{ANNEX_BRANCH}:{base}.log", b"")
        web = old.get(f"{ANNEX_BRANCH}:{base}.log.web", b"")
        changes.writes[base + ".log"] = (REGULAR, _merge_log(location, [WEB_UUID], stamp))
        changes.writes[base + ".log.web"] = (REGULAR, _merge_log(web, key_urls, stamp))
    fast_import_commit(repo, ANNEX_BRANCH, parent, changes, message)
    return len(urls)
