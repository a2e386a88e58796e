"""Choosing files by BIDS entities, the way upstream's ``download`` filters do, on a clone.

Filters are resolved by pybids on the installed subdatasets (names only: no content is
needed). A file matches when, for every filter given, it has that entity with one of the
values given; ``--ses averages`` stands for the subject-level files (those without a
session). Each value must exist for its entity among the files in scope, else the error
names the values that do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bids.layout import Query

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import resolve_subjects
from ...layout.entities import suffix_and_extension, values_in
from ...layout.ids import label
from ...layout.names import DEFAULT_STREAMS, STREAMS
from .content import Content, annexed_size, is_installed, is_present
from .index import layout
from .listed import IGNORED_TOP, listed_sizes
from .streams import chosen_streams

AVERAGES = "averages"
# command-line flag -> pybids entity
ENTITIES = {
    "ses": "session",
    "task": "task",
    "space": "space",
    "desc": "desc",
    "stat": "stat",
    "suffix": "suffix",
    "extension": "extension",
}


@dataclass(frozen=True)
class Selected:
    path: Path
    subdataset: str
    size: int
    annexed: bool
    present: bool


@dataclass
class Filters:
    """Values per entity (as given: ``ses-01`` or ``01``, several per entity)."""

    subjects: Sequence[str] | str = "all"
    streams: Sequence[str] = DEFAULT_STREAMS
    values: dict[str, list[str]] = field(default_factory=dict)
    known: Mapping[str, str | None] = field(default_factory=lambda: dict(STREAMS))

    @classmethod
    def of(
        cls,
        subject: Any,
        streams: Any = None,
        *,
        known: Mapping[str, str | None] = STREAMS,
        **entities: Any,
    ) -> Filters:
        """The filters given; ``known`` the streams that exist (``streams.clone_streams``)."""
        values: dict[str, list[str]] = {}
        for flag, given in entities.items():
            if flag not in ENTITIES:
                raise UsageError(f"no filter {flag!r}; known: {', '.join(ENTITIES)}")
            if given is None:
                continue
            items = [given] if isinstance(given, str | int) else list(given)
            if not items:
                raise UsageError(f"--{flag} is empty; give one or more values")
            for item in items:
                if isinstance(item, str) and not item.strip():
                    raise UsageError(f"--{flag} {item!r} is empty; give a value (or leave it out)")
            values[flag] = [_bare(flag, str(v)) for v in items]
        chosen = DEFAULT_STREAMS if streams is None else chosen_streams(streams, known)
        return cls(subject if subject is not None else "all", tuple(chosen), values, dict(known))


def _bare(flag: str, value: str) -> str:
    """``ses-01`` -> ``01``, ``desc-X`` -> ``X``, ``nii.gz`` -> ``.nii.gz``."""
    if flag == "extension":
        return value if value.startswith(".") else f".{value}"
    if flag == "ses" and value == AVERAGES:
        return value
    if flag == "ses":
        return label("ses", value)
    return value.removeprefix(f"{flag}-")


def _subdataset(stream: str, subject: str, known: Mapping[str, str | None]) -> str:
    path = known[stream]
    return subject if path is None else path


def select(content: Content, filters: Filters) -> list[Selected]:
    """The files of the chosen subjects and streams that match every filter."""
    subjects = resolve_subjects(content.root, filters.subjects)
    labels = [s.removeprefix("sub-") for s in subjects]
    scopes = list(
        dict.fromkeys(_subdataset(st, s, filters.known) for st in filters.streams for s in subjects)
    )
    layouts = [(sub, layout(content.ensure_installed(sub))) for sub in scopes]
    _check_values(layouts, labels, filters.values)
    query: dict[str, Any] = {
        ENTITIES[flag]: values for flag, values in filters.values.items() if flag != "ses"
    }
    sessions = filters.values.get("ses")
    found: dict[Path, str] = {}
    for sub, bids_layout in layouts:
        for session_query in _session_queries(sessions):
            for name in bids_layout.get(
                subject=labels, return_type="filename", **query, **session_query
            ):
                found.setdefault(Path(name), sub)
    if not found:
        given = " ".join(f"--{k} {' '.join(v)}" for k, v in filters.values.items())
        raise UsageError(
            f"no file of {', '.join(subjects)} in {', '.join(filters.streams)} matches "
            f"{given or 'these filters'} together; each value exists on its own"
        )
    return [describe_file(path, sub) for path, sub in sorted(found.items())]


def select_listed(content: Content, filters: Filters) -> list[Selected] | None:
    """What ``select`` chooses, from the listings the superdataset ships: nothing installed,
    sizes from the listings. Entities are read from each path as pybids reads them; None
    when a subdataset in scope has no usable listing and is not installed (``select`` then)."""
    subjects = resolve_subjects(content.root, filters.subjects)
    scopes = list(
        dict.fromkeys(_subdataset(st, s, filters.known) for st in filters.streams for s in subjects)
    )
    trees: dict[str, dict[str, int | None]] = {}
    for sub in scopes:
        if is_installed(content.root / sub):
            return None
        listed = listed_sizes(content.root, sub)
        if listed is None:
            return None
        trees[sub] = {p: s for p, s in listed.items() if p.split("/", 1)[0] not in IGNORED_TOP}
    labels = {s.removeprefix("sub-") for s in subjects}
    owned = {
        (sub, path): size
        for sub, files in trees.items()
        for path, size in files.items()
        if values_in(path, "sub") & labels
    }
    for flag, wanted in filters.values.items():
        known = set().union(*(_path_values(path, flag) for _, path in owned))
        for value in wanted:
            if value not in known:
                shown = sorted(
                    (f"ses-{v}" if flag == "ses" and v != AVERAGES else v) for v in known
                )
                given = f"ses-{value}" if flag == "ses" and value != AVERAGES else value
                raise unknown(flag if flag != "ses" else "session", given, shown)
    chosen = [
        Selected(content.root / sub / path, sub, size or 0, True, False)
        for (sub, path), size in sorted(owned.items())
        if all(_path_values(path, flag) & set(v) for flag, v in filters.values.items())
    ]
    if not chosen:
        given = " ".join(f"--{k} {' '.join(v)}" for k, v in filters.values.items())
        raise UsageError(
            f"no file of {', '.join(subjects)} in {', '.join(filters.streams)} matches "
            f"{given or 'these filters'} together; each value exists on its own"
        )
    return chosen


def _path_values(path: str, flag: str) -> set[str]:
    """The values of a filter's entity in ``path``, as the filters spell them (``averages``
    for a file without a session; extensions with their dot)."""
    if flag == "extension":
        return {"." + suffix_and_extension(path)[1]}
    if flag == "suffix":
        return {suffix_and_extension(path)[0]}
    found = values_in(path, flag)
    return found if found or flag != "ses" else {AVERAGES}


def _session_queries(sessions: list[str] | None) -> list[dict[str, Any]]:
    if sessions is None:
        return [{}]
    queries: list[dict[str, Any]] = []
    named = [s for s in sessions if s != AVERAGES]
    if named:
        queries.append({"session": named})
    if AVERAGES in sessions:
        queries.append({"session": Query.NONE})
    return queries


def _check_values(
    layouts: list[tuple[str, Any]], labels: list[str], values: dict[str, list[str]]
) -> None:
    for flag, wanted in values.items():
        entity = ENTITIES[flag]
        known: set[str] = set()
        for _, bids_layout in layouts:
            known |= {
                str(v) for v in bids_layout.get(subject=labels, target=entity, return_type="id")
            }
        if flag == "ses":
            known = {f"ses-{v}" for v in known} | {AVERAGES}
            wanted = [w if w == AVERAGES else f"ses-{w}" for w in wanted]
        for value in wanted:
            if value not in known:
                raise unknown(
                    flag if flag != "ses" else "session", value, sorted(known, key=str.lower)
                )


def describe_file(path: Path, subdataset: str) -> Selected:
    """A file's size (the annexed size for an annexed file) and whether it is here."""
    size = annexed_size(path)
    if size is None:
        return Selected(
            path, subdataset, path.stat().st_size if path.exists() else 0, False, path.exists()
        )
    return Selected(path, subdataset, size, True, is_present(path))
