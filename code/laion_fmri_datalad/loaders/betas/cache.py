"""A voxel-major cache of a session's betas, written by the first read, read by every later one.

The first read of a session's 4D ``.nii.gz`` (one pass, :mod:`.betas`) also writes the
betas of every voxel of the subject's brain mask, all trials, to an HDF5 file: dataset
``betas``, float32 ``(n_voxels, n_trials)``, voxels in the loaders' order (C order of the
brain mask), in chunks of ``VOXEL_CHUNK`` voxels x ``TRIAL_BLOCK`` trials, uncompressed
(these values do not compress: shuffle+gzip saved a few percent at many times the cost),
with HDF5's Fletcher-32 checksum on every chunk. A later query reads only the chunks of the
voxels it selects. Beside the betas: ``voxels`` (the brain mask's voxels, as positions in
the volume) and each voxel's mean and standard deviation over the session's trials (for
``zscore``).

The cache is derived data. Its name holds the git-annex key of the betas file (a new
version of the file has a new key, so an old cache is never served) and a digest of the
brain mask's voxels (so a different mask, or mask source, has its own cache). It lives in
the git directory of the subdataset holding the betas (outside the versioned tree), or in
``$LAION_FMRI_CACHE_DIR``; ``LAION_FMRI_BETA_CACHE=off`` turns it off. It is written to a
private name and renamed into place when complete, so readers see a whole file or none; a
writer holds an exclusive ``flock`` on ``<name>.lock`` (a second writer reads without
writing instead of waiting). On open every attribute, shape and the voxel list are checked,
and chunks are checked when read: a file that fails is rebuilt, never served.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ...config.variables import BETA_CACHE, CACHE_DIR
from ...errors import LaionFmriError
from ...layout.entities import name_entities
from ...runtime.locks import file_lock
from .reader import BetasHeader, Floats, open_volumes, read_masked_betas, volume_rows, voxel_index

log = logging.getLogger("laion_fmri_datalad.loaders")

FORMAT = 1
VOXEL_CHUNK = 2048  # x TRIAL_BLOCK: 128 kB chunks (1024 and 4096 voxels: no faster, or slower)
TRIAL_BLOCK = 16  # volumes buffered by the writer: 16 x 272k voxels x 4 B = 17 MB
OFF = ("0", "off", "false", "no")
SUFFIX = ".h5"
Progress = Callable[[int], None]
Mask = npt.NDArray[np.bool_]


class CacheDamagedError(LaionFmriError, OSError):
    """A cache file that fails its checks; it is rebuilt."""


def enabled() -> bool:
    """False when ``$LAION_FMRI_BETA_CACHE`` is ``off`` (or 0, false, no)."""
    return os.environ.get(BETA_CACHE, "on").strip().lower() not in OFF


def content_key(path: Path) -> str:
    """The git-annex key of an annexed file (the name its symlink points to); for a file that
    is not annexed, one made of its size, modification time and inode."""
    if path.is_symlink():
        target = path.readlink().name
        if "--" in target:
            return target
    stat = path.stat()
    return f"FILE-s{stat.st_size}-m{stat.st_mtime_ns}-i{stat.st_ino}"


def mask_digest(index: npt.NDArray[np.intp]) -> str:
    return hashlib.sha256(np.asarray(index, dtype="<i8").tobytes()).hexdigest()[:16]


def _annex_git_dir(path: Path) -> Path | None:
    """``.git`` of the repository whose annex holds ``path``'s content, if it is annexed."""
    if not path.is_symlink():
        return None
    real = path.resolve()
    # <git dir>/annex/objects/Xx/Yy/KEY/KEY
    if (
        len(real.parents) > 5
        and real.parents[3].name == "objects"
        and real.parents[4].name == "annex"
    ):
        return real.parents[5]
    return None


def user_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "laion-fmri-datalad" / "betas"


def cache_dir(betas: Path) -> Path:
    """Where the cache of ``betas`` lives: ``$LAION_FMRI_CACHE_DIR/betas``, else the git
    directory of its subdataset, else (not writable, not annexed) the user's cache."""
    configured = os.environ.get(CACHE_DIR)
    if configured:
        return Path(configured).expanduser() / "betas"
    git_dir = _annex_git_dir(betas)
    if git_dir is not None and os.access(git_dir, os.W_OK):
        return git_dir / "laion-fmri" / "betas"
    return user_cache_dir()


def session_label(betas: Path) -> str:
    """``sub-01_ses-01`` from a BIDS betas file name."""
    parts = {k: v for k, v in name_entities(betas.name).items() if k in ("sub", "ses")}
    return "_".join(f"{k}-{v}" for k, v in parts.items()) or "betas"


