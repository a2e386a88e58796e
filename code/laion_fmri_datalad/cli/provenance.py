"""``release``, ``cite`` and ``verify``: what is tagged, cited and rerun (``splits`` is in
``cli/splits.py``)."""

from __future__ import annotations

import argparse

from ..repo.annex import require_git_annex
from ..runtime.reports import Done, Report
from .options import add_dataset, dataset_from


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    release = sub.add_parser("release", help="tag a release of the superdataset and subdatasets")
    release.add_argument("version", help="e.g. 1.0.0 or v1.0.0")
    add_dataset(release, "the superdataset")
    release.set_defaults(func=run_release)

    cite = sub.add_parser("cite", help="the citation of the checked-out version")
    cite.add_argument("--format", choices=("text", "bibtex", "cff"), default="text")
    add_dataset(cite, "the clone")
    cite.set_defaults(func=run_cite)

    checkout = sub.add_parser(
        "checkout",
        help="move a clone to a release, branch or commit with every installed subdataset at "
        "the commit it records (a plain git checkout leaves them where they were)",
    )
    checkout.add_argument("revision", help="a release tag (1.0.0), a branch or a commit")
    add_dataset(checkout, "the clone")
    checkout.set_defaults(func=run_checkout)

    verify = sub.add_parser("verify", help="rerun recorded datalad run commits and compare outputs")
    verify.add_argument("revision", nargs="?", default="HEAD")
    verify.add_argument(
        "--allow-software-drift",
        action="store_true",
        help="rerun analysis jobs even under software other than their pin (and say what differs)",
    )
    verify.add_argument(
        "--since",
        metavar="REV",
        help="only the run commits after REV (as datalad rerun --since): the newest jobs of an "
        "analysis, not all of them again",
    )
    add_dataset(verify, "the dataset")
    verify.set_defaults(func=run_verify)


def run_release(args: argparse.Namespace) -> Report:
    from ..provenance.release import release

    dataset = dataset_from(args)
    return release(dataset, args.version)


def run_cite(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset
    from ..provenance.cite import render

    return Done(render(find_superdataset(args.dataset), args.format))


def run_checkout(args: argparse.Namespace) -> Report:
    from ..layout.discovery import find_superdataset
    from ..repo.pins import move_to

    root = find_superdataset(args.dataset)
    moved = move_to(root, args.revision)
    shown = f": {' '.join(moved)}" if moved else ""
    return Done(
        f"{root} at {args.revision}; {len(moved)} installed subdatasets moved to the commits "
        f"it records{shown} (datalad get fetches this version's files)"
    )


def run_verify(args: argparse.Namespace) -> Report:
    from ..provenance.rerun import verify_runs

    require_git_annex()
    dataset = dataset_from(args)
    return verify_runs(
        dataset, args.revision, allow_drift=args.allow_software_drift, since=args.since
    )
