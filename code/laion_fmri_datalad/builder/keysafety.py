"""Which bucket keys may never become paths in a dataset, and why (pure).

A key is refused, before anything is written, when its path could damage or escape the
dataset it routes to, or cannot be a file at all:

* a component that is empty (``a//b``, a folder marker ``a/b/``), ``.`` or ``..``;
* a component that is the dataset's own machinery: ``.git*`` (``.git``, ``.gitattributes``,
  ``.gitmodules``, ``.gitignore``), ``.datalad``, or the builder's state ``.laion-fmri``
  (in any letter case, for case-insensitive file systems);
* a control character (newline, carriage return, tab, NUL, DEL, ...): git's import stream,
  the inventory TSV and most tools break on them;
* a component longer than a file system allows (255 bytes), or a path over 4,096 bytes;
* a path that another key also routes to (``label-FFA-1`` and ``label-FFA1``): each key
  involved is refused, never one silently kept;
* a file whose path is also the folder of other keys (both cannot exist): the file is
  refused, the folder's files are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4096
PROTECTED_PREFIXES = (".git", ".datalad", ".laion-fmri")


@dataclass(frozen=True)
class Refusal:
    """A key refused before anything is written: where it would have gone, and why."""

    key: str
    dataset: str  # the dataset its routing names ("" also for keys no rule matches)
    reason: str

    def line(self) -> str:
        return f"{self.key!r} {self.reason}"


def _is_control(character: str) -> bool:
    return ord(character) < 0x20 or ord(character) == 0x7F


def key_refusal(key: str) -> str | None:
    """Why ``key`` can never be a path in a dataset, or None when it can."""
    bad = sorted({f"U+{ord(c):04X}" for c in key if _is_control(c)})
    if bad:
        return f"contains control characters ({', '.join(bad)})"
    if key.startswith("/"):
        return "is an absolute path"
    if key.endswith("/"):
        return "is a folder marker (ends in '/'), not a file"
    if len(key.encode()) > MAX_PATH_BYTES:
        return f"is longer than {MAX_PATH_BYTES} bytes"
    for component in key.split("/"):
        if component == "":
            return "has an empty path component ('//')"
        if component in (".", ".."):
            return f"has a '{component}' path component"
        if component.lower().startswith(PROTECTED_PREFIXES):
            return f"would write the dataset's own '{component}'"
        if len(component.encode()) > MAX_COMPONENT_BYTES:
            return f"has a path component longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def path_conflicts(paths: Iterable[str]) -> dict[str, str]:
    """Files of one dataset whose path is also a folder of other paths: ``path -> reason``."""
    files = set(paths)
    conflicts: dict[str, str] = {}
    for path in sorted(files):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in files and folder not in conflicts:
                conflicts[folder] = f"is a file where other keys need a folder (e.g. {path!r})"
    return conflicts
