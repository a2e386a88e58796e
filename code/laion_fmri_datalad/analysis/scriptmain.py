"""What every job script of an analysis dataset does first: check the software it runs
with against the dataset's pin (one line and exit status 3 when it differs, unless allowed),
and turn a ``UsageError`` into one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import LaionFmriError
from . import software


def checked_software(root: Path) -> None:
    """Stop here if the software differs from ``root``'s pin (and say so when allowed)."""
    drift = software.check(root)
    if drift:
        print(
            f"running with other software than {software.ENVIRONMENT}: " + "; ".join(drift),
            file=sys.stderr,
        )


def script(main: Callable[[], int]) -> int:
    """Run a job script's ``main``: one line for a usage error (exit 3)."""
    try:
        return main()
    except LaionFmriError as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
