"""Upstream's discovery and download functions, answered from a clone and fetched with DataLad.

``download`` narrows by BIDS entities like upstream's, but resolves them with pybids on the
clone and gets exactly the matching files through DataLad; ``get_subjects``, ``get_rois``
and ``describe`` read the clone instead of listing the bucket.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ...checks import validate
from ...layout.discovery import as_list, find_superdataset, resolve_subjects, subjects_in
from ...runtime.reports import render
from ..clone.content import Content
from ..clone.fetching import FetchSummary, fetch
from ..clone.info import clone_info
from ..clone.selection import Filters, Selected, select, select_listed
from ..clone.streams import clone_streams

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


def plan_get(
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
    dry_run: bool = False,
) -> tuple[Content, list[Selected]]:
    """The files ``laion-fmri-datalad get`` fetches for these filters (the subdatasets
    involved installed, no content got): its plan. For its ``--dry-run``, from the listings
    the superdataset ships where no subdataset in scope is installed: nothing installed."""
    content = Content(find_superdataset(dataset))
    filters = Filters.of(
        subject,
        stream,
        known=clone_streams(content.root),
        ses=ses,
        task=task,
        space=space,
        desc=desc,
        stat=stat,
        suffix=suffix,
        extension=extension,
    )
    listed = select_listed(content, filters) if dry_run else None
    return content, listed if listed is not None else select(content, filters)


def download(
    subject: str | int | Sequence[str | int] = "all",
    ses: Any = None,
    task: Any = None,
    space: Any = None,
    desc: Any = None,
    stat: Any = None,
    suffix: Any = None,
    extension: Any = None,
    include_stimuli: bool = False,
    include_embeddings: bool = False,
    include_freesurfer: bool = False,
    include_anatomical: bool = False,
    include_raw: bool = False,
    include_localizers: bool = False,
    n_jobs: int = 1,
    *,
    run: Any = None,
    echo: Any = None,
    part: Any = None,
    dataset: Dataset = None,
    stream: Any = None,
    include_tedana: bool = False,
) -> FetchSummary:
    """Get the files of ``subject`` upstream's ``download`` would, with DataLad, ``n_jobs``
    transfers at a time; files already present are not transferred again.

    Per subject the GLMsingle derivatives and ROIs (plus the ``res-1pt8`` brain mask the
    loaders read), and the streams ``include_*`` adds: anatomical, FreeSurfer, localizers,
    raw (``run``, ``echo``, ``part`` filter it), tedana's optimally combined BOLD
    (``include_tedana``, this package's: upstream's does not download it yet), the gated
    images with the stimulus metadata, the embeddings. Values may be given with or without
    their entity prefix, one or several per filter. ``ses`` is strict (``"averages"`` adds
    the files without a session); the other entities are permissive, as upstream's: a file
    without the entity passes. ``stream`` (this package's) names subdatasets instead of the
    ``include_*`` flags. For DataLad's strict form, with every filter required, use ``get``;
    for the list with sizes and nothing fetched, ``plan_download``."""
    validate.jobs(n_jobs)
    content, selected = plan_download(
        subject, ses, task, space, desc, stat, suffix, extension, include_stimuli,
        include_embeddings, include_freesurfer, include_anatomical, include_raw,
        include_localizers, run=run, echo=echo, part=part, dataset=dataset, stream=stream,
        include_tedana=include_tedana, dry_run=False,
    )  # fmt: skip
    return fetch(content, selected, jobs=n_jobs)


def plan_download(
    subject: str | int | Sequence[str | int] = "all",
    ses: Any = None,
    task: Any = None,
    space: Any = None,
    desc: Any = None,
    stat: Any = None,
    suffix: Any = None,
    extension: Any = None,
    include_stimuli: bool = False,
    include_embeddings: bool = False,
    include_freesurfer: bool = False,
    include_anatomical: bool = False,
    include_raw: bool = False,
    include_localizers: bool = False,
    *,
    run: Any = None,
    echo: Any = None,
    part: Any = None,
    dataset: Dataset = None,
    stream: Any = None,
    include_tedana: bool = False,
    dry_run: bool = True,
) -> tuple[Content, list[Selected]]:
    """What ``download`` with these arguments gets, each file with its size; with
    ``dry_run`` (the default) nothing is installed where the shipped listings answer."""
    from ..clone.download import Includes, filter_values, plan

    filters = filter_values(
        ses=ses,
        task=task,
        space=space,
        desc=desc,
        stat=stat,
        suffix=suffix,
        extension=extension,
        run=run,
        echo=echo,
        part=part,
    )
    include = Includes(
        include_stimuli,
        include_embeddings,
        include_freesurfer,
        include_anatomical,
        include_raw,
        include_localizers,
        include_tedana,
    )
    content = Content(find_superdataset(dataset))
    wanted = [subject] if isinstance(subject, int) and not isinstance(subject, bool) else subject
    return content, plan(content, as_subjects(wanted), filters, include, stream, dry_run)


def as_subjects(value: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    return as_list(value, "subject")


__all__ = ["describe", "download", "get_rois", "get_subjects", "plan_download", "plan_get"]