@dataclass(frozen=True)
class CacheFile:
    """The cache of one betas file over one brain mask."""

    betas: Path
    mask: Mask  # 3D, the brain mask the voxel vectors run over
    index: npt.NDArray[np.intp]
    key: str
    path: Path

    @classmethod
    def of(cls, betas: Path, mask: Mask, directory: Path | None = None) -> CacheFile:
        index = voxel_index(mask)
        key = content_key(betas)
        digest = mask_digest(index)
        where = cache_dir(betas) if directory is None else directory
        name = f"{session_label(betas)}--{key}--mask-{digest}{SUFFIX}"
        return cls(betas, mask, index, key, where / name)

    # -- reading -----------------------------------------------------------------------
    @contextmanager
    def opened(self) -> Iterator[Any]:
        """The checked, open HDF5 file; ``CacheDamagedError`` when it fails a check, and
        ``FileNotFoundError`` when there is none."""
        import h5py

        if not self.path.is_file():
            raise FileNotFoundError(self.path)
        try:
            handle = h5py.File(self.path, "r", locking=False)
        except OSError as exc:
            raise CacheDamagedError(f"cache {self.path.name} does not open: {exc}") from exc
        with handle:
            self._check(handle)
            yield handle

    def _check(self, handle: Any) -> None:
        attrs = handle.attrs
        try:
            betas = handle["betas"]
            ok = (
                int(attrs["format"]) == FORMAT
                and str(attrs["betas_key"]) == self.key
                and bool(attrs["complete"])
                and betas.shape[0] == self.index.size
                and betas.dtype == np.float32
                and handle["mean"].shape == (self.index.size,)
                and handle["std"].shape == (self.index.size,)
                and np.array_equal(handle["voxels"][()], self.index)
            )
        except (KeyError, ValueError, OSError, TypeError) as exc:
            raise CacheDamagedError(f"cache {self.path.name} is incomplete: {exc}") from exc
        if not ok:
            raise CacheDamagedError(f"cache {self.path.name} does not match its betas and mask")

    def read(
        self,
        positions: npt.NDArray[np.intp],
        volumes: Sequence[int] | None,
        zscore: bool = False,
    ) -> Floats:
        """``(n_rows, len(positions))`` float32: the voxels at ``positions`` (ascending,
        into the brain mask's voxels) of the chosen volumes (default all)."""
        with self.opened() as handle:
            data = handle["betas"]
            n_trials = int(data.shape[1])
            rows = None if volumes is None else np.asarray(volumes, dtype=np.intp)
            if rows is not None:
                volume_rows(list(rows), n_trials, self.betas)  # range check
            n_rows = n_trials if rows is None else rows.size
            result = np.empty((n_rows, positions.size), dtype=np.float32)
            mean = handle["mean"][()] if zscore else None
            std = handle["std"][()] if zscore else None
            try:
                for cols, pos in _blocks(positions, int(data.chunks[0])):
                    low = int(pos[0])
                    block = data[low : int(pos[-1]) + 1]
                    if block.shape[0] != pos.size:
                        block = block[pos - low]
                    if mean is not None and std is not None:
                        block = standardize(block, mean[pos], std[pos])
                    _put_transposed(result, cols.start, block if rows is None else block[:, rows])
            except OSError as exc:  # a chunk failing its checksum, a short read
                raise CacheDamagedError(f"cache {self.path.name} is damaged: {exc}") from exc
        return result

    def valid(self) -> bool:
        try:
            with self.opened():
                return True
        except (FileNotFoundError, CacheDamagedError):
            return False

    # -- writing -----------------------------------------------------------------------
    @contextmanager
    def writing(self, wait: bool = False) -> Iterator[CacheWriter | None]:
        """A writer holding the lock, or ``None`` when another process is writing this cache
        (with ``wait``: after it has finished and the cache is valid)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with file_lock(lock_path, wait=wait) as held:
            if not held or (wait and self.valid()):
                yield None
                return
            for stale in self.path.parent.glob(f".{self.path.name}.*.partial"):
                stale.unlink(missing_ok=True)  # left by a writer that was killed
            partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
            writer = CacheWriter(self, partial)
            try:
                yield writer
            finally:
                writer.close()
                with suppress(FileNotFoundError):
                    partial.unlink()


def _blocks(
    positions: npt.NDArray[np.intp], size: int
) -> Iterator[tuple[slice, npt.NDArray[np.intp]]]:
    """``positions`` grouped by the voxel chunk (of ``size`` voxels) they fall in: (columns
    of the result, positions)."""
    if positions.size == 0:
        return
    chunk = positions // size
    starts = np.flatnonzero(np.diff(chunk)) + 1
    edges = [0, *starts.tolist(), positions.size]
    for a, b in pairwise(edges):
        yield slice(a, b), positions[a:b]


def _put_transposed(result: Floats, start: int, block: Floats, tile: int = 256) -> None:
    """``result[:, start:start + len(block)] = block.T``, a tile of voxels at a time (a
    tile's trials stay in the CPU cache: 2.5x faster than one strided copy)."""
    for a in range(0, block.shape[0], tile):
        part = block[a : a + tile]
        result[:, start + a : start + a + part.shape[0]] = part.T


def standardize(
    values: Floats, mean: npt.NDArray[np.float64], std: npt.NDArray[np.float64]
) -> Floats:
    """``(values - mean) / std`` per voxel (rows of ``values``), float32; NaN where the
    standard deviation is 0 (as ``scipy.stats.zscore``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(std > 0, 1.0 / std, np.nan)
        return ((values - mean[:, None]) * scale[:, None]).astype(np.float32)


def zscore_columns(
    result: Floats, mean: npt.NDArray[np.float64], std: npt.NDArray[np.float64]
) -> Floats:
    """:func:`standardize` applied in place to ``result`` ``(n_rows, n_voxels)``, a block of
    voxels at a time (memory: one block in float64)."""
    for start in range(0, result.shape[1], VOXEL_CHUNK):
        cols = slice(start, start + VOXEL_CHUNK)
        result[:, cols] = standardize(result[:, cols].T, mean[cols], std[cols]).T
    return result


class Moments:
    """Per-voxel running sums over volumes, float64: mean and (population) standard
    deviation of each voxel across a session's trials."""

    def __init__(self, n: int) -> None:
        self.count = 0
        self.total = np.zeros(n, dtype=np.float64)
        self.squares = np.zeros(n, dtype=np.float64)

    def add(self, row: Floats) -> None:
        values = row.astype(np.float64)
        self.total += values
        values *= values
        self.squares += values
        self.count += 1

    def mean_std(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        n = max(self.count, 1)
        mean = self.total / n
        variance = np.maximum(self.squares / n - mean * mean, 0.0)
        return mean, np.sqrt(variance)


class CacheWriter:
    """Takes a session's volumes in order (each the brain mask's voxels, float32) and writes
    them voxel-major: ``TRIAL_BLOCK`` volumes are buffered, then written as whole chunks."""

    def __init__(self, cache: CacheFile, partial: Path) -> None:
        self.cache = cache
        self.partial = partial
        self.handle: Any = None
        self.buffer: Floats | None = None
        self.filled = 0
        self.written = 0
        self.moments = Moments(cache.index.size)

    def start(self, header: BetasHeader) -> None:
        import h5py

        n_voxels, n_trials = self.cache.index.size, header.n_volumes
        self.handle = h5py.File(self.partial, "w", libver="latest")
        self.handle.attrs["format"] = FORMAT
        self.handle.attrs["betas_key"] = self.cache.key
        self.handle.attrs["complete"] = False
        self.handle.attrs["source"] = self.cache.betas.name
        self.handle.create_dataset("voxels", data=self.cache.index.astype(np.int64))
        # Trial blocks of at most TRIAL_BLOCK volumes, as equal as can be (1044 trials: 17
        # blocks of 62): the last chunk is not mostly padding.
        trials = max(n_trials, 1)
        block = -(-trials // -(-trials // TRIAL_BLOCK))
        chunks = (min(VOXEL_CHUNK, max(n_voxels, 1)), block)
        self.handle.create_dataset(
            "betas", shape=(n_voxels, n_trials), dtype=np.float32, chunks=chunks, fletcher32=True
        )
        self.buffer = np.empty((block, n_voxels), dtype=np.float32)

    def add(self, row: Floats) -> None:
        assert self.buffer is not None
        self.buffer[self.filled] = row
        self.moments.add(row)
        self.filled += 1
        if self.filled == self.buffer.shape[0]:
            self._flush()

    def _flush(self) -> None:
        assert self.buffer is not None
        data = self.handle["betas"]
        block = self.buffer[: self.filled]
        end = self.written + self.filled
        for start in range(0, block.shape[1], VOXEL_CHUNK):
            cols = slice(start, start + VOXEL_CHUNK)
            data[cols, self.written : end] = np.ascontiguousarray(block[:, cols].T)
        self.written = end
        self.filled = 0

    def finish(self) -> None:
        """Write what is buffered and the per-voxel moments, mark the file complete and
        move it into place."""
        if self.filled:
            self._flush()
        if self.written != self.handle["betas"].shape[1]:
            raise LaionFmriError(f"cache of {self.cache.betas.name}: volumes missing")
        mean, std = self.moments.mean_std()
        self.handle.create_dataset("mean", data=mean)
        self.handle.create_dataset("std", data=std)
        self.handle.attrs["complete"] = True
        self.handle.flush()
        self.handle.close()
        self.handle = None
        # No fsync: a file left damaged by a crash fails its checks (chunk checksums) and
        # is rebuilt; syncing 1 GB would add seconds to every first read.
        self.partial.replace(self.cache.path)
        log.info("wrote the betas cache %s", self.cache.path)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def read_pass(
    betas: Path,
    mask: Mask,
    positions: npt.NDArray[np.intp] | None,
    volumes: Sequence[int] | None,
    *,
    zscore: bool = False,
    writer: CacheWriter | None = None,
    progress: Progress | None = None,
) -> Floats:
    """One pass over ``betas``: the voxels at ``positions`` (into ``mask``'s voxels; None:
    all) of the chosen volumes, float32, z-scored per voxel over all the session's volumes
    if asked; every volume of ``mask``'s voxels to ``writer`` if given."""
    betas = Path(betas)
    index = voxel_index(mask)
    with open_volumes(betas) as (header, stream):
        header.check_grid(mask.shape, betas)
        wanted = volume_rows(volumes, header.n_volumes, betas)
        n_rows = header.n_volumes if volumes is None else len(volumes)
        if positions is not None and writer is None:
            index, positions = index[positions], None  # gather only what is returned
        n_cols = index.size if positions is None else positions.size
        result = np.empty((n_rows, n_cols), dtype=np.float32)
        moments = Moments(n_cols) if zscore and writer is None else None
        full = writer is not None or zscore
        last = header.n_volumes - 1 if full else max(wanted, default=-1)
        if writer is not None:
            writer.start(header)
        row = np.empty(index.size, dtype=np.float32)
        for t, volume in enumerate(islice(stream, last + 1)):
            if volume.dtype == np.float32:
                np.take(volume, index, out=row)
            else:
                row[:] = volume[index]
            if header.scaled:
                header.scale(row)
            if writer is not None:
                writer.add(row)
            picked = row if positions is None else row[positions]
            if moments is not None:
                moments.add(picked)
            rows = wanted.get(t)
            if rows:
                result[rows] = picked
            if progress is not None:
                progress(1)
    if writer is not None:
        writer.finish()
    if zscore:
        if moments is not None:
            mean, std = moments.mean_std()
        else:
            assert writer is not None
            mean, std = writer.moments.mean_std()
            if positions is not None:
                mean, std = mean[positions], std[positions]
        zscore_columns(result, mean, std)
    return result


def load_betas(
    betas: Path,
    brain: Mask,
    selection: Mask,
    volumes: Sequence[int] | None,
    *,
    zscore: bool = False,
    use_cache: bool | None = None,
    progress: Progress | None = None,
) -> Floats:
    """The betas of the ``selection`` (bool over ``brain``'s voxels) of the chosen volumes:
    from the session's cache when there is a valid one; else in one pass over the file,
    writing the cache on the way (unless it is turned off, or another process is writing
    it). ``zscore``: each voxel standardised over all the session's volumes first."""
    positions = np.flatnonzero(selection)
    if use_cache is None:
        use_cache = enabled()
    if not use_cache:
        if zscore:
            return read_pass(betas, brain, positions, volumes, zscore=True, progress=progress)
        grid = np.zeros(brain.shape, dtype=bool)
        grid[brain] = selection
        return read_masked_betas(betas, grid, volumes)
    cache = CacheFile.of(Path(betas), brain)
    try:
        return cache.read(positions, volumes, zscore)
    except FileNotFoundError:
        pass
    except CacheDamagedError as exc:
        log.warning("%s; rebuilding it", exc)
    try:
        with cache.writing() as writer:
            return read_pass(
                betas, brain, positions, volumes, zscore=zscore, writer=writer, progress=progress
            )
    except OSError as exc:  # no space, no permission: answer without the cache
        log.warning("could not write the betas cache %s (%s); reading without it", cache.path, exc)
        return read_pass(betas, brain, positions, volumes, zscore=zscore, progress=progress)


def ensure_cache(
    betas: Path, brain: Mask, progress: Progress | None = None, directory: Path | None = None
) -> bool:
    """Build the cache of ``betas`` over ``brain`` (in ``directory``, default ``cache_dir``)
    unless a valid one exists (waiting for another process writing it); True when this call
    wrote it."""
    cache = CacheFile.of(Path(betas), brain, directory)
    if cache.valid():
        return False
    with cache.writing(wait=True) as writer:
        if writer is None:
            return False
        read_pass(betas, brain, np.zeros(0, dtype=np.intp), [], writer=writer, progress=progress)
        return True


def standardized(values: Floats) -> Floats:
    """``values`` ``(n_volumes, n_voxels)``, all of a session's volumes, z-scored per voxel
    in place, with the same arithmetic as a pass over the file."""
    moments = Moments(values.shape[1])
    for row in values:
        moments.add(row)
    return zscore_columns(values, *moments.mean_std())
