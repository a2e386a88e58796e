"""The ROI grammar: a name, a category, ``"all"``, or a list of these.

Names are the hyphen-free labels of the superdataset's paths (``FFA1``, ``pSTSfaces``). A
list is a union, in the order given, without duplicates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ...checks.choices import unknown
from ...errors import UsageError

RoiSpec = str | Sequence[str]


def resolve_rois(spec: RoiSpec, available: Mapping[str, Sequence[str]], subject: str) -> list[str]:
    """The ROI names ``spec`` stands for, given ``{category: names}`` of one subject."""
    if not isinstance(spec, str | list | tuple):
        raise UsageError(
            f"roi {spec!r} is not allowed; give an ROI name, a category, 'all' or a list of these"
        )
    items = [spec] if isinstance(spec, str) else list(spec)
    if not items:
        raise UsageError("roi is an empty list; give an ROI name, a category or 'all'")
    names = {n for members in available.values() for n in members}
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise UsageError(f"roi {item!r} is not a string; give ROI names or categories")
        if item == "all":
            members: Sequence[str] = [n for group in available.values() for n in group]
        elif item in available:
            members = available[item]
        elif item in names:
            members = [item]
        else:
            raise unknown(
                "ROI or category", item, [*sorted(names), *available, "all"], f"for {subject}"
            )
        chosen += [m for m in members if m not in chosen]
    return chosen
