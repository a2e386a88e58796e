"""One-line errors for a value that is not among the known ones, with the closest match."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..errors import UsageError

MAX_LISTED = 12


def closest(value: str, known: Iterable[str]) -> str | None:
    """The known value most like ``value`` (case-insensitive), if any is reasonably close."""
    by_lower: dict[str, str] = {}
    for name in known:
        by_lower.setdefault(name.lower(), name)
    if value.lower() in by_lower:
        return by_lower[value.lower()]
    found = difflib.get_close_matches(value.lower(), list(by_lower), n=1, cutoff=0.5)
    return by_lower[found[0]] if found else None


def unknown(kind: str, value: object, known: Iterable[str], where: str = "") -> UsageError:
    """``no session 'ses-99' for sub-01; known: ses-01, ses-02; closest: ses-01``."""
    names = list(dict.fromkeys(known))
    listed = ", ".join(names[:MAX_LISTED])
    if len(names) > MAX_LISTED:
        listed += f", ... ({len(names)} in all)"
    message = f"no {kind} {value!r}{' ' + where if where else ''}; known: {listed or '(none)'}"
    match = closest(str(value), names) if names else None
    if match is not None and match != value:
        message += f"; did you mean {match!r}?"
    return UsageError(message)
