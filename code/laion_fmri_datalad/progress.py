"""Progress bars for the CLI layer: tqdm on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback; the bar shows only when stderr is a terminal."""
    bar = tqdm(
        total=total,
        desc=description,
        unit="obj",
        disable=not sys.stderr.isatty(),
        leave=False,
        dynamic_ncols=True,
    )

    def advance(n: int) -> None:
        bar.update(n)

    try:
        yield advance
    finally:
        bar.close()
