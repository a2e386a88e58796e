"""The file listing of each subdataset that the superdataset ships, so that a fresh clone can
answer "which sessions, which ROIs" without installing anything.

The builder writes ``.laion-fmri/listings/<subdataset>.txt`` into the superdataset in the same
commit that records the subdataset's commit: a header naming that commit, then the
subdataset's tracked paths (relative, so a listing survives cloning and moving), dotfiles
left out, each with its size in bytes after a tab (an annexed file's from its git-annex key,
a file in git its blob's), so a fresh clone can say how large everything is. Listings
written before sizes were shipped have paths alone; their sizes are unknown (None). A loader trusts a listing only for the subdataset commit it names: when the
superdataset records another commit (a listing left behind), or the installed subdataset is
checked out at another one, it asks pybids on the installed subdataset instead. This module
is the format alone; the builder (``builder/commits.py``) writes it, the loaders
(``loaders/shipped.py``) read it.
"""

from __future__ import annotations

LISTINGS = ".laion-fmri/listings"
_HEADER = "# laion-fmri listing of "


def listing_path(subdataset: str) -> str:
    """Where the listing of ``subdataset`` lives, relative to the superdataset."""
    return f"{LISTINGS}/{subdataset}.txt"


def is_listed(path: str) -> bool:
    """Whether a tracked path belongs in a listing: no dotfile or dot-directory anywhere
    (``.datalad``, ``.laion-fmri``, ``.gitattributes``; pybids ignores them too)."""
    return not any(part.startswith(".") for part in path.split("/"))


def render(subdataset: str, commit: str, sizes: dict[str, int | None]) -> bytes:
    """The listing's bytes: a header naming the subdataset and commit, then sorted paths,
    each with its size when known. (Paths never hold a tab: ``builder/keysafety.py``.)"""
    rows = [
        path if sizes[path] is None else f"{path}\t{sizes[path]}"
        for path in sorted(p for p in sizes if is_listed(p))
    ]
    return ("\n".join([f"{_HEADER}{subdataset} at {commit}", *rows]) + "\n").encode()


def parse_sizes(text: str) -> tuple[str, dict[str, int | None]] | None:
    """``(commit, {path: size or None})`` of a listing, or None when it is not one."""
    header, _, body = text.partition("\n")
    if not header.startswith(_HEADER) or " at " not in header:
        return None
    commit = header.rsplit(" at ", 1)[1].strip()
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        return None
    sizes: dict[str, int | None] = {}
    for line in body.splitlines():
        path, tab, size = line.rpartition("\t")
        if not tab:
            path, size = line, ""
        if path:
            sizes[path] = int(size) if size.isdigit() else None
    return commit, sizes


def parse(text: str) -> tuple[str, list[str]] | None:
    """``(commit, paths)`` of a listing, or None when it is not one (damaged, foreign)."""
    parsed = parse_sizes(text)
    return None if parsed is None else (parsed[0], list(parsed[1]))
