"""Which files go to git and which to the annex: small text in git, the rest annexed.

Small text files (JSON, TSV, CSV under 1 MiB, ``README``) stay in git, so that pybids can
index a fresh clone with no annexed content present.
"""

from __future__ import annotations

GIT_TEXT_EXTENSIONS = (".json", ".tsv", ".csv")
GIT_TEXT_NAMES = ("README", "CHANGES", "LICENSE")
GIT_TEXT_MAX_BYTES = 1024 * 1024

# For files a user later saves with DataLad: the same rule, as git-annex largefiles.
LARGEFILES_RULE = (
    "(largerthan=1MiB)or(not((include=*.json)or(include=*.tsv)or(include=*.csv)"
    "or(include=README)or(include=*/README)))"
)


def goes_to_git(path: str, size: int) -> bool:
    name = path.rsplit("/", 1)[-1]
    if size >= GIT_TEXT_MAX_BYTES:
        return False
    return name.endswith(GIT_TEXT_EXTENSIONS) or name in GIT_TEXT_NAMES
