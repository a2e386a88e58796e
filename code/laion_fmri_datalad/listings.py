"""The file listing of each subdataset that the superdataset ships, so that a fresh clone can
answer "which sessions, which ROIs" without installing anything.

The builder writes ``.laion-fmri/listings/<subdataset>.txt`` into the superdataset in the same
commit that records the subdataset's commit: a header naming that commit, then the
subdataset's tracked paths (relative, so a listing survives cloning and moving), dotfiles
left out. A loader trusts a listing only for the subdataset commit it names: when the
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


def render(subdataset: str, commit: str, paths: list[str]) -> bytes:
    """The listing's bytes: a header naming the subdataset and commit, then sorted paths."""
    lines = [f"{_HEADER}{subdataset} at {commit}", *sorted(p for p in paths if is_listed(p))]
    return ("\n".join(lines) + "\n").encode()


def parse(text: str) -> tuple[str, list[str]] | None:
    """``(commit, paths)`` of a listing, or None when it is not one (damaged, foreign)."""
    header, _, body = text.partition("\n")
    if not header.startswith(_HEADER) or " at " not in header:
        return None
    commit = header.rsplit(" at ", 1)[1].strip()
    if len(commit) != 40 or any(c not in "0123456789abcdef" for c in commit):
        return None
    return commit, [line for line in body.splitlines() if line]
