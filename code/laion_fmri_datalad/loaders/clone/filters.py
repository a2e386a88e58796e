"""Upstream's download filters, as a pure rule on a file's path (no I/O).

A path matches when, for each filter given: ``suffix`` and ``extension`` equal the file's
(strict); ``ses`` is strict as well, a file without a session passing only when
``"averages"`` is asked for; every other entity (``task``, ``space``, ``desc``, ``stat``,
``run``, ``echo``, ``part``) is permissive, a file without that entity passing. Entities are
found anywhere in the path (folders included), as upstream's ``entity-value`` tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...layout.entities import suffix_and_extension, token
from ...layout.ids import label

AVERAGES = "averages"
STRICT = ("suffix", "extension")
ENTITIES = ("ses", "task", "space", "desc", "stat", "run", "echo", "part")


def bare(entity: str, value: object) -> str:
    """``ses-1`` / ``1`` -> ``01``; ``desc-X`` -> ``X``; ``nii.gz`` -> ``nii.gz``."""
    if entity == "extension":
        return str(value).removeprefix(".")
    return label(entity, value)


def matches(path: str, filters: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``path`` passes every filter (values bare, as :func:`bare` gives them)."""
    suffix, extension = suffix_and_extension(path)
    for entity, values in filters.items():
        if entity == "suffix":
            if suffix not in values:
                return False
        elif entity == "extension":
            if extension not in values:
                return False
        elif not token(entity).search(path):
            if entity == "ses" and AVERAGES not in values:
                return False
        elif not any(token(entity, v).search(path) for v in values if v != AVERAGES):
            return False
    return True
