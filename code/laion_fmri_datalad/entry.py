"""The installed ``laion-fmri-datalad`` command: Ctrl-C and ``kill`` are handled from the
first moment, before the command line's modules are imported, so that a signal at start-up
is one line (``interrupted``, exit 130) and not a traceback from inside an import."""

from __future__ import annotations

import signal
import sys
from types import FrameType

PROG = "laion-fmri-datalad"
INTERRUPTED = 130  # the exit code of a command Ctrl-C stopped, as a shell reports it


def terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> int:
    signal.signal(signal.SIGTERM, terminate)  # a plain `kill` ends it as Ctrl-C does
    try:
        from .cli import main as run

        return run(own_process=True)
    except KeyboardInterrupt:  # before ``cli.main`` took over its own handling
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
