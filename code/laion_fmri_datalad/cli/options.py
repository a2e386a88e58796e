"""What every command shares: the parser, ``-d/--dataset``, ``-J/--jobs`` and value types.

Each value is checked in one place, before any command runs, and a bad one is a one-line
error naming the value and what is allowed.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from ..errors import UsageError

MAX_JOBS = 64


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def jobs(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"jobs '{value}' is not allowed; use 1-{MAX_JOBS}")
    return int(value)


def port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port '{value}' is not a number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port {number} is not allowed; use 1-65535")
    return number


def add_dataset(parser: argparse.ArgumentParser, what: str, *, positional: bool = False) -> None:
    """``-d/--dataset`` (default: the dataset here); with ``positional`` the older form
    ``COMMAND [TARGET]`` keeps working (``dataset_from`` reconciles the two)."""
    parser.add_argument("-d", "--dataset", type=Path, help=f"{what} (default: the one here)")
    if positional:
        parser.add_argument(
            "target", type=Path, nargs="?", metavar="TARGET", help="the same as -d (older form)"
        )


def add_jobs(parser: argparse.ArgumentParser, default: int, what: str) -> None:
    parser.add_argument(
        "-J", "--jobs", type=jobs, default=default, help=f"{what} at once (default: {default})"
    )


def dataset_from(args: argparse.Namespace) -> Path:
    """``-d`` or the positional TARGET (not two different ones), else the current
    directory (the builder's commands work where they are run)."""
    given = [p for p in (args.dataset, getattr(args, "target", None)) if p is not None]
    if len(given) == 2 and given[0].absolute() != given[1].absolute():
        raise UsageError(f"two datasets given, -d {given[0]} and TARGET {given[1]}; give one")
    return given[0] if given else Path()
