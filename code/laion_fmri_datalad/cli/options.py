"""What every command shares: the parser, ``-d/--dataset``, ``-J/--jobs`` and value types.

Each value is checked in one place, before any command runs, and a bad one is a one-line
error naming the value and what is allowed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from ..checks import validate
from ..errors import LaionFmriError, UsageError

T = TypeVar("T")


def _checked(check: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a validator of ``checks/validate.py`` (its message, one line)."""

    def convert(value: str) -> T:
        try:
            return check(value)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__
    return convert


class OneLineParser(argparse.ArgumentParser):
    """Argument errors as one line (``--help`` still shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _number(value: str) -> int | str:
    return int(value) if value.isdigit() else value


jobs = _checked(lambda value: validate.jobs(_number(value), "jobs"))
port = _checked(lambda value: validate.port_number(_number(value)))
region = _checked(validate.region)
directory = _checked(validate.directory_name)
access_url = _checked(lambda value: validate.http_url(value, "--access-url"))


def add_dataset(parser: argparse.ArgumentParser, what: str, *, positional: bool = False) -> None:
    """``-d/--dataset`` (default: the dataset here); with ``positional`` the older form
    ``COMMAND [TARGET]`` keeps working (``dataset_from`` reconciles the two)."""
    parser.add_argument("-d", "--dataset", type=directory, help=f"{what} (default: the one here)")
    if positional:
        parser.add_argument(
            "target",
            type=directory,
            nargs="?",
            metavar="TARGET",
            help="the same as -d (older form)",
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


# The product's messages name Python's parameters (``dataset=PATH``); on the command line the
# same value is an option. One table, used where the command line prints an error.
OPTION_FOR_PARAMETER = {"dataset=PATH": "-d/--dataset PATH"}


def as_options(message: str) -> str:
    """``message`` with each Python parameter it names spelled as its command-line option."""
    for parameter, option in OPTION_FOR_PARAMETER.items():
        message = message.replace(parameter, option)
    return message


def said(prog: str, exc: LaionFmriError) -> int:
    """A refused or failed command: one line on stderr, and its exit code (2 for a value the
    user gave that is not allowed, 1 for a failure of the world)."""
    print(f"{prog}: error: {as_options(str(exc))}", file=sys.stderr)
    return 2 if isinstance(exc, UsageError) else 1
