"""Progress bars for the CLI layer: tqdm on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm


@contextmanager
def progress_bar(
    description: str, total: int | None = None, unit: str = "obj"
) -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` callback; the bar shows only when stderr is a terminal.
    ``unit="B"`` counts bytes (shown scaled: kB, MB, ...)."""
    bar = tqdm(
        total=total,
        desc=description,
        unit=unit,
        unit_scale=unit == "B",
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
