"""Entities of a subject's files from the listings the superdataset ships (``layout/listings.py``),
so that "which sessions, which ROIs" needs neither an install nor a pybids index.

A listing is used only when it describes exactly the subdataset this clone would read: the
commit it names is the one the superdataset's HEAD records, and, if the subdataset is
installed, the one checked out there. Otherwise (an older dataset without listings, a
subdataset updated on its own) the caller asks pybids on the installed subdataset. Entities
come from pybids' own path parser with the index's configuration, so both paths answer alike
(``tests/test_shipped_listings.py`` compares them on every subject).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from ...layout.listings import listing_path, parse_sizes
from ...repo.git import gitlinks, rev_parse
from .index import CONFIG

# pybids' default ignores at a layout's top level (dot-paths are never listed)
IGNORED_TOP = ("code", "stimuli", "sourcedata", "models")


def listed_sizes(
    root: Path, subdataset: str, recorded: str | None = None
) -> dict[str, int | None] | None:
    """The paths of ``subdataset`` from its shipped listing, each with its size (None when
    the listing predates sizes), or None when there is no listing or it does not describe
    the commit this clone reads (``recorded``: that commit, when the caller knows it)."""
    try:
        text = (root / listing_path(subdataset)).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    parsed = parse_sizes(text)
    if parsed is None:
        return None
    commit, sizes = parsed
    if recorded is None:
        recorded = gitlinks(root, "HEAD", [subdataset]).get(subdataset)
    if recorded != commit:
        return None
    installed = root / subdataset
    if (installed / ".git").exists() and rev_parse(installed, "HEAD") != commit:
        return None
    return sizes


def listed_paths(root: Path, subdataset: str) -> list[str] | None:
    """The paths of ``subdataset`` from its shipped listing (``listed_sizes``), or None."""
    sizes = listed_sizes(root, subdataset)
    return None if sizes is None else list(sizes)


@cache
def _configs() -> list[Any]:
    from bids.layout.models import Config

    return [Config.load(c) for c in CONFIG]


def subject_entities(root: Path, subdataset: str, label: str) -> list[dict[str, Any]] | None:
    """pybids entities of every listed file of ``sub-<label>`` in ``subdataset`` (the
    listing's path plus ``path``), or None when the listing cannot be used."""
    paths = listed_paths(root, subdataset)
    if paths is None:
        return None
    from bids.layout import parse_file_entities

    found = []
    needle = f"sub-{label}"
    for path in paths:
        if needle not in path or path.split("/", 1)[0] in IGNORED_TOP:
            continue
        entities = parse_file_entities("/" + path, config=_configs())
        if entities.get("subject") == label:
            found.append({**entities, "path": path})
    return found
