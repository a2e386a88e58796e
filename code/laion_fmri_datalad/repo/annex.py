"""git-annex: its version check, and the few commands the product runs directly."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import LaionFmriError
from .env import with_tools_on_path
from .errors import command_failed
from .git import git, run

MIN_GIT_ANNEX = "10.20230126"
_NUMBERS = re.compile(r"\d+")


def parse_version(text: str) -> tuple[int, ...]:
    """``'10.20230126-g1234'`` -> ``(10, 20230126)``: numbers compared as numbers, so that
    git-annex 8.20211231 is older than 10.20230126 (as strings it would not be)."""
    release = text.strip().split("-", 1)[0]
    return tuple(int(n) for n in _NUMBERS.findall(release))


def require_git_annex() -> str:
    """The git-annex version, or a one-line error when git-annex is missing or too old."""
    env = with_tools_on_path()
    if shutil.which("git-annex", path=env["PATH"]) is None:
        raise LaionFmriError(
            "git-annex not found on PATH; install the 'git-annex' package (pip install git-annex)"
        )
    done = subprocess.run(
        ["git-annex", "version", "--raw"], capture_output=True, text=True, env=env
    )
    version = done.stdout.strip()
    found = parse_version(version)
    if done.returncode != 0 or not found or found < parse_version(MIN_GIT_ANNEX):
        raise LaionFmriError(
            f"git-annex {version or '(unknown)'} is too old; {MIN_GIT_ANNEX} or newer is needed"
        )
    return version


def key_size(key: str) -> int:
    """The size a git-annex key records: ``MD5E-s1234--...`` -> 1234."""
    field = key.split("--", 1)[0].split("-")[1]
    return int(field[1:])


def annex(
    repo: Path, *args: str, loopback: bool = False, extra_env: Mapping[str, str] | None = None
) -> str:
    """``git annex ARGS`` in ``repo``; a ``RepoError`` when it fails. ``loopback`` lets it
    reach the development server (``env.tool_env``)."""
    return git(repo, "annex", *args, loopback=loopback, extra_env=extra_env)


def fsck(repo: Path, paths: Sequence[str]) -> list[dict[str, Any]]:
    """``git annex fsck --json`` records of ``paths``. A file that fails its check is a
    record with ``success: false``; fsck failing as a whole (no repository, a broken
    index, ...) is a ``RepoError``, never an empty, successful-looking answer."""
    done = run(repo, "annex", "fsck", "--json", "--", *paths)
    records = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    if done.returncode != 0 and all(r.get("success") for r in records):
        raise command_failed(["git", "annex", "fsck", *paths], repo, done.stderr, done.returncode)
    return records


def trust_special_remote(repo: Path, name: str) -> None:
    """Mark the special remote ``name``, enabled from the git-annex branch of a dataset of
    ours, as verified: newer git-annex refuses to push past an unverified one ("Push
    prevented due to an unverified special remote"). Older ones have no such check."""

    done = run(repo, "annex", "verifyremote", name)
    if done.returncode != 0:
        if b"verifyremote" in done.stderr and b"Invalid argument" in done.stderr:
            return  # a git-annex from before the check
        raise command_failed(
            ["git", "annex", "verifyremote", name], repo, done.stderr, done.returncode
        )
    found = re.search(r"--safe (\S+)", done.stdout.decode() + done.stderr.decode())
    if found:
        annex(repo, "verifyremote", name, "--safe", found.group(1))


def key_urls(repo: Path, keys: Sequence[str]) -> dict[str, list[str]]:
    """The URLs git-annex records for each of ``keys`` in ``repo`` (its web remote's: for
    this dataset's files, the bucket's versioned URLs), in one ``whereis --batch-keys``."""
    if not keys:
        return {}
    out = git(repo, "annex", "whereis", "--json", "--batch-keys", input="\n".join(keys).encode())
    found: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.strip():
            record = json.loads(line)
            urls = [u for where in record.get("whereis", []) for u in where.get("urls", [])]
            found[str(record.get("key"))] = [
                u for u in urls if u.startswith(("http://", "https://"))
            ]
    return found
