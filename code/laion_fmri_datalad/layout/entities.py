"""BIDS entities read from a path, the way the file names spell them (pure).

``sub-01/ses-01/func/sub-01_ses-01_task-images_run-02_bold.nii.gz`` has ``sub`` 01, ``ses``
01, ``task`` images and ``run`` 02 (in the name, and ``sub``/``ses`` in its folders too), the
suffix ``bold`` and the extension ``nii.gz``. The pybids index reads the same names with its
own configuration (``loaders/index.py``); this is for answers that need no index: download
filters, cache file labels, a run's number.
"""

from __future__ import annotations

import re

_VALUE = "[A-Za-z0-9]+"


def token(entity: str, value: str | None = None) -> re.Pattern[str]:
    """The pattern of ``entity-value`` (any value when None) as a whole part of a path."""
    body = re.escape(value) if value is not None else _VALUE
    return re.compile(rf"(?:^|/|_){re.escape(entity)}-{body}(?=[_./]|$)")


def values_in(path: str, entity: str) -> set[str]:
    """The values ``path`` has for ``entity``, in its folders and its name (``suffix`` and
    ``extension`` too)."""
    if entity == "suffix":
        return {suffix_and_extension(path)[0]}
    if entity == "extension":
        return {suffix_and_extension(path)[1]}
    return set(re.findall(rf"(?:^|/|_){re.escape(entity)}-({_VALUE})(?=[_./]|$)", path))


def name_entities(path: str) -> dict[str, str]:
    """``entity -> value`` of the key-value parts of the file name alone, in name order."""
    name = path.rsplit("/", 1)[-1].split(".", 1)[0]
    parts = (p.split("-", 1) for p in name.split("_") if "-" in p)
    return {key: value for key, value in parts}


def suffix_and_extension(path: str) -> tuple[str, str]:
    """``("bold", "nii.gz")`` of ``..._bold.nii.gz``."""
    name = path.rsplit("/", 1)[-1]
    base, _, extension = name.partition(".")
    return base.rsplit("_", 1)[-1], extension
