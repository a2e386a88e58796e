"""What a stimulus file name says: shared or unique, whose, which source, which OOD type.

``pNN`` in a unique image's name is the participant *code*, not the subject number
(DESIGN §2.7): p01 = sub-01, p02 = sub-06, p03 = sub-05, p04 = sub-03, p05 = sub-07. A
subject is never derived from the digits.
"""

from __future__ import annotations

import re

from ..errors import UsageError

PARTICIPANT_CODES: dict[str, str] = {
    "p01": "sub-01",
    "p02": "sub-06",
    "p03": "sub-05",
    "p04": "sub-03",
    "p05": "sub-07",
}
SUBJECT_CODES: dict[str, str] = {subject: code for code, subject in PARTICIPANT_CODES.items()}
OOD_PREFIX = "shared_4rep_OOD_"
_UNIQUE = re.compile(r"^unique_.+_(p\d{2})\.(?:jpg|jpeg|png)$", re.IGNORECASE)


def code_of(subject: str) -> str:
    """``sub-03`` -> ``p04``."""
    try:
        return SUBJECT_CODES[subject]
    except KeyError:
        raise UsageError(
            f"subject {subject!r} has no participant code; known: {', '.join(SUBJECT_CODES)}"
        ) from None


def owner_of(name: str) -> str | None:
    """The subject a unique image belongs to (from its ``pNN`` code), or None for a shared
    image. A unique name with an unknown code is an error, never a guess."""
    if not name.startswith("unique_"):
        return None
    found = _UNIQUE.match(name)
    if found is None or found.group(1).lower() not in PARTICIPANT_CODES:
        raise UsageError(
            f"image {name!r} has no known participant code; codes: {', '.join(PARTICIPANT_CODES)}"
        )
    return PARTICIPANT_CODES[found.group(1).lower()]


def ood_type(name: str) -> str | None:
    """``shared_4rep_OOD_illusion-classic_x.png`` -> ``illusion-classic``; None if not OOD."""
    if not name.startswith(OOD_PREFIX):
        return None
    return name.removeprefix(OOD_PREFIX).split("_", 1)[0]
