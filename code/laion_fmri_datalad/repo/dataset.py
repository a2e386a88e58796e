"""A DataLad dataset on disk, as git sees it: its id, the subdatasets it registers, its
removal. Used by every package that walks or cleans up datasets (the builder, the loaders,
publishing, provenance, analyses)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from .errors import RepoError
from .git import config_get, git, read_blobs, rev_parse


def committed_text(repo: Path, path: str) -> str | None:
    """The content of ``path`` at HEAD, or None if absent (or there is no HEAD)."""
    if rev_parse(repo, "HEAD") is None:
        return None
    data = read_blobs(repo, [f"HEAD:{path}"]).get(f"HEAD:{path}")
    return None if data is None else data.decode()


def registered_subdatasets(superdataset: Path, committed: bool = False) -> set[str]:
    """The subdataset paths ``.gitmodules`` names: as checked out, or (``committed``) as
    HEAD has it, which is what the builder trusts after an interruption."""
    if committed:
        if committed_text(superdataset, ".gitmodules") is None:
            return set()
        where = ["--blob", "HEAD:.gitmodules"]
    elif (superdataset / ".gitmodules").is_file():
        where = ["-f", ".gitmodules"]
    else:
        return set()
    out = git(superdataset, "config", *where, "--get-regexp", r"\.path$")
    return {line.split(" ", 1)[1] for line in out.splitlines() if " " in line}


def dataset_id(path: Path) -> str:
    """The DataLad dataset id in ``path/.datalad/config``; a ``RepoError`` when it has none."""
    identity = config_get(path, "datalad.dataset.id", file=".datalad/config")
    if not identity:
        raise RepoError(f"{path} has no DataLad dataset id in .datalad/config")
    return identity


def remove_dataset(path: Path) -> None:
    """Delete a dataset directory, including git-annex's write-protected objects."""
    if not path.exists():
        return
    for directory, _, _ in os.walk(path):  # git-annex makes its object folders read-only
        with contextlib.suppress(OSError):
            Path(directory).chmod(Path(directory).stat().st_mode | 0o700)
    shutil.rmtree(path, ignore_errors=True)
