"""Advisory file locks between processes (``flock``): the one way this package makes a
second process wait or step aside (one build per superdataset, one subdataset install per
clone, one writer per betas cache).

A lock file holds the pid of its holder, so a process that cannot take it can say who has
it. The kernel releases a lock when its holder dies, killed or not: nothing is ever left
locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path


def holder(path: Path) -> str:
    """Who holds the lock at ``path``, as its file says (``pid 123``)."""
    try:
        return path.read_text().strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def file_lock(
    path: Path, *, wait: bool = True, on_wait: Callable[[str], None] | None = None
) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (created with its directory). Yields True when
    held; without ``wait``, False at once when another process holds it. With ``wait``,
    ``on_wait(holder)`` is called once before blocking, to say why the caller waits."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            if on_wait is not None:
                on_wait(holder(path))
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
