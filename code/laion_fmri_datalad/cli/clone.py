"""``get``, ``download`` and ``info``: a user's clone, by BIDS entities.

``get`` is the strict, DataLad-native form (every filter required); ``download`` has
upstream's flags and rules (``--ses`` strict, other entities permissive, ``--include-*``).
"""

from __future__ import annotations

import argparse

from ..checks.validate import nonempty
from ..repo.annex import require_git_annex
from ..runtime.reports import Report
from .options import add_dataset, add_jobs, jobs

ENTITY_FLAGS = ("ses", "task", "space", "desc", "stat", "suffix", "extension")
RAW_FLAGS = ("run", "echo", "part")
INCLUDES = ("stimuli", "embeddings", "freesurfer", "anatomical", "raw", "localizers", "tedana")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    get = sub.add_parser("get", help="get the files of a clone that match BIDS entity filters")
    get.add_argument("--subject", nargs="+", action="extend", help="ids (sub-01 or 01) or all")
    for flag in ENTITY_FLAGS:
        get.add_argument(f"--{flag}", nargs="+", action="extend", metavar="VALUE")
    get.add_argument(
        "--stream",
        nargs="+",
        action="extend",
        help="raw, glmsingle-tedana, rois, anatomical, freesurfer, localizers, tedana, any "
        "other derivatives stream of the clone, or all (default: glmsingle-tedana rois "
        "anatomical)",
    )
    add_jobs(get, 1, "parallel transfers")
    get.add_argument("--dry-run", action="store_true", help="list what would be got, and sizes")
    add_dataset(get, "the clone")
    get.set_defaults(func=run_get)

    down = sub.add_parser(
        "download", help="upstream's download: subject streams by entity filters, --include-*"
    )
    down.add_argument("--subject", nargs="+", action="extend", help="ids (sub-01 or 01) or all")
    for flag in (*ENTITY_FLAGS, *RAW_FLAGS):
        down.add_argument(f"--{flag}", nargs="+", action="extend", metavar="VALUE")
    for name in INCLUDES:
        down.add_argument(f"--include-{name}", action="store_true", help=f"also the {name}")
    down.add_argument(
        "--n-jobs",
        "-J",
        "--jobs",
        dest="n_jobs",
        type=jobs,
        default=1,
        help="parallel transfers (default: 1)",
    )
    down.add_argument(
        "--dry-run", action="store_true", help="list what would be got, and sizes; install nothing"
    )
    add_dataset(down, "the clone")
    down.set_defaults(func=run_download)

    info = sub.add_parser("info", help="subjects, sessions, ROIs and what is present locally")
    info.add_argument("--subject")
    add_dataset(info, "the clone")
    info.set_defaults(func=run_info)


def run_get(args: argparse.Namespace) -> Report:
    from ..loaders.api.discovery import plan_get
    from ..loaders.clone.fetching import DownloadPlan, fetch

    filters = {flag: getattr(args, flag) for flag in ENTITY_FLAGS}
    content, selected = plan_get(
        args.subject or "all",
        stream=args.stream,
        dataset=args.dataset,
        dry_run=args.dry_run,
        **filters,
    )
    if args.dry_run:
        return DownloadPlan(content, selected)
    require_git_annex()
    return fetch(content, selected, jobs=args.jobs)


def run_download(args: argparse.Namespace) -> Report:
    from ..loaders.api.discovery import download, plan_download
    from ..loaders.clone.fetching import DownloadPlan

    filters = {flag: getattr(args, flag) for flag in (*ENTITY_FLAGS, *RAW_FLAGS)}
    includes = {f"include_{name}": getattr(args, f"include_{name}") for name in INCLUDES}
    if args.dry_run:
        content, selected = plan_download(
            args.subject or "all", dataset=args.dataset, **filters, **includes
        )
        return DownloadPlan(content, selected)
    require_git_annex()
    return download(
        args.subject or "all", n_jobs=args.n_jobs, dataset=args.dataset, **filters, **includes
    )


def run_info(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset, resolve_subjects
    from ..loaders.clone.info import clone_info

    root = find_superdataset(args.dataset)
    if args.subject is not None:
        nonempty(args.subject, "subject", "sub-01")
    subject = resolve_subjects(root, args.subject)[0] if args.subject is not None else None
    return clone_info(root, subject)
