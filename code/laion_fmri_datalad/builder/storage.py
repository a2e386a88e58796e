"""Which files go to git and which to the annex: small text in git, the rest annexed.

Small text files (JSON, TSV, CSV of at most 1 MiB, ``README``, ``CHANGES``, ``LICENSE``)
stay in git, so that pybids can index a fresh clone with no annexed content present. The
builder decides with ``goes_to_git``; files a user later saves with DataLad are decided by
git-annex with ``LARGEFILES_RULE``, made from the same constants, which says the same.
"""

from __future__ import annotations

GIT_TEXT_EXTENSIONS = (".json", ".tsv", ".csv")
GIT_TEXT_NAMES = ("README", "CHANGES", "LICENSE")
GIT_TEXT_MAX_BYTES = 1024 * 1024


def _largefiles_rule() -> str:
    """The same rule as git-annex ``largefiles``: ``largerthan`` is strictly larger, and
    ``include=NAME`` matches at the top only, so names are given at any depth too."""
    texts = [f"(include=*{extension})" for extension in GIT_TEXT_EXTENSIONS]
    texts += [f"(include={name})or(include=*/{name})" for name in GIT_TEXT_NAMES]
    return f"(largerthan={GIT_TEXT_MAX_BYTES // (1024 * 1024)}MiB)or(not({'or'.join(texts)}))"


LARGEFILES_RULE = _largefiles_rule()


def goes_to_git(path: str, size: int) -> bool:
    """Whether the builder commits ``path`` of ``size`` bytes to git (else: annexed)."""
    name = path.rsplit("/", 1)[-1]
    if size > GIT_TEXT_MAX_BYTES:
        return False
    return name.endswith(GIT_TEXT_EXTENSIONS) or name in GIT_TEXT_NAMES
