"""Subject, session and run ids as users give them and as file names spell them (pure).

Users write ``sub-01``, ``01`` or ``1``; file names pad numbers to two digits (``sub-01``,
``ses-01``, ``run-01``). Non-numeric labels stay as they are (``ses-PrismaAnat``,
``ses-4BarScreenfLoc``): no rule assumes ``ses-NN``.
"""

from __future__ import annotations

from ..errors import UsageError

PADDED = ("sub", "ses", "run")  # entities whose numbers are two digits in names


def label(entity: str, value: object) -> str:
    """The bare label of ``entity`` in ``value``: ``ses-1``, ``1`` and ``01`` -> ``01``,
    ``desc-X`` -> ``X``; numbers of ``sub``, ``ses`` and ``run`` padded to two digits."""
    text = str(value).removeprefix(f"{entity}-")
    if entity in PADDED and text.isdigit():
        return f"{int(text):02d}"
    return text


def _id(entity: str, what: str, value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UsageError(f"{what} {value!r} is not a {what} id like '{entity}-01'")
    return f"{entity}-{label(entity, value)}"


def subject_id(value: object) -> str:
    """``sub-01`` from ``sub-01``, ``01`` or ``1``."""
    return _id("sub", "subject", value)


def session_id(value: object) -> str:
    """``ses-01`` from ``ses-01``, ``01`` or ``1``; ``ses-PrismaAnat`` as it is."""
    return _id("ses", "session", value)


def run_number(value: object) -> int:
    """``3`` from ``run-03``, ``03`` or ``3``."""
    text = label("run", value)
    if not text.isdigit():
        raise UsageError(f"run {value!r} is not a run number like 'run-01' or 1")
    return int(text)
