"""Progress bars for the CLI layer: tqdm on a terminal, silent otherwise."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from tqdm import tqdm

# ``bar(description, total, unit)`` yields ``advance(n)``: ``progress_bar``, ``no_bar`` or a
# caller's own
ProgressBar = Callable[[str, int, str], AbstractContextManager[Callable[[int], None]]]


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


@contextmanager
def no_bar(
    description: str, total: int | None = None, unit: str = "obj"
) -> Iterator[Callable[[int], None]]:
    """A bar that shows nothing."""
    yield lambda n: None
