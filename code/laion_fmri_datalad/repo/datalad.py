"""DataLad: imported here only, called by name, results checked in one way.

``call("get", dataset=..., path=[...])`` runs ``datalad.api.get`` with results returned
(not rendered) and failures collected; ``check=True`` turns the first failure into a
``RepoError`` that names the command, the dataset and DataLad's message.

Each call gets its environment as a value (``env.tool_env``: tools on PATH, an identity only
where the user has none, the loopback allowance only when asked). DataLad starts its git and
git-annex processes with the environment of the process it runs in, so a call whose
environment is this process's own runs in-process (the command line sets itself up once, in
``cli.main``); any other runs in a child Python (``repo/datalad_child.py``) given that
environment, so that ``os.environ`` is never changed. A process whose ``PATH`` reaches the same
tools already (an activated virtual environment) counts as its own (``is_own``):
``benchmarks/README.md`` has what a child costs. The child's DataLad log goes to its
stderr, which is shown only when the call fails.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .env import tool_env, with_extra
from .errors import RepoError

Result = dict[str, Any]
FAILED = ("error", "impossible")


def _api() -> Any:
    import datalad.api

    return datalad.api


def failures(results: Iterable[Result]) -> list[Result]:
    """The results that report an error (DataLad's own failure statuses)."""
    return [r for r in results if r.get("status") in FAILED]


def result_message(result: Result) -> str:
    """The reason in a DataLad result record, on one line, each distinct line of it once
    (DataLad gives messages as ``(format, *args)`` tuples; git-annex repeats a special
    remote's error once per attempt, and DataLad may put it in both fields)."""
    parts: list[str] = []
    for field in ("message", "error_message"):
        value = result.get(field)
        if isinstance(value, tuple | list) and value:
            try:
                value = str(value[0]) % tuple(value[1:])
            except (TypeError, ValueError):
                value = " ".join(str(v) for v in value)
        for line in str(value or "").splitlines():
            line = " ".join(line.split())
            if line and line not in parts:
                parts.append(line)
    return "; ".join(parts) or f"status {result.get('status')}"


def failure_error(command: str, dataset: Path | str | None, failed: list[Result]) -> RepoError:
    """One line for the first of ``failed`` (and how many there were)."""
    first = failed[0]
    where = f" in {dataset}" if dataset is not None else ""
    more = f" ({len(failed)} failed in all)" if len(failed) > 1 else ""
    return RepoError(
        f"datalad {command} failed{where}: {first.get('path', '?')}: {result_message(first)}{more}"
    )


def is_own(env: Mapping[str, str]) -> bool:
    """Whether DataLad in this process would run its tools as ``env`` says: ``env`` is this
    process's environment, or differs from it only by what ``with_tools_on_path`` adds
    where this process reaches the same tools already: directories on ``PATH`` whose tools
    (``git*``: git-annex, its special remotes) its ``PATH`` finds, and ``MAGIC``, which the
    git-annex wheel's script sets itself (a notebook in an activated virtual environment)."""
    own = dict(os.environ)
    if dict(env) == own:
        return True
    tools = {"PATH"} if "MAGIC" in own else {"PATH", "MAGIC"}
    if {k: v for k, v in env.items() if k not in tools} != {
        k: v for k, v in own.items() if k not in tools
    }:
        return False
    return _reachable(env.get("PATH", ""), own.get("PATH", ""))


@functools.cache
def _reachable(wanted: str, path: str) -> bool:
    """Whether every ``git*`` tool in the directories ``wanted`` adds to ``path`` is found on
    ``path`` too."""
    have = path.split(os.pathsep)
    for directory in (d for d in wanted.split(os.pathsep) if d and d not in have):
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            tool = entry.name
            executable = tool.startswith("git") and os.access(entry.path, os.X_OK)
            if executable and shutil.which(tool, path=path) is None:
                return False
    return True


def iter_results(
    command: str,
    *,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> Iterator[Result]:
    """``datalad.api.<command>(**kwargs)``'s results as they come; failures included.
    ``loopback`` lets git-annex reach the development server for this call only;
    ``extra_env`` adds variables for this call only (a token for a special remote)."""
    where = kwargs.get("dataset") or kwargs.get("path")
    repo = Path(where) if isinstance(where, str | Path) else None
    env = tool_env(repo if repo is not None and repo.is_dir() else None, loopback=loopback)
    env = with_extra(env, extra_env)
    options = {
        "result_renderer": "disabled",
        "on_failure": "ignore",
        "return_type": "generator",
        "result_xfm": None,  # result records, never Dataset objects (create and clone's)
    }
    if is_own(env):
        function = getattr(_api(), command)  # imported first: DataLad sets its log level then
        with _quiet_datalad():
            yield from function(**kwargs, **options)
        return
    yield from _in_child(command, {**kwargs, **options}, env)


@contextmanager
def _quiet_datalad() -> Iterator[None]:
    """DataLad's own INFO lines ("Completed clone attempts", "Configure additional
    publication dependency") stay out of a user's notebook while the call runs: this
    package reports what it does itself. A level the user chose (``DATALAD_LOG_LEVEL``, or
    set on the ``datalad`` logger) is kept."""
    logger = logging.getLogger("datalad")
    if "DATALAD_LOG_LEVEL" in os.environ or logger.getEffectiveLevel() > logging.INFO:
        yield
        return
    before = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(before)


def _in_child(command: str, kwargs: dict[str, Any], env: Mapping[str, str]) -> Iterator[Result]:
    request = json.dumps({"command": command, "kwargs": kwargs}, default=str)
    argv = [sys.executable, "-m", "laion_fmri_datalad.repo.datalad_child"]
    with (
        tempfile.TemporaryFile() as log,
        subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=dict(env),
            text=True,
        ) as child,
    ):
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(request)
        child.stdin.close()
        for line in child.stdout:
            if line.strip():
                yield json.loads(line)
        code = child.wait()
        log.seek(0)
        said = log.read().decode(errors="replace").strip().splitlines()
    if code != 0:
        last = " ".join((said or ["no message"])[-1].split())
        raise RepoError(f"datalad {command} failed in a child process (exit code {code}): {last}")


def call(
    command: str,
    *,
    check: bool = True,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
    **kwargs: Any,
) -> list[Result]:
    """All results of ``datalad.api.<command>(**kwargs)``; with ``check`` a failure
    raises a ``RepoError``."""
    results = list(iter_results(command, loopback=loopback, extra_env=extra_env, **kwargs))
    failed = failures(results)
    if check and failed:
        raise failure_error(command, kwargs.get("dataset") or kwargs.get("path"), failed)
    return results


def run_logged(
    argv: list[str],
    cwd: Path,
    log: Path,
    *,
    loopback: bool = False,
    extra_env: Mapping[str, str] | None = None,
) -> int:
    """``datalad ARGV`` as its own process in ``cwd``, everything it and the command it
    runs print appended to ``log``; its exit status (for ``datalad run``, whose command's
    output is the log a user reads when a job fails)."""
    env = with_extra(tool_env(cwd, loopback=loopback), extra_env)
    with log.open("ab") as out:
        done = subprocess.run(
            ["datalad", *argv], cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    return done.returncode
