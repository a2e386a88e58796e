"""The environment every git, git-annex and DataLad process of this package runs with.

Identity and the loopback allowance for git-annex are given per process through git's
``GIT_CONFIG_COUNT`` mechanism, never written to a user's global configuration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

IDENTITY_NAME = "LAION-fMRI DataLad builder"
IDENTITY_EMAIL = "laion-fmri-datalad@localhost"


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
