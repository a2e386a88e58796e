"""Upstream's discovery and download functions, answered from a clone and fetched with DataLad.

``download`` narrows by BIDS entities like upstream's, but resolves them with pybids on the
clone and gets exactly the matching files through DataLad; ``get_subjects``, ``get_rois``
and ``describe`` read the clone instead of listing the bucket.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..reports import render
from .dataset import Content, find_superdataset, resolve_subjects, subjects_in
from .fetching import FetchSummary, fetch
from .info import clone_info
from .selection import Filters, Selected, select

Dataset = str | os.PathLike[str] | None


def get_subjects(dataset: Dataset = None) -> list[str]:
    """The subjects of the superdataset (no subdataset needs to be installed)."""
    return subjects_in(find_superdataset(dataset))


def get_rois(
    subject: str | None = None, category: str | None = None, dataset: Dataset = None
) -> list[str]:
    """ROI names of a subject (default: the first), optionally of one category."""
    from .subject import load_subject

    root = find_superdataset(dataset)
    name = resolve_subjects(root, subject)[0] if subject is not None else subjects_in(root)[0]
    return load_subject(name, root).get_available_rois(category)


def describe(dataset: Dataset = None, subject: str | None = None) -> None:
    """Print subjects, sessions, ROIs per category and what is present locally."""
    root = find_superdataset(dataset)
    chosen = resolve_subjects(root, subject)[0] if subject is not None else None
    print(render(clone_info(root, chosen)))


def plan_download(
    subject: Any = "all",
    ses: Any = None,
    task: Any = None,
    space: Any = None,
    desc: Any = None,
    stat: Any = None,
    suffix: Any = None,
    extension: Any = None,
    stream: Any = None,
    dataset: Dataset = None,
) -> tuple[Content, list[Selected]]:
    """The files ``download`` would get (installing the subdatasets involved, no content)."""
    content = Content(find_superdataset(dataset))
    filters = Filters.of(
        subject, stream, ses=ses, task=task, space=space, desc=desc, stat=stat,
        suffix=suffix, extension=extension,
    )  # fmt: skip
    return content, select(content, filters)


def download(
    subject: str | Sequence[str] = "all",
    ses: Any = None,
    task: Any = None,
    space: Any = None,
    desc: Any = None,
    stat: Any = None,
    suffix: Any = None,
    extension: Any = None,
    n_jobs: int = 1,
    dataset: Dataset = None,
    stream: Any = None,
) -> FetchSummary:
    """Get the files of ``subject`` matching every filter, ``n_jobs`` transfers at a time.

    Values may be given with or without their entity prefix (``ses-01`` or ``01``), one or
    several per filter; ``ses="averages"`` selects subject-level files. ``stream`` picks
    subdatasets (default: ``glmsingle-tedana``, ``rois``, ``anatomical``; also ``raw``,
    ``freesurfer`` or ``all``). Files already present are not transferred again."""
    content, selected = plan_download(
        subject, ses, task, space, desc, stat, suffix, extension, stream, dataset
    )
    return fetch(content, selected, jobs=n_jobs)


__all__ = ["describe", "download", "get_rois", "get_subjects", "plan_download"]
