"""Betas of some voxels from a session's ``model.h5`` on the bucket, by byte ranges.

For each file: its layout (where ``betasmd`` starts, its shape), read once by h5py through a
file object whose reads are range requests (a few 64 kB blocks), then kept beside the row
cache, keyed by the file's git-annex key; then only the rows not already cached, coalesced
into runs (``ranges.coalesce``), every file's runs fetched together (``rangefetch.fetch``:
concurrent, checked, retried), and the rows written to the row cache: one more small file
per query, written under a private name and renamed into place, so a later query of those
voxels reads nothing from the network. The caches live where the betas' voxel-major cache
does (the subdataset's git directory, or ``$LAION_FMRI_CACHE_DIR``) and, as it does, are
derived data named by the key: a new version of the file never meets an old cache.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ...errors import DataMismatchError
from .cache import cache_dir, content_key, session_label
from .rangefetch import CONCURRENCY, ByteRange, fetch
from .ranges import GAP_ROWS, BetasLayout, RowRun, bytes_of, coalesce, rows_from

BLOCK = 64 * 1024  # what one header read asks for
ROWS = "--rows"  # a row cache's folder ends so (``cache info`` and ``cache clear`` find it)
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class ModelFile:
    """A session's ``model.h5`` in a clone: its path, git-annex key and versioned URL."""

    path: Path
    key: str
    url: str
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def cache(self) -> Path:
        return cache_dir(self.path) / f"{session_label(self.path)}--{self.key}{ROWS}"

    @classmethod
    def of(cls, path: Path, url: str) -> ModelFile:
        from ...repo.annex import key_size

        key = content_key(path)
        return cls(path, key, url, key_size(key))


class _RangeFile(io.RawIOBase):
    """A read-only file object over ``model``'s URL whose reads are ``BLOCK``-sized ranges
    (each fetched once, retried as every range is): what h5py reads the header through."""

    def __init__(self, model: ModelFile) -> None:
        super().__init__()
        self.model = model
        self.position = 0
        self.blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.model.size}
        self.position = base[whence] + offset
        return self.position

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        end = min(self.position + len(buffer), self.model.size)
        if end <= self.position:
            return 0
        wanted = range(self.position // BLOCK, (end - 1) // BLOCK + 1)
        missing = [b for b in wanted if b not in self.blocks]
        ranges = [
            ByteRange(
                self.model.url, b * BLOCK, min((b + 1) * BLOCK, self.model.size), self.model.name
            )
            for b in missing
        ]
        if missing:  # h5py reads in small pieces, mostly from blocks already here
            for block, data in zip(missing, fetch(ranges), strict=True):
                self.blocks[block] = data
        joined = b"".join(self.blocks[b] for b in wanted)
        start = self.position - wanted[0] * BLOCK
        count = end - self.position
        buffer[:count] = joined[start : start + count]
        self.position = end
        return count


def _saved_layout(model: ModelFile) -> Path:
    return model.cache / "layout.json"


def read_layout(model: ModelFile, source: _RangeFile | None = None) -> BetasLayout:
    """Where ``betasmd`` lies in ``model``: from the cache, else from the file's header
    (read through ``source``, which may hold blocks fetched already)."""
    saved = _saved_layout(model)
    if saved.is_file():
        return BetasLayout(**json.loads(saved.read_text()))
    import h5py

    with h5py.File(source or _RangeFile(model), "r") as handle:
        if "betasmd" not in handle:
            raise DataMismatchError(f"{model.name} has no dataset 'betasmd'")
        dataset = handle["betasmd"]
        offset = dataset.id.get_offset()
        shape = tuple(int(n) for n in dataset.shape)
        contiguous = dataset.chunks is None and dataset.compression is None
        dtype = np.dtype(dataset.dtype)
    if not contiguous or offset is None or len(shape) != 4 or shape[1:3] != (1, 1):
        raise DataMismatchError(
            f"{model.name}: betasmd is {shape}, chunks or filters or no offset; expected "
            "(n_voxels, 1, 1, n_trials), contiguous"
        )
    if dtype != np.dtype("<f4"):
        raise DataMismatchError(f"{model.name}: betasmd is {dtype}, expected little-endian float32")
    layout = BetasLayout(int(offset), shape[0], shape[3])
    _write_atomically(saved, json.dumps(layout.__dict__).encode())
    return layout


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    Path(temporary).replace(path)


class RowCache:
    """The rows of one ``model.h5`` read so far: one ``.npz`` per query that fetched any."""

    def __init__(self, model: ModelFile) -> None:
        self.directory = model.cache

    def load(self) -> tuple[npt.NDArray[np.intp], Floats | None]:
        """Cached row numbers (ascending) and their betas."""
        rows, values = [], []
        for segment in sorted(self.directory.glob("rows-*.npz")):
            with np.load(segment) as saved:
                rows.append(saved["rows"])
                values.append(saved["betas"])
        if not rows:
            return np.zeros(0, dtype=np.intp), None
        index = np.concatenate(rows).astype(np.intp)
        data = np.concatenate(values)
        order = np.argsort(index, kind="stable")
        return index[order], data[order]

    def add(self, rows: npt.NDArray[np.intp], values: Floats) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, rows=rows.astype(np.int64), betas=values)
        digest = f"{int(rows[0])}-{int(rows[-1])}-{rows.size}-{os.getpid()}"
        _write_atomically(self.directory / f"rows-{digest}.npz", buffer.getvalue())


