"""``splits``: make the regenerated split set, import the published one, compare the two.

``splits make [-d DATASET]`` runs the split script under ``datalad run``;
``splits import SOURCE ... [-d DATASET]`` imports a published set (a directory or the
URLs of its files); ``splits compare [-d DATASET]`` reports, per pool and split, whether
the regenerated split is identical to the published one. ``splits`` with no subcommand
(``splits [-d DATASET]``, or the older ``splits TARGET``) is ``splits make``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checks import validate
from ..repo.annex import require_git_annex
from ..runtime.reports import Report
from .options import OneLineParser, add_dataset, dataset_from

SUBCOMMANDS = ("make", "import", "compare")


class DefaultMakeParser(OneLineParser):
    """The ``splits`` parser: without a subcommand, the arguments are ``make``'s."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> tuple[argparse.Namespace, list[str]]:
        given = list(args or [])
        if not given or given[0] not in (*SUBCOMMANDS, "-h", "--help"):
            given = ["make", *given]
        return super().parse_known_args(given, namespace)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # the one parser of another class than its siblings: swap it in for this parser only
    sibling_class = sub._parser_class
    sub._parser_class = DefaultMakeParser
    try:
        splits = sub.add_parser(
            "splits",
            help="make, import and compare the train/test splits",
            description=__doc__.split("\n\n")[1].replace("``", "`"),
        )
    finally:
        sub._parser_class = sibling_class
    commands = splits.add_subparsers(
        dest="splits_command", required=True, parser_class=OneLineParser
    )

    make = commands.add_parser("make", help="make the regenerated splits under datalad run")
    add_dataset(make, "the superdataset", positional=True)
    make.set_defaults(func=run_make)

    imported = commands.add_parser(
        "import", help="import a published split set into derivatives/splits/published"
    )
    imported.add_argument(
        "source",
        nargs="+",
        metavar="SOURCE",
        help="a directory of <pool>/<split>.json files, or the http(s) URLs of such files",
    )
    add_dataset(imported, "the superdataset")
    imported.set_defaults(func=run_import)

    compare = commands.add_parser("compare", help="compare the regenerated and published splits")
    add_dataset(compare, "the superdataset")
    compare.add_argument(
        "--strict", action="store_true", help="fail unless every split is identical"
    )
    compare.set_defaults(func=run_compare)


def run_make(args: argparse.Namespace) -> Report:
    from ..splits.run import make_splits

    require_git_annex()
    dataset = dataset_from(args)
    return make_splits(dataset)


def run_import(args: argparse.Namespace) -> Report:
    from ..splits.published import import_splits

    require_git_annex()
    dataset = dataset_from(args)
    return import_splits(dataset, args.source)


def run_compare(args: argparse.Namespace) -> Report:
    from ..splits.compare import compare

    given = dataset_from(args)
    here = given == Path()
    what = "the current directory" if here else "-d/--dataset"
    dataset = validate.existing_dataset(given.absolute() if here else given, what)
    return compare(dataset, strict=args.strict)
