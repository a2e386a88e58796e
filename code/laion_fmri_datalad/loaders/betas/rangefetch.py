"""Byte ranges of files on the bucket, many at once, each checked and retried.

The transport is fsspec's HTTP filesystem (aiohttp underneath), as upstream's tutorial reads
``model.h5``: ``cat_ranges`` sends up to ``CONCURRENCY`` range requests at a time over one
connection pool, across every file asked for (so a query's sessions are fetched in
parallel). What fsspec does not do, this does: an answer that is an error (a 503, a reset, a
body cut short) or of another length than the range asked for is asked for again, up to
``ATTEMPTS`` times with a growing pause, like the project's other transfers; a range still
failing then is one line naming the file and the bytes, never a short or misaligned array.
The URLs are the versioned ones git-annex records for the file's key, so a pinned release
reads the pinned bytes; they are plain anonymous HTTPS (or the development server on
127.0.0.1), read without git-annex, so no loopback allowance is involved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import LaionFmriError

CONCURRENCY = 64  # range requests in flight (benchmarks/README.md: the measurement)
ATTEMPTS = 6
PAUSE = 0.2  # seconds before the second try, doubling after


class RangeReadError(LaionFmriError, OSError):
    """A byte range that could not be read whole after every try."""


@dataclass(frozen=True)
class ByteRange:
    url: str
    start: int
    end: int  # exclusive
    name: str  # what to call the file in a message

    @property
    def size(self) -> int:
        return self.end - self.start


CONNECT_TIMEOUT = 10  # seconds to open a connection
READ_TIMEOUT = 30  # seconds without a byte: the range is asked for again


def _filesystem() -> Any:
    """fsspec's HTTP filesystem (one per process: its connection pool is reused), with
    timeouts so that a stalled connection fails and is retried instead of hanging."""
    import aiohttp
    import fsspec

    timeout = aiohttp.ClientTimeout(
        total=None, sock_connect=CONNECT_TIMEOUT, sock_read=READ_TIMEOUT
    )
    return fsspec.filesystem("http", client_kwargs={"timeout": timeout})


def _why(answer: object, size: int) -> str:
    if isinstance(answer, bytes):
        return f"answered {len(answer)} of {size} bytes"
    text = str(answer).strip().splitlines()
    return f"{type(answer).__name__}: {text[0] if text else ''}".rstrip(": ")


def fetch(
    ranges: Sequence[ByteRange],
    *,
    concurrency: int = CONCURRENCY,
    attempts: int = ATTEMPTS,
    progress: Callable[[int], None] | None = None,
) -> list[bytes]:
    """The bytes of every range, in order; ``progress(n)`` after each round with the bytes
    that arrived whole in it."""
    if not ranges:
        return []
    results: list[bytes | None] = [None] * len(ranges)
    pending = list(range(len(ranges)))
    why: dict[int, str] = {}
    filesystem = _filesystem()
    for attempt in range(attempts):
        if not pending:
            break
        if attempt:
            time.sleep(PAUSE * 2 ** (attempt - 1))
        answers = filesystem.cat_ranges(
            [ranges[i].url for i in pending],
            [ranges[i].start for i in pending],
            [ranges[i].end for i in pending],
            on_error="return",
            batch_size=concurrency,
        )
        failed = []
        arrived = 0
        for index, answer in zip(pending, answers, strict=True):
            if isinstance(answer, bytes) and len(answer) == ranges[index].size:
                results[index] = answer
                arrived += len(answer)
            else:
                why[index] = _why(answer, ranges[index].size)
                failed.append(index)
        pending = failed
        if progress is not None and arrived:
            progress(arrived)
    if pending:
        first = ranges[pending[0]]
        more = f" (and {len(pending) - 1} other ranges)" if len(pending) > 1 else ""
        raise RangeReadError(
            f"could not read bytes {first.start}-{first.end - 1} of {first.name} after "
            f"{attempts} tries{more}: {why[pending[0]]}"
        )
    return [r for r in results if r is not None]
