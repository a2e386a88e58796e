"""The software an analysis runs with, pinned: Python, this package (version and commit) and
every package it depends on at run time, each at its exact version.

``analysis create`` (and ``analysis pin``) writes them to the analysis dataset's
``code/environment.txt``, one ``name==version`` line each; every job's script checks the
running environment against that file before it reads anything, so a ``datalad rerun`` or a
``verify`` under other software stops with one line naming what differs, and runs anyway
only when ``$LAION_FMRI_SOFTWARE_DRIFT`` is ``allow`` (saying what differs). Each job's run
record carries the same lines in its commit message.
"""

from __future__ import annotations

import json
import os
import platform
import re
from functools import cache
from importlib import metadata
from pathlib import Path

from ..config.variables import SOFTWARE_DRIFT
from ..errors import UsageError
from ..repo.git import git_or_none

PACKAGE = "laion-fmri-datalad"
ENVIRONMENT = "code/environment.txt"
ALLOW = "allow"
HEADER = (
    "# The exact software of this analysis's jobs (laion-fmri-datalad analysis pin); every job\n"
    "# checks it before it runs. One name==version per line.\n"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _runtime_requirements(dist: metadata.Distribution) -> list[str]:
    """The names ``dist`` requires without extras (markers on other extras skipped)."""
    names = []
    for requirement in dist.requires or []:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue
        found = _NAME.match(spec.strip())
        if found:
            names.append(_canonical(found.group(0)))
    return names


def _closure() -> dict[str, str]:
    """``{name: version}`` of this package's run-time dependencies, transitively."""
    seen: dict[str, str] = {}
    todo = _runtime_requirements(metadata.distribution(PACKAGE))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            seen[name] = "absent"
            continue
        seen[name] = dist.version
        todo += _runtime_requirements(dist)
    return seen


def package_commit() -> str:
    """The git commit this package was installed from (``+dirty`` with uncommitted changes
    to tracked files), from pip's record of an editable or VCS install; ``unknown`` else."""
    dist = metadata.distribution(PACKAGE)
    try:
        record = json.loads(dist.read_text("direct_url.json") or "{}")
    except json.JSONDecodeError:
        record = {}
    commit = str(record.get("vcs_info", {}).get("commit_id", ""))
    if commit:
        return commit
    url = str(record.get("url", ""))
    if not url.startswith("file://"):
        return "unknown"
    source = Path(url.removeprefix("file://"))
    head = git_or_none(source, "rev-parse", "HEAD")
    if not head:
        return "unknown"
    dirty = git_or_none(source, "status", "--porcelain", "--untracked-files=no")
    return head + ("+dirty" if dirty else "")


@cache
def current() -> dict[str, str]:
    """The running software: ``python``, this package, its commit and its dependencies."""
    found = {
        "python": platform.python_version(),
        PACKAGE: metadata.version(PACKAGE),
        f"{PACKAGE}-commit": package_commit(),
    }
    found.update(sorted(_closure().items()))
    return found


def render(software: dict[str, str]) -> str:
    return HEADER + "".join(f"{name}=={version}\n" for name, version in software.items())


def parse(text: str) -> dict[str, str]:
    pinned: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.strip()] = version.strip()
    return pinned


def write_pin(root: Path) -> Path:
    """Write the running software to ``root/code/environment.txt``."""
    path = root / ENVIRONMENT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(current()))
    return path


def pinned(root: Path) -> dict[str, str]:
    path = root / ENVIRONMENT
    if not path.is_file():
        raise UsageError(
            f"{root} has no {ENVIRONMENT}; pin its software with "
            f"`laion-fmri-datalad analysis pin -d {root}`"
        )
    return parse(path.read_text())


def differences(pin: dict[str, str], running: dict[str, str]) -> list[str]:
    """``name VERSION here, PINNED pinned`` for each package that differs."""
    out = []
    for name in sorted(set(pin) | set(running)):
        here, there = running.get(name, "absent"), pin.get(name, "absent")
        if here != there:
            out.append(f"{name} {here} here, {there} pinned")
    return out


def check(root: Path) -> list[str]:
    """Compare the running software with ``root``'s pin: nothing when they agree; a
    ``UsageError`` naming the differences, unless ``$LAION_FMRI_SOFTWARE_DRIFT=allow``, when
    the differences are returned (for the caller to report) and the job runs."""
    found = differences(pinned(root), current())
    if not found:
        return []
    if os.environ.get(SOFTWARE_DRIFT, "").strip().lower() == ALLOW:
        return found
    raise UsageError(
        f"the software differs from {ENVIRONMENT}: {'; '.join(found)} "
        f"(set {SOFTWARE_DRIFT}={ALLOW} to run anyway)"
    )


def record_lines() -> str:
    """The running software, for a job's commit message."""
    return "Software: " + ", ".join(f"{name} {version}" for name, version in current().items())
