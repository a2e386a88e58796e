"""``laion-fmri-datalad compat -- COMMAND``: COMMAND run with the compatibility layer.

The command replaces this process (``os.execve``: its exit code and signals are its own)
with an environment in which ``import laion_fmri`` finds ``shim/`` first on ``PYTHONPATH``,
``laion-fmri`` on ``PATH`` is upstream's command line on the clone (a two-line launcher kept
in the clone's ``.git/laion-fmri/compat-bin``, never in site-packages or the environment's
``bin``), this environment's Python comes first on ``PATH``, and ``$LAION_FMRI_DATASET``
names the clone: upstream's data directory.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from ..config import DATASET
from ..errors import UsageError
from .install import SHIM, require_no_upstream

LAUNCHER = "laion-fmri"
UPSTREAM_MODULE = "laion_fmri_datalad.cli.upstream"


def launcher_dir(root: Path) -> Path:
    """The directory holding the ``laion-fmri`` launcher for this Python, written (again)
    only when it differs, by an atomic rename."""
    directory = root / ".git" / "laion-fmri" / "compat-bin"
    script = directory / LAUNCHER
    text = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m {UPSTREAM_MODULE} "$@"\n'
    if not script.is_file() or script.read_text() != text:
        directory.mkdir(parents=True, exist_ok=True)
        partial = script.with_name(f".{LAUNCHER}.partial")
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(script)
    return directory


def environment(root: Path, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with the layer's three additions (``PYTHONPATH``, ``PATH``, the clone)."""
    env = dict(base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SHIM), base.get("PYTHONPATH", "")) if p)
    path = [str(launcher_dir(root)), str(Path(sys.executable).parent), base.get("PATH", "")]
    env["PATH"] = os.pathsep.join(p for p in path if p)
    env[DATASET] = str(root)
    return env


def run(root: Path, command: Sequence[str]) -> NoReturn:
    """Replace this process with ``command`` run against the clone at ``root``."""
    if not command:
        raise UsageError("no command given; use: laion-fmri-datalad compat -- python script.py")
    require_no_upstream()
    env = environment(root, os.environ)
    program = shutil.which(command[0], path=env["PATH"])
    if program is None:
        raise UsageError(f"command {command[0]!r} not found on PATH")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(program, list(command), env)
