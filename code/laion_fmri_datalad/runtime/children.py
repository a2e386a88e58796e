"""Stopping what a command started, when it is interrupted: every process descended from this
one (Dask's nanny and workers, git and git-annex, a server), found through ``/proc``.

A command stopped by Ctrl-C or ``kill`` ends its own work through ``KeyboardInterrupt``; a
child in the middle of something may outlive it (a Dask worker the nanny gave up on, a
``git annex`` still transferring). ``stop_descendants`` asks each to stop (SIGTERM), waits a
moment, and kills what is left. Where there is no ``/proc`` it does nothing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

PROC = Path("/proc")


def _parents() -> dict[int, int]:
    """``{pid: parent pid}`` of every process this user can see."""
    found = {}
    for entry in PROC.glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended while we looked
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (comm) "
        if len(fields) > 1:
            found[int(entry.name)] = int(fields[1])
    return found


def descendants(pid: int | None = None) -> list[int]:
    """The processes descended from ``pid`` (default: this one), children first."""
    root = os.getpid() if pid is None else pid
    parents = _parents()
    found: list[int] = []
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        children = [child for child, up in parents.items() if up == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def stop_descendants(grace: float = 3.0) -> int:
    """SIGTERM to every descendant, then SIGKILL to those still there after ``grace``
    seconds; returns how many there were."""
    pids = descendants()
    if not pids:
        return 0
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if (PROC / str(pid)).exists() and not _zombie(pid)]
        if not alive:
            return len(pids)
        time.sleep(0.1)
    _signal([pid for pid in descendants() if pid in set(pids)] or pids, signal.SIGKILL)
    return len(pids)


def _zombie(pid: int) -> bool:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2 :].startswith("Z")
