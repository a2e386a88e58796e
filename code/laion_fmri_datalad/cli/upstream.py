"""``laion-fmri``: upstream's command line, on a clone, inside ``laion-fmri-datalad compat``.

``config --data-dir``, ``download`` (upstream's flags, ``laion-fmri-datalad download``),
``download-stimuli``, ``download-embeddings`` and ``info``; the data directory is the clone
the runner named. Never installed under upstream's name: the runner puts a launcher of
``python -m laion_fmri_datalad.cli.upstream`` on the command's ``PATH``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..entry import INTERRUPTED
from ..errors import LaionFmriError, UsageError
from ..runtime.reports import Done, Report
from .options import OneLineParser, said

PROG = "laion-fmri"


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="upstream's laion-fmri command, served on a DataLad clone"
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    config = sub.add_parser("config", help="the data directory (here: the clone)")
    config.add_argument("--data-dir", required=True)
    sub.add_parser("download", help="upstream's download: laion-fmri-datalad download's flags")
    sub.add_parser("download-stimuli", help="the gated images and the stimulus metadata")
    embeddings = sub.add_parser("download-embeddings", help="the embedding files")
    embeddings.add_argument("--models", nargs="+", default=["all"])
    info = sub.add_parser("info", help="subjects, sessions and ROIs of the clone")
    info.add_argument("--subject")
    return parser


def _config(data_dir: str) -> Report:
    from ..compat.datadir import data_dir as current

    clone = current()
    if Path(data_dir).expanduser().absolute() != clone:
        raise UsageError(
            f"data directory {data_dir!r} is not the clone this command runs on ({clone}); "
            f"run it with laion-fmri-datalad compat -d {data_dir} -- ..."
        )
    return Done(f"Data directory set to: {data_dir}")


def _files(got: dict[str, Path]) -> Report:
    return Done("\n".join(f"{name}: {path}" for name, path in got.items()))


def _run(args: argparse.Namespace, rest: list[str]) -> Report | int:
    from ..compat import api, embeddings
    from ..compat.datadir import data_dir

    if args.command == "download":
        from . import main

        return main(["download", "-d", str(data_dir()), *rest])
    if rest:
        raise UsageError(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "config":
        return _config(args.data_dir)
    if args.command == "download-stimuli":
        return _files(api.download_stimuli())
    if args.command == "download-embeddings":
        models = args.models[0] if args.models == ["all"] else args.models
        return _files(embeddings.download_embeddings(models))
    api.describe(args.subject)
    return Done("")


def main(argv: Sequence[str] | None = None) -> int:
    from ..runtime.reports import exit_code, render

    args, rest = _parser().parse_known_args(argv)
    try:
        report = _run(args, rest)
    except LaionFmriError as exc:
        return said(PROG, exc)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    if isinstance(report, int):
        return report
    text = render(report)
    if text:
        print(text, flush=True)
    return exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
