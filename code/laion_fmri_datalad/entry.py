"""The installed ``laion-fmri-datalad`` command: Ctrl-C and ``kill`` are handled from the
first moment, before the command line's modules are imported, so that a signal at start-up
is one line (``interrupted``, exit 130) and not a traceback from inside an import."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

PROG = "laion-fmri-datalad"
INTERRUPTED = 130  # the exit code of a command Ctrl-C stopped, as a shell reports it


def terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _interrupted() -> None:
    print(f"{PROG}: interrupted", file=sys.stderr, flush=True)


def main() -> int:
    signal.signal(signal.SIGTERM, terminate)  # a plain `kill` ends it as Ctrl-C does
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        # Stopped while importing, before anything was done. Exit at once: an interrupt that
        # passed through code run by exec() (dataclasses and namedtuples make their methods
        # so) leaves CPython's "unhandled KeyboardInterrupt" flag set, and a normal exit
        # would then end the process by SIGINT (-2) instead of with 130.
        _interrupted()
        os._exit(INTERRUPTED)
    try:
        return run(own_process=True)
    except KeyboardInterrupt:  # before ``cli.main`` took over its own handling
        _interrupted()
        return INTERRUPTED