@dataclass(frozen=True)
class RowQuery:
    """The rows of ``betasmd`` a query wants from one file, checked against the session."""

    model: ModelFile
    rows: npt.NDArray[np.intp]  # ascending positions in the anatomical brain mask
    n_voxels: int  # the anatomical brain mask's voxels
    n_trials: int  # the trial table's rows


@dataclass
class Planned:
    query: RowQuery
    layout: BetasLayout
    cached: npt.NDArray[np.intp]
    cached_values: Floats | None
    runs: list[RowRun]

    @property
    def missing(self) -> npt.NDArray[np.intp]:
        return self.query.rows[~np.isin(self.query.rows, self.cached)]

    @property
    def bytes(self) -> int:
        return bytes_of(self.runs, self.layout)


def _header_sources(models: list[ModelFile]) -> dict[Path, _RangeFile]:
    """Header readers for ``models``, primed with the blocks their headers are likely to
    need, fetched in two batches: every file's first block; then, once the first file's
    header is read, the blocks it needed from every other file (a session's files share a
    layout, so their metadata sit at nearly the same offsets). A block guessed wrong is
    fetched when h5py asks for it, as without the guess."""
    sources = {m.path: _RangeFile(m) for m in models}
    if not models:
        return sources
    firsts = fetch([ByteRange(m.url, 0, min(BLOCK, m.size), m.name) for m in models])
    for model, data in zip(models, firsts, strict=True):
        sources[model.path].blocks[0] = data
    first, rest = models[0], models[1:]
    read_layout(first, sources[first.path])  # cached: its blocks tell where the rest look
    needed = sorted(b for b in sources[first.path].blocks if b)
    guesses = [(m, b) for m in rest for b in needed if b * BLOCK < m.size]
    ranges = [ByteRange(m.url, b * BLOCK, min((b + 1) * BLOCK, m.size), m.name) for m, b in guesses]
    for (model, number), data in zip(guesses, fetch(ranges), strict=True):
        sources[model.path].blocks[number] = data
    return sources


def plan(queries: Sequence[RowQuery], gap: int = GAP_ROWS) -> list[Planned]:
    """Per file: its layout (checked), the rows already cached, and the runs to fetch. The
    first block of every header not yet cached is fetched in one batch (h5py reads one file
    at a time, holding its lock, so only what it asks for beyond that is sequential)."""
    sources = _header_sources([q.model for q in queries if not _saved_layout(q.model).is_file()])
    layouts = [read_layout(q.model, sources.get(q.model.path)) for q in queries]
    planned = []
    for query, layout in zip(queries, layouts, strict=True):
        layout.check(query.n_voxels, query.n_trials, query.model.name)
        cached, values = RowCache(query.model).load()
        item = Planned(query, layout, cached, values, [])
        item.runs = coalesce(item.missing, gap)
        planned.append(item)
    return planned


def read_rows(
    queries: Sequence[RowQuery],
    gap: int = GAP_ROWS,
    progress: Callable[[int], None] | None = None,
    concurrency: int = CONCURRENCY,
) -> list[Floats]:
    """Per query, ``(len(rows), n_trials)`` float32: cached rows from the cache, the rest
    fetched (every file's runs in one concurrent batch) and then cached."""
    planned = plan(queries, gap)
    ranges = [
        ByteRange(p.query.model.url, *run.byte_range(p.layout), p.query.model.name)
        for p in planned
        for run in p.runs
    ]
    payloads = iter(fetch(ranges, progress=progress, concurrency=concurrency))
    results = []
    for item in planned:
        missing = item.missing
        fetched = rows_from(missing, item.runs, [next(payloads) for _ in item.runs], item.layout)
        if missing.size:
            RowCache(item.query.model).add(missing, fetched)
        results.append(_merge(item, missing, fetched))
    return results


def _merge(item: Planned, missing: npt.NDArray[np.intp], fetched: Floats) -> Floats:
    rows = item.query.rows
    result = np.empty((rows.size, item.layout.n_trials), dtype=np.float32)
    where_missing = np.isin(rows, missing)
    result[where_missing] = fetched
    if (~where_missing).any():
        assert item.cached_values is not None
        have = np.searchsorted(item.cached, rows[~where_missing])
        result[~where_missing] = item.cached_values[have]
    return result
