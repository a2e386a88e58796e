"""Small read-only git questions the provenance commands ask."""

from __future__ import annotations

import re
from pathlib import Path

from ..repo.git import git_oneline, rev_parse

VERSION_TAG = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def tag_commit(repo: Path, tag: str) -> str | None:
    return rev_parse(repo, f"refs/tags/{tag}")


def version_tags(repo: Path, revision: str | None) -> list[str]:
    """Release tags reachable from ``revision`` (None: all of them), newest version first."""
    names = git_oneline(repo, "tag", *(["--merged", revision] if revision else [])).splitlines()

    def key(name: str) -> tuple[int, int, int]:
        m = VERSION_TAG.match(name)
        assert m is not None
        return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)

    return sorted((n for n in names if VERSION_TAG.match(n)), key=key, reverse=True)


def is_clean(repo: Path) -> bool:
    """No modified or staged tracked file (untracked files do not count)."""
    return git_oneline(repo, "status", "--porcelain", "--untracked-files=no") == ""
