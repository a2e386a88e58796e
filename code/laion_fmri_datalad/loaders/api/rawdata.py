"""A subject's raw data (upstream's ``has_raw``, ``get_events``, ``get_raw_bold``,
``get_sbref``): the ``sub-XX`` subdataset, installed and got on demand.

Raw runs are multi-echo (echoes 1-3), magnitude and phase, 160 or 163 volumes at TR 1.9 s;
sessions may hold runs beyond ``run-12`` (GLMsingle used only 01-12), which these accessors
reach like any other. BOLD and SBRef come back masked with the brain mask the betas use
(``mask_source="anatomical"`` by default), BOLD read in one sequential pass with memory near
the size of the result (``loaders/betas/reader.py``).
"""

from __future__ import annotations

from typing import Any, overload

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.entities import name_entities
from ...repo.dataset import registered_subdatasets
from ..betas.reader import read_masked_betas
from ..clone.content import Content
from ..clone.files import SubjectFiles
from .types import BrainMaskSource, Mask, Session, Sessions

PARTS = ("mag", "phase")
ECHOES = (1, 2, 3)
Floats = npt.NDArray[np.float32]


class RawDataMixin:
    """The raw-data accessors of :class:`~.subject.Subject`."""

    subject_id: str
    files: SubjectFiles
    content: Content

    def _brain_of(self, source: BrainMaskSource | None) -> Mask:  # Subject's
        raise NotImplementedError

    def has_raw(self, session: Session | None = None) -> bool:
        """Whether the dataset has this subject's raw data (of ``session``, when given)."""
        if self.subject_id not in registered_subdatasets(self.content.root):
            return False
        if session is None:
            return bool(self.files.raw_sessions)
        try:
            self.files.raw_session(session)
        except UsageError:
            return False
        return True

    @overload
    def get_events(self, session: Session, run: int | None = None) -> pd.DataFrame: ...
    @overload
    def get_events(self, session: Sessions, run: int | None = None) -> dict[str, pd.DataFrame]: ...
    def get_events(
        self, session: Session | Sessions, run: int | None = None
    ) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """The raw ``events.tsv`` of every run of a session, in run order, with a ``run``
        column first; with ``run``, that run's alone (still with its ``run`` column)."""
        if isinstance(session, list | tuple):
            return {str(s): self.get_events(s, run) for s in session}
        name = self.files.raw_session(session)
        paths = self.files.events(name)
        if not paths:
            raise UsageError(f"no events.tsv for {self.subject_id} {name} in the raw data")
        runs = {int(name_entities(p.name)["run"]): p for p in paths}
        if run is not None:
            number = self._run(name, run, sorted(runs))
            paths = [runs[number]]
        self.content.ensure_present(paths)
        tables = []
        for path in paths:
            table = pd.read_csv(path, sep="\t")
            table.insert(0, "run", int(name_entities(path.name)["run"]))
            tables.append(table)
        return pd.concat(tables, ignore_index=True)

    def get_raw_bold(
        self,
        session: Session,
        run: int,
        echo: int,
        part: str = "mag",
        mask_source: BrainMaskSource | None = None,
    ) -> Floats:
        """One echo of a raw run as float32 ``(n_volumes, n_voxels)`` over the brain mask
        (the betas' voxels, in their order), read in one pass with bounded memory."""
        path = self._raw(session, run, echo, part, "bold")
        self.content.ensure_present([path])
        return read_masked_betas(path, self._brain_of(mask_source))

    def get_sbref(
        self,
        session: Session,
        run: int,
        echo: int,
        part: str = "mag",
        mask_source: BrainMaskSource | None = None,
    ) -> Floats:
        """A run's single-band reference of one echo as float32 ``(n_voxels,)`` over the brain
        mask. SBRefs named with or without ``part-`` both resolve (the listing decides)."""
        path = self._raw(session, run, echo, part, "sbref")
        self.content.ensure_present([path])
        data = np.asarray(nib.load(path).dataobj, dtype=np.float32)
        brain = self._brain_of(mask_source)
        if data.shape[:3] != brain.shape:
            raise UsageError(f"'{path.name}' has shape {data.shape}, not the grid {brain.shape}")
        return np.ascontiguousarray(data.reshape(brain.shape)[brain])

    def _raw(self, session: Session, run: Any, echo: Any, part: Any, suffix: str) -> Any:
        name = self.files.raw_session(session)
        number = self._run(name, run, self.files.raw_runs(name))
        if echo not in ECHOES or isinstance(echo, bool):
            raise unknown("echo", echo, [str(e) for e in ECHOES])
        if part not in PARTS:
            raise unknown("part", part, PARTS)
        return self.files.raw_image(name, number, int(echo), str(part), suffix)

    def _run(self, session: str, run: Any, runs: list[int]) -> int:
        try:
            number = int(str(run).removeprefix("run-"))
        except ValueError:
            number = -1
        if number not in runs or isinstance(run, bool):
            shown = [f"{r:02d}" for r in runs]
            raise unknown("run", run, shown, f"in {self.subject_id} {session}")
        return number
