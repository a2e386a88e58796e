"""Which bytes of a session's ``model.h5`` hold the betas of some voxels: pure arithmetic.

GLMsingle's model file holds the session's betas voxel-major (DESIGN §2.13): dataset
``betasmd``, ``(n_voxels, 1, 1, n_trials)`` float32, unchunked and contiguous, one row per
voxel of the anatomical brain mask in C order, each row every trial of the session. A
voxel's betas are therefore one run of ``n_trials * 4`` bytes at ``offset + row * row_bytes``,
and neighbouring rows are neighbouring bytes. S3 answers one range per GET, so rows close
together are fetched as one range (the rows between them come along) and rows far apart as
ranges of their own: ``coalesce`` draws that line at ``gap`` rows (``benchmarks/README.md``
says how it was measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ...errors import DataMismatchError

GAP_ROWS = 8  # rows between two wanted rows fetched rather than split into two requests


@dataclass(frozen=True)
class BetasLayout:
    """Where ``betasmd`` lies in its file."""

    offset: int
    n_voxels: int
    n_trials: int
    itemsize: int = 4

    @property
    def row_bytes(self) -> int:
        return self.n_trials * self.itemsize

    def check(self, n_voxels: int, n_trials: int, name: str) -> None:
        """The file's shape against the brain mask's voxels and the trial table's rows."""
        if (self.n_voxels, self.n_trials) != (n_voxels, n_trials):
            raise DataMismatchError(
                f"{name}: betasmd holds {self.n_voxels} voxels x {self.n_trials} trials, but "
                f"the anatomical brain mask has {n_voxels} voxels and the trial table "
                f"{n_trials} rows; the file does not belong to this session and mask"
            )


@dataclass(frozen=True)
class RowRun:
    """Rows ``first`` to ``stop - 1`` of ``betasmd``, fetched as one range."""

    first: int
    stop: int

    def byte_range(self, layout: BetasLayout) -> tuple[int, int]:
        """``(start, end)``, end exclusive, as ``cat_ranges`` takes them."""
        return (
            layout.offset + self.first * layout.row_bytes,
            layout.offset + self.stop * layout.row_bytes,
        )


def coalesce(rows: npt.NDArray[np.intp], gap: int = GAP_ROWS) -> list[RowRun]:
    """Runs covering ``rows`` (ascending, distinct): two wanted rows at most ``gap`` rows
    apart share a run."""
    if rows.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(rows) > gap + 1)
    firsts = np.concatenate(([rows[0]], rows[breaks + 1]))
    lasts = np.concatenate((rows[breaks], [rows[-1]]))
    return [RowRun(int(a), int(b) + 1) for a, b in zip(firsts, lasts, strict=True)]


def bytes_of(runs: list[RowRun], layout: BetasLayout) -> int:
    return sum(run.stop - run.first for run in runs) * layout.row_bytes


def rows_from(
    rows: npt.NDArray[np.intp], runs: list[RowRun], payloads: list[bytes], layout: BetasLayout
) -> npt.NDArray[np.float32]:
    """``(len(rows), n_trials)`` float32: the wanted rows cut out of the runs' bytes."""
    result = np.empty((rows.size, layout.n_trials), dtype=np.float32)
    done = 0
    for run, payload in zip(runs, payloads, strict=True):
        block = np.frombuffer(payload, dtype="<f4").reshape(run.stop - run.first, layout.n_trials)
        inside = rows[(rows >= run.first) & (rows < run.stop)]
        result[done : done + inside.size] = block[inside - run.first]
        done += inside.size
    return result
