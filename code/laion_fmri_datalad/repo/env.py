"""The environment every git, git-annex and DataLad process of this package runs with.

Identity and the loopback allowance for git-annex are given per process through git's
``GIT_CONFIG_COUNT`` mechanism, never written to a user's global configuration.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

IDENTITY_NAME = "LAION-fMRI DataLad builder"
IDENTITY_EMAIL = "laion-fmri-datalad@localhost"
IDENTITY_VARIABLES = (
    "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
)  # fmt: skip


def with_tools_on_path(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ``os.environ``) with this Python's scripts directory on PATH:
    git-annex, its special remotes and SeaweedFS come as wheels installed there."""
    env = dict(os.environ if base is None else base)
    scripts = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        env["PATH"] = scripts + (os.pathsep + path if path else "")
    return env


def process_env(
    base: Mapping[str, str] | None = None,
    *,
    allow_loopback: bool = True,
    identity: bool = True,
) -> dict[str, str]:
    """Return ``base`` (default: ``os.environ``) plus per-process git configuration.

    Entries already given through ``GIT_CONFIG_COUNT`` are kept; ours are appended.
    """
    env = with_tools_on_path(os.environ if base is None else base)
    extra: list[tuple[str, str]] = []
    if allow_loopback:
        extra.append(("annex.security.allowed-ip-addresses", "127.0.0.1 ::1"))
    if identity:
        extra += [("user.name", IDENTITY_NAME), ("user.email", IDENTITY_EMAIL)]
        env.setdefault("GIT_AUTHOR_NAME", IDENTITY_NAME)
        env.setdefault("GIT_AUTHOR_EMAIL", IDENTITY_EMAIL)
        env.setdefault("GIT_COMMITTER_NAME", IDENTITY_NAME)
        env.setdefault("GIT_COMMITTER_EMAIL", IDENTITY_EMAIL)
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    given = {
        (env.get(f"GIT_CONFIG_KEY_{i}"), env.get(f"GIT_CONFIG_VALUE_{i}")) for i in range(count)
    }
    for key, value in extra:
        if (key, value) in given:  # applied before: the environment stays the same size
            continue
        env[f"GIT_CONFIG_KEY_{count}"] = key
        env[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def apply_to_current_process(*, allow_loopback: bool = True) -> None:
    """Give this process (and the DataLad calls it makes in-process) the same environment."""
    os.environ.update(process_env(allow_loopback=allow_loopback))


def has_identity(base: Mapping[str, str] | None = None) -> bool:
    """Whether git can name a committer in this environment (its config, the
    ``GIT_COMMITTER_*`` variables, or what it can guess from the host), as ``git var``
    answers: git-annex needs one to record anything on its branch."""
    env = with_tools_on_path(os.environ if base is None else base)
    done = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], capture_output=True, env=env)
    return done.returncode == 0


@contextmanager
def identity_for_tools() -> Iterator[None]:
    """While the block runs, give this process (and the git and git-annex processes it
    starts, DataLad's included) an identity, when git has none: cloning a subdataset runs
    ``git annex init``, which commits to the git-annex branch. Only variables of this
    process are set, and only for the block; no configuration file is written, and a
    user's own identity is never replaced."""
    if has_identity():
        yield
        return
    saved = {name: os.environ.get(name) for name in IDENTITY_VARIABLES}
    for name in IDENTITY_VARIABLES:
        os.environ[name] = IDENTITY_NAME if name.endswith("NAME") else IDENTITY_EMAIL
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
