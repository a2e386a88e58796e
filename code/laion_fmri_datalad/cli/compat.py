"""``compat``: run code written for upstream's ``laion_fmri`` unchanged on a clone."""

from __future__ import annotations

import argparse

from ..runtime.reports import Report
from .options import add_dataset


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    compat = sub.add_parser(
        "compat",
        help="run a command written for upstream's laion_fmri on the clone, unchanged",
        description="Run COMMAND (after --) with `import laion_fmri` giving this package's "
        "compatibility layer, `laion-fmri` on PATH, and the clone as the data directory.",
    )
    add_dataset(compat, "the clone")
    compat.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    compat.set_defaults(func=run_compat)


def run_compat(args: argparse.Namespace) -> Report:
    from ..compat.runner import run
    from ..layout.discovery import find_superdataset

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    run(find_superdataset(args.dataset), command)
