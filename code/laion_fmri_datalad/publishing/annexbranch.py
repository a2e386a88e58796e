"""The git-annex branch a git host gets: the dataset's, without what exists only on the
publisher's machine.

A dataset published to a RIA store on the file system has that store's ``ria-storage``
special remote on its git-annex branch, with ``autoenable=true`` and a ``ria+file://`` URL,
and its repository descriptions name the publisher's directories. Pushed as it is, every
clone from the host would enable a remote nobody can reach. So the host gets a branch of its
own: each commit the dataset's git-annex tree with the special remotes of local URLs
(``ria+file://``, ``file://``, ``directory``) left out of ``remote.log`` and the descriptions
that name a local path replaced, on top of the commit pushed before (a fast-forward on the
host). Location and URL logs travel unchanged: the bucket's URLs, the gated remote.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..repo.git import git, git_or_none

PUBLIC_REF = "refs/laion-fmri/public-git-annex/{sibling}"
LOCAL_URL = re.compile(r"(^|\s)(url=(ria\+)?file://|type=directory(\s|$)|directory=/)")
LOCAL_PATH = re.compile(r"^(\S+) (.*?:?/\S*) (timestamp=\S+)$")  # "uuid user@host:/path ts"
PUBLISHER = "the publisher's repository"


def public_remote_log(text: str) -> str:
    """``remote.log`` without the special remotes only the publisher's machine can reach."""
    return "".join(line for line in text.splitlines(keepends=True) if not LOCAL_URL.search(line))


def public_uuid_log(text: str) -> str:
    """``uuid.log`` with each description that names a local path replaced."""
    lines = []
    for line in text.splitlines(keepends=True):
        match = LOCAL_PATH.match(line.rstrip("\n"))
        if match is not None and "://" not in match.group(2):
            line = f"{match.group(1)} {PUBLISHER} {match.group(3)}\n"
        lines.append(line)
    return "".join(lines)


FILTERS = {"remote.log": public_remote_log, "uuid.log": public_uuid_log}


def _public_tree(dataset: Path, write: bool) -> str:
    """The tree of the public branch; with ``write=False`` only its id (nothing stored)."""
    store = ["-w"] if write else []
    entries = []
    for line in git(dataset, "ls-tree", "refs/heads/git-annex").splitlines():
        meta, name = line.split("\t", 1)
        mode, kind, sha = meta.split()
        if name in FILTERS and kind == "blob":
            text = FILTERS[name](git(dataset, "cat-file", "blob", sha))
            sha = git(dataset, "hash-object", *store, "--stdin", input=text.encode()).strip()
        entries.append(f"{mode} {kind} {sha}\t{name}")
    listing = ("\n".join(entries) + "\n").encode()
    return git(dataset, "mktree", *([] if write else ["--missing"]), input=listing).strip()


def has_annex_branch(dataset: Path) -> bool:
    return (
        git_or_none(dataset, "rev-parse", "--verify", "--quiet", "refs/heads/git-annex") is not None
    )


def _last(dataset: Path, sibling: str) -> tuple[str, str] | None:
    """The public commit last made for ``sibling`` and its tree, if there is one."""
    ref = PUBLIC_REF.format(sibling=sibling)
    before = git_or_none(dataset, "rev-parse", "--verify", "--quiet", ref)
    if before is None:
        return None
    return before, git(dataset, "rev-parse", f"{before}^{{tree}}").strip()


def published_annex_commit(dataset: Path, sibling: str) -> str | None:
    """The public git-annex commit last made for ``sibling``, if it is still current (its
    tree what the dataset's branch gives now); None when a new one is due. Stores nothing."""
    last = _last(dataset, sibling) if has_annex_branch(dataset) else None
    if last is None:
        return None
    return last[0] if last[1] == _public_tree(dataset, write=False) else None


def public_annex_commit(dataset: Path, sibling: str) -> str | None:
    """A commit of the public git-annex branch for ``sibling`` (recorded under
    ``PUBLIC_REF``, on top of the one before), or None when the dataset has no git-annex
    branch."""
    if not has_annex_branch(dataset):
        return None
    tree = _public_tree(dataset, write=True)
    last = _last(dataset, sibling)
    if last is not None and last[1] == tree:
        return last[0]
    parent = ["-p", last[0]] if last is not None else []
    message = "git-annex branch as published (local-only remotes left out)"
    commit = git(dataset, "commit-tree", tree, *parent, "-m", message).strip()
    git(dataset, "update-ref", PUBLIC_REF.format(sibling=sibling), commit)
    return commit
