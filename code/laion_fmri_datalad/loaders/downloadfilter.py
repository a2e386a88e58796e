"""Upstream's download filters, as a pure rule on a file's path (no I/O).

A path matches when, for each filter given: ``suffix`` and ``extension`` equal the file's
(strict); ``ses`` is strict as well, a file without a session passing only when
``"averages"`` is asked for; every other entity (``task``, ``space``, ``desc``, ``stat``,
``run``, ``echo``, ``part``) is permissive, a file without that entity passing. Entities are
found anywhere in the path (folders included), as upstream's ``entity-value`` tokens.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

AVERAGES = "averages"
STRICT = ("suffix", "extension")
ENTITIES = ("ses", "task", "space", "desc", "stat", "run", "echo", "part")
PADDED = ("ses", "run")  # bare numbers are two digits in names: ses-01, run-01


def bare(entity: str, value: object) -> str:
    """``ses-1`` / ``1`` -> ``01``; ``desc-X`` -> ``X``; ``nii.gz`` -> ``nii.gz``."""
    text = str(value)
    if entity == "extension":
        return text.removeprefix(".")
    text = text.removeprefix(f"{entity}-")
    if entity in PADDED and text.isdigit():
        return f"{int(text):02d}"
    return text


def _token(entity: str, value: str | None = None) -> re.Pattern[str]:
    body = re.escape(value) if value is not None else "[A-Za-z0-9]+"
    return re.compile(rf"(?:^|/|_){re.escape(entity)}-{body}(?=[_./]|$)")


def suffix_and_extension(path: str) -> tuple[str, str]:
    name = path.rsplit("/", 1)[-1]
    base, _, extension = name.partition(".")
    return base.rsplit("_", 1)[-1], extension


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
        elif not _token(entity).search(path):
            if entity == "ses" and AVERAGES not in values:
                return False
        elif not any(_token(entity, v).search(path) for v in values if v != AVERAGES):
            return False
    return True


def values_in(path: str, entity: str) -> set[str]:
    """The values ``path`` has for ``entity`` (for checking that a filter's values exist)."""
    if entity == "suffix":
        return {suffix_and_extension(path)[0]}
    if entity == "extension":
        return {suffix_and_extension(path)[1]}
    return set(re.findall(rf"(?:^|/|_){re.escape(entity)}-([A-Za-z0-9]+)(?=[_./]|$)", path))
