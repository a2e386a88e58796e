"""The DataLad Python API: imported here only, called by name, results checked in one way.

``call("get", dataset=..., path=[...])`` runs ``datalad.api.get`` with results returned
(not rendered) and failures collected; ``check=True`` turns the first failure into a
``RepoError`` that names the command, the dataset and DataLad's message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .env import identity_for_tools, with_tools_on_path
from .errors import RepoError

Result = dict[str, Any]
FAILED = ("error", "impossible")


def _api() -> Any:
    # DataLad runs git-annex from PATH; the wheel puts it beside this Python.
    os.environ["PATH"] = with_tools_on_path()["PATH"]
    import datalad.api

    return datalad.api


def failures(results: Iterable[Result]) -> list[Result]:
    """The results that report an error (DataLad's own failure statuses)."""
    return [r for r in results if r.get("status") in FAILED]


def result_message(result: Result) -> str:
    """The reason in a DataLad result record, on one line (DataLad gives messages as
    ``(format, *args)`` tuples)."""
    parts: list[str] = []
    for field in ("message", "error_message"):
        value = result.get(field)
        if isinstance(value, tuple | list) and value:
            try:
                value = str(value[0]) % tuple(value[1:])
            except (TypeError, ValueError):
                value = " ".join(str(v) for v in value)
        if value:
            parts.append(str(value))
    text = "; ".join(parts) or f"status {result.get('status')}"
    return " ".join(text.split())


def failure_error(command: str, dataset: Path | str | None, failed: list[Result]) -> RepoError:
    """One line for the first of ``failed`` (and how many there were)."""
    first = failed[0]
    where = f" in {dataset}" if dataset is not None else ""
    more = f" ({len(failed)} failed in all)" if len(failed) > 1 else ""
    return RepoError(
        f"datalad {command} failed{where}: {first.get('path', '?')}: {result_message(first)}{more}"
    )


def iter_results(command: str, **kwargs: Any) -> Iterator[Result]:
    """``datalad.api.<command>(**kwargs)``'s results as they come; failures included.

    Where git has no identity (a HOME without one, common on clusters), the command runs
    with one of this package's, for its own processes only (``env.identity_for_tools``)."""
    function = getattr(_api(), command)
    with identity_for_tools():
        yield from function(
            **kwargs,
            result_renderer="disabled",
            on_failure="ignore",
            return_type="generator",
            result_xfm=None,  # result records, never Dataset objects (create and clone's)
        )


def call(command: str, *, check: bool = True, **kwargs: Any) -> list[Result]:
    """All results of ``datalad.api.<command>(**kwargs)``; with ``check`` a failure
    raises a ``RepoError``."""
    results = list(iter_results(command, **kwargs))
    failed = failures(results)
    if check and failed:
        raise failure_error(command, kwargs.get("dataset") or kwargs.get("path"), failed)
    return results


def run_logged(argv: list[str], cwd: Path, log: Path) -> int:
    """``datalad ARGV`` as its own process in ``cwd``, everything it and the command it
    runs print appended to ``log``; its exit status (for ``datalad run``, whose command's
    output is the log a user reads when a job fails)."""
    import subprocess

    from .env import process_env

    with log.open("ab") as out:
        done = subprocess.run(
            ["datalad", *argv], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=process_env()
        )
    return done.returncode
