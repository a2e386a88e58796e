"""The ``laion-fmri-datalad`` command line.

Each command's arguments sit beside its handler in a module of this package; a handler
returns a report (``reports.Report``), and ``main`` alone prints it and turns it into an
exit code: 0 when ``ok``, 1 when not, 2 for a value the user gave that is not allowed,
130 when interrupted. Package errors become one line, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence

from .. import __version__
from ..entry import INTERRUPTED, terminate
from ..entry import PROG as PROG  # the program name, for the docs and the tests
from ..errors import LaionFmriError
from ..repo.env import tool_env
from ..runtime.children import stop_descendants
from ..runtime.reports import Report, exit_code, render
from . import (
    access,
    analysis,
    betas,
    building,
    cache,
    clone,
    compat,
    devserver,
    provenance,
    splits,
)
from .options import OneLineParser, said

SIGPIPE_EXIT = 128 + signal.SIGPIPE  # 141: what a shell reports for a tool SIGPIPE ended
COMMAND_MODULES = (
    devserver, building, clone, betas, splits, provenance, access, cache, analysis, compat,
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description="The LAION-fMRI dataset as a DataLad superdataset."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Retries are reported by the final error, not by one warning each.
    logging.getLogger("urllib3").setLevel(logging.INFO if verbose else logging.ERROR)
    # DataLad's thread pool warns, on Ctrl-C, that it cancels its jobs: the one line we print
    # ("interrupted") says it; with --verbose the warning shows.
    logging.getLogger("datalad.parallel").setLevel(logging.INFO if verbose else logging.ERROR)
    # and Dask's nanny, that it kills a worker which did not stop in time
    logging.getLogger("distributed").setLevel(logging.INFO if verbose else logging.ERROR)
    # DataLad logs every annex transfer at INFO; show that only with --verbose.
    os.environ.setdefault("DATALAD_LOG_LEVEL", "info" if verbose else "warning")


def _set_up_process(*, loopback: bool) -> None:
    """The one change this package makes to its own process environment, here in the
    command line alone: the tools on PATH and, where the user has none, an identity, so
    DataLad's in-process calls run with what each call would be given (``repo/datalad.py``).
    The loopback allowance only for the development server's own commands."""
    os.environ.update(tool_env(loopback=loopback))


def main(argv: Sequence[str] | None = None, *, own_process: bool = False) -> int:
    """Run the command line; ``own_process`` when this process is the command (the installed
    script, ``python -m``), so that an interrupt also stops every process it started."""
    try:
        return _main(argv, own_process)
    except BrokenPipeError:
        # the reader of our output went away (`info | head -3`): stop quietly, as a tool
        # killed by SIGPIPE does
        _stdout_to_devnull()
        return SIGPIPE_EXIT
    except SystemExit:
        # argparse printed help or an error and exits; it ignores a failed write, so what it
        # printed is still buffered: flush it here, where a closed pipe can be met quietly
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_to_devnull()
            raise SystemExit(SIGPIPE_EXIT) from None
        raise


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that the flush at exit does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _main(argv: Sequence[str] | None, own_process: bool) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    _set_up_process(loopback=getattr(args, "loopback", False))
    # A plain `kill` ends the command like Ctrl-C does: servers it started are stopped.
    signal.signal(signal.SIGTERM, terminate)
    try:
        report: Report = args.func(args)
    except LaionFmriError as exc:
        return said(PROG, exc)
    except KeyboardInterrupt:
        if own_process:  # workers, transfers, servers this command started
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C waits for it
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            stop_descendants()
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    print(render(report), flush=True)
    return exit_code(report)
