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


def _stat(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after ``pid (comm)`` (state, parent, ...), or None
    when the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def descendants(pid: int | None = None) -> list[int]:
    """The processes descended from ``pid`` (default: this one)."""
    children: dict[int, list[int]] = {}
    for entry in PROC.glob("[0-9]*"):
        fields = _stat(entry.name)
        if fields is not None and len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    frontier = [os.getpid() if pid is None else pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found.extend(below)
        frontier.extend(below)
    return found


def _running(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def _signal(pids: list[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def stop_descendants(grace: float = 3.0, pid: int | None = None) -> int:
    """SIGTERM to every descendant of ``pid`` (default: this process), then SIGKILL to those
    still running after ``grace`` seconds; returns how many there were."""
    pids = descendants(pid)
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [child for child in alive if _running(child)]
    _signal(alive, signal.SIGKILL)
    return len(pids)
