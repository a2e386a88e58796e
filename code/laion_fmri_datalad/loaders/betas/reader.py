"""Reading masked single-trial betas in one sequential pass over a 4D ``.nii.gz``.

A session's betas are ``(143, 143, 143, ~1044)`` float32, about 12 GB decompressed. Loading
all of it to keep a few thousand voxels wastes memory; this reader decompresses the file
once, front to back, and keeps only the masked voxels of each volume, so peak memory stays
near the size of the result (``n_trials x n_voxels`` float32) plus one volume.

Decompression is ISA-L's (``isal``, about 1.7x the standard library's zlib on these files,
``benchmarks/bench_betas.py``), in a thread of its own so that it overlaps the masking;
without ``isal`` the standard library's ``gzip`` reads the same bytes.
"""

from __future__ import annotations

import gzip
import io
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nibabel as nib
import numpy as np
import numpy.typing as npt

from ...errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

Floats = npt.NDArray[np.float32]
PREFETCH = 1  # volumes decompressed ahead of the one being masked (11.7 MB each)


def voxel_index(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Positions of the mask's voxels in a volume stored in NIfTI (Fortran) order, listed in
    the order ``volume[mask]`` gives them (C order), so results match nibabel + masking."""
    return np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")


def _open(path: Path) -> io.BufferedIOBase:
    if not path.name.endswith(".gz"):
        return path.open("rb")
    try:
        from isal import igzip
    except ImportError:  # pragma: no cover - isal is a dependency; this keeps a fallback
        return gzip.GzipFile(path, "rb")
    stream: io.BufferedIOBase = igzip.open(path, "rb")  # type: ignore[no-untyped-call]
    return stream


def _read_exactly(stream: io.BufferedIOBase, size: int, path: Path) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise UsageError(f"'{path}' ends early: expected {size} more bytes, got {len(data)}")
    return data


def _fill(stream: io.BufferedIOBase, buffer: memoryview, path: Path) -> None:
    filled = 0
    while filled < len(buffer):
        got = stream.readinto(buffer[filled:])
        if not got:
            raise UsageError(
                f"'{path}' ends early: expected {len(buffer) - filled} more bytes, got 0"
            )
        filled += got


@dataclass(frozen=True)
class BetasHeader:
    """What the reader needs from a 4D NIfTI header."""

    shape: tuple[int, int, int, int]
    dtype: np.dtype[Any]
    slope: float | None
    inter: float | None

    @property
    def n_volumes(self) -> int:
        return self.shape[3]

    def check_grid(self, grid: tuple[int, ...], path: Path) -> None:
        if tuple(self.shape[:3]) != tuple(grid):
            raise UsageError(
                f"mask shape {tuple(grid)} does not match the volumes of '{path}' {self.shape[:3]}"
            )

    def scale(self, values: Floats) -> Floats:
        """Apply ``scl_slope``/``scl_inter`` in place, as nibabel does."""
        if self.slope is not None and np.isfinite(self.slope):
            values *= np.float32(self.slope)
        if self.inter is not None and np.isfinite(self.inter):
            values += np.float32(self.inter)
        return values

    @property
    def scaled(self) -> bool:
        return any(v is not None and np.isfinite(v) for v in (self.slope, self.inter))


def read_header(path: Path) -> BetasHeader:
    """The header of a 4D NIfTI (the first 348 bytes decompressed, nothing else)."""
    path = Path(path)
    with _open(path) as stream:
        return _header(stream, path)[0]


def _header(stream: io.BufferedIOBase, path: Path) -> tuple[BetasHeader, int]:
    raw = _read_exactly(stream, 348, path)
    header = nib.Nifti1Header.from_fileobj(io.BytesIO(raw))
    shape = tuple(int(n) for n in header.get_data_shape())
    if len(shape) != 4:
        raise UsageError(f"'{path}' is not a 4D image (shape {shape})")
    slope, inter = header.get_slope_inter()
    return BetasHeader(shape, header.get_data_dtype(), slope, inter), int(
        header.get_data_offset()
    ) - len(raw)


@contextmanager
def _prefetched(
    stream: io.BufferedIOBase, size: int, n: int, path: Path, ahead: int = PREFETCH
) -> Iterator[Iterator[bytearray]]:
    """The next ``n`` blocks of ``size`` bytes of ``stream``, decompressed in a thread of
    their own up to ``ahead`` blocks ahead of the consumer (zlib and ISA-L release the GIL
    while they decompress), in ``ahead + 1`` buffers that are reused: a block is valid until
    the next one is taken."""
    free: queue.Queue[bytearray | None] = queue.Queue()
    ready: queue.Queue[bytearray | BaseException] = queue.Queue()
    for _ in range(ahead + 1):
        free.put(bytearray(size))

    def decompress() -> None:
        try:
            for _ in range(n):
                buffer = free.get()
                if buffer is None:
                    return
                _fill(stream, memoryview(buffer), path)
                ready.put(buffer)
        except BaseException as exc:  # handed to the consumer, raised there
            ready.put(exc)

    worker = threading.Thread(target=decompress, name="betas-decompress", daemon=True)
    worker.start()

    def blocks() -> Iterator[bytearray]:
        for _ in range(n):
            item = ready.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            free.put(item)

    try:
        yield blocks()
    finally:
        free.put(None)  # a consumer that stopped early: the worker ends after this block
        worker.join()


@contextmanager
def open_volumes(path: Path) -> Iterator[tuple[BetasHeader, Iterator[npt.NDArray[Any]]]]:
    """The header of a 4D NIfTI and an iterator over its volumes, front to back, each a flat
    view (Fortran order, the file's dtype, unscaled) of a reused buffer: valid only until
    the next volume is taken. The next volume is decompressed meanwhile, in a thread."""
    path = Path(path)
    with _open(path) as stream:
        info, to_data = _header(stream, path)
        _read_exactly(stream, to_data, path)
        size = int(np.prod(info.shape[:3])) * info.dtype.itemsize
        with _prefetched(stream, size, info.n_volumes, path) as buffers:
            volumes = (np.frombuffer(b, dtype=info.dtype) for b in buffers)
            yield info, volumes


def volume_rows(volumes: Sequence[int] | None, n: int, path: Path) -> dict[int, list[int]]:
    """For each volume to keep, the rows of the result it fills."""
    if volumes is None:
        return {t: [t] for t in range(n)}
    rows: dict[int, list[int]] = {}
    for row, t in enumerate(volumes):
        if not 0 <= int(t) < n:
            raise UsageError(f"volume {t} is outside '{path}' (0 to {n - 1})")
        rows.setdefault(int(t), []).append(row)
    return rows


def read_masked_betas(
    path: Path, mask: npt.NDArray[np.bool_], volumes: Sequence[int] | None = None
) -> Floats:
    """The masked voxels of the volumes of a 4D NIfTI, as float32 ``(n_volumes, n_voxels)``.

    ``volumes`` picks volumes (in the order given; default all); the file is still read
    once, front to back, and no further than the last volume picked. NaNs are kept; the
    header's scaling (``scl_slope``, ``scl_inter``) is applied as nibabel applies it.
    """
    path = Path(path)
    with open_volumes(path) as (header, stream):
        header.check_grid(mask.shape, path)
        index = voxel_index(mask)
        wanted = volume_rows(volumes, header.n_volumes, path)
        n_rows = header.n_volumes if volumes is None else len(volumes)
        result = np.empty((n_rows, index.size), dtype=np.float32)
        last = max(wanted, default=-1)
        for t, volume in enumerate(islice(stream, last + 1)):
            rows = wanted.get(t)
            if rows:
                result[rows] = volume[index]
    return header.scale(result)


def read_masked_betas_proxy(
    path: Path, mask: npt.NDArray[np.bool_], volumes: Sequence[int] | None = None
) -> Floats:
    """The same result as :func:`read_masked_betas`, read through nibabel's array proxy one
    volume at a time: slower on gzip (each volume is a seek), but it reads any format
    nibabel reads. Memory is bounded the same way."""
    image = nib.load(Path(path))
    shape = image.shape
    if len(shape) != 4:
        raise UsageError(f"'{path}' is not a 4D image (shape {shape})")
    if tuple(shape[:3]) != mask.shape:
        raise UsageError(
            f"mask shape {mask.shape} does not match the volumes of '{path}' {shape[:3]}"
        )
    wanted = volume_rows(volumes, shape[3], Path(path))
    n_rows = shape[3] if volumes is None else len(volumes)
    result = np.empty((n_rows, int(mask.sum())), dtype=np.float32)
    proxy = image.dataobj
    for t in sorted(wanted):
        result[wanted[t]] = np.asarray(proxy[..., t], dtype=np.float32)[mask]
    return result


def average_repeats(
    values: Floats, trials: pd.DataFrame, rows: Sequence[int] | None = None
) -> tuple[Floats, pd.DataFrame]:
    """Rows of ``values`` (one per row of ``trials``) averaged over the trials of the same
    image (``label``): one row per image, in the order of their first trial, float32 (sums
    in float64; a NaN in any repeat gives NaN). The companion table has one row per image:
    ``session, label, n_trials, rows``: the rows averaged, as ``rows`` numbers them (the
    rows of the session's trial table that ``trials`` holds; default ``trials``' own
    positions). Row *i* of a session's trial table is volume *i* of its betas."""
    import pandas as pd

    labels = trials["label"].astype(str).to_numpy()
    if len(labels) != values.shape[0]:
        raise UsageError(f"{values.shape[0]} rows of betas but {len(labels)} trials")
    where = np.arange(len(labels)) if rows is None else np.asarray(rows, dtype=np.int64)
    if where.size != len(labels):
        raise UsageError(f"{where.size} row numbers for {len(labels)} trials")
    names, first, inverse, counts = np.unique(
        labels, return_index=True, return_inverse=True, return_counts=True
    )
    by_first = np.argsort(first, kind="stable")  # image order: first appearance
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(by_first.size)
    group = rank[inverse]  # each trial's output row
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.diff(group[order], prepend=-1) != 0)
    n = counts[by_first].astype(np.float64)
    result = np.empty((names.size, values.shape[1]), dtype=np.float32)
    if names.size:
        for start in range(0, values.shape[1], 4096):  # a block of voxels at a time
            cols = slice(start, start + 4096)
            sums = np.add.reduceat(values[order, cols].astype(np.float64), starts, axis=0)
            result[:, cols] = sums / n[:, None]
    table = pd.DataFrame(
        {
            "session": trials["session"].to_numpy()[first[by_first]],
            "label": names[by_first],
            "n_trials": counts[by_first],
            "rows": [where[g].tolist() for g in np.split(order, starts[1:])] if names.size else [],
        }
    )
    return result, table
