"""``get_betas(..., source=)``: which file a session's betas are read from.

``"nifti"`` reads the 4D ``..._desc-SingletrialBetas_statmap.nii.gz`` (got whole, then the
voxel-major cache); ``"model"`` reads only the selected voxels' rows of the session's
``..._desc-GLMsingle_model.h5`` from the bucket by byte ranges (``betas/modelfile.py``); the
two give the same float32 values, bit for bit. ``"auto"`` (the default) reads what is here:
the NIfTI when its content is present or its voxel-major cache is, else ``model.h5``, which
holds only the anatomical brain mask's voxels (a selection reaching outside it, possible with
``mask_source="rsquare"``, is read from the NIfTI).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from ...checks.choices import unknown
from ...errors import MissingContentError
from ...layout.names import GLM
from ..betas.cache import CacheFile, enabled
from ..betas.modelfile import ModelFile, RowQuery, plan, read_rows
from ..clone.content import human, is_present
from .types import BrainMaskSource, Floats, Mask

if TYPE_CHECKING:
    from .subject import Subject

SOURCES = ("auto", "nifti", "model")
ANATOMICAL: BrainMaskSource = "anatomical"


def check_source(source: object) -> str:
    if not isinstance(source, str) or source not in SOURCES:
        raise unknown("source", str(source), SOURCES)
    return source


def model_rows(
    sub: Subject, selection: Mask, mask_source: BrainMaskSource | None
) -> npt.NDArray[np.intp] | None:
    """The rows of ``betasmd`` (positions in the anatomical brain mask, C order) of the
    selected voxels, in the selection's order; None when some lie outside that mask."""
    anatomical = sub._brain_of(ANATOMICAL)
    grid = np.zeros(sub.shape, dtype=bool)
    grid[sub._brain_of(mask_source)] = selection
    if (grid & ~anatomical).any():
        return None
    return np.flatnonzero(grid[anatomical])


def reads_model(
    sub: Subject,
    betas: Path,
    source: str,
    rows: npt.NDArray[np.intp] | None,
    cache: bool | None,
    mask_source: BrainMaskSource | None,
) -> bool:
    """Whether this session's betas come from ``model.h5``."""
    if source == "nifti":
        return False
    if rows is None:
        if source == "model":
            raise MissingContentError(
                "source='model' reads the anatomical brain mask's voxels, and this selection "
                "reaches outside it; use mask_source='anatomical' or source='nifti'"
            )
        return False
    if source == "model":
        return True
    if is_present(betas):
        return False
    use_cache = enabled() if cache is None else cache
    return not (use_cache and CacheFile.of(betas, sub._brain_of(mask_source)).valid())


def model_query(
    sub: Subject,
    betas: Path,
    selection: Mask,
    mask_source: BrainMaskSource | None,
    source: str,
    cache: bool | None,
    n_trials: int,
) -> tuple[npt.NDArray[np.intp], int] | None:
    """The ``model.h5`` rows a session's ``selection`` is read from, with its trial count
    (what ``model_betas`` takes), or None when it is read from the NIfTI."""
    rows = model_rows(sub, selection, mask_source)
    chosen = reads_model(sub, betas, source, rows, cache, mask_source)
    return (rows, n_trials) if chosen and rows is not None else None


def model_file(sub: Subject, session: str) -> ModelFile:
    """The session's ``model.h5`` with the versioned URL git-annex records for its key."""
    from ...repo.annex import key_urls
    from ..betas.cache import content_key

    path = sub.files.model(session)
    key = content_key(path)
    urls = key_urls(sub.content.root / GLM, [key]).get(key, [])
    if not urls:
        raise MissingContentError(
            f"{sub.content.relative(path)}: git-annex records no URL for its key {key}; "
            "read the NIfTI instead (source='nifti')"
        )
    return ModelFile.of(path, urls[0])


def model_betas(
    sub: Subject, wanted: dict[str, tuple[npt.NDArray[np.intp], int] | None]
) -> dict[str, Floats]:
    """Per session whose rows and trial count are given (None: not read from ``model.h5``),
    ``(n_trials, len(rows))``: every trial of those rows, all sessions' missing rows fetched
    together."""
    given = {s: w for s, w in wanted.items() if w is not None}
    sessions = list(given)
    n_voxels = sub.get_n_voxels(ANATOMICAL)
    queries = [
        RowQuery(model_file(sub, s), rows, n_voxels, n_trials)
        for s, (rows, n_trials) in given.items()
    ]
    rows = read_rows(queries)
    return {s: np.ascontiguousarray(r.T) for s, r in zip(sessions, rows, strict=True)}


@dataclass(frozen=True)
class ReadPlan:
    """What reading some voxels of some sessions from ``model.h5`` costs, before it is done:
    per session the byte ranges of the rows not cached yet."""

    sessions: dict[str, list[tuple[int, int]]]  # session -> (start, end) ranges, end exclusive
    names: dict[str, str]
    cached: dict[str, int]  # rows already in the row cache
    n_voxels: int
    ok: bool = True

    @property
    def bytes(self) -> int:
        return sum(end - start for ranges in self.sessions.values() for start, end in ranges)

    @property
    def requests(self) -> int:
        return sum(len(ranges) for ranges in self.sessions.values())

    def details(self) -> str:
        lines = []
        for session, ranges in self.sessions.items():
            shown = " ".join(f"{a}-{b - 1}" for a, b in ranges[:8])
            more = f" ... ({len(ranges) - 8} more)" if len(ranges) > 8 else ""
            lines.append(
                f"{session}: {self.names[session]}: {len(ranges)} ranges, "
                f"{human(sum(b - a for a, b in ranges))}, {self.cached[session]} rows cached: "
                f"{shown}{more}"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        return (
            f"would read {human(self.bytes)} in {self.requests} range requests for "
            f"{self.n_voxels} voxels of {len(self.sessions)} sessions (plus each file's header "
            "once, a few 64 kB ranges, unless cached)"
        )


def plan_model_reads(
    sub: Subject, sessions: list[str], rows: npt.NDArray[np.intp], n_trials: dict[str, int]
) -> ReadPlan:
    """The ranges ``model_betas`` would fetch (reads each file's header, not its rows)."""
    queries = [
        RowQuery(model_file(sub, s), rows, sub.get_n_voxels(ANATOMICAL), n_trials[s])
        for s in sessions
    ]
    planned = plan(queries)
    return ReadPlan(
        {
            s: [r.byte_range(p.layout) for r in p.runs]
            for s, p in zip(sessions, planned, strict=True)
        },
        {s: p.query.model.name for s, p in zip(sessions, planned, strict=True)},
        {s: int(np.isin(rows, p.cached).sum()) for s, p in zip(sessions, planned, strict=True)},
        int(rows.size),
    )
