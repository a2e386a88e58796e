"""One participant's betas, trials, events, ROIs and noise ceilings, from a clone.

Names and semantics follow the upstream ``laion_fmri`` package: voxel vectors run over the
subject's brain-mask voxels in C order (``volume[brain_mask]``), ``get_betas`` returns
float32 ``(n_trials, n_voxels)``, a list of sessions gives a dict keyed by session, and
noise ceilings are in percent. The brain mask is chosen per call (``mask_source=``,
``"anatomical"`` or ``"rsquare"``) or for the subject (``load_subject(brain_mask=...)``).
What is new: ROI categories and ``"all"``, raw events, and content fetched on demand
through DataLad. Anatomy, multi-format ROIs and the per-trial stimulus accessors are the
mixins of ``anatomy``, ``roidata`` and ``trialstimuli`` (none imports ``Subject`` back).
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, overload

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd
from nibabel.affines import apply_affine

from ...checks.choices import unknown
from ...errors import UsageError
from ...layout.discovery import find_superdataset, subjects_in
from ...layout.ids import subject_id
from ..betas.cache import load_betas, standardized
from ..betas.reader import average_repeats as average_by_image
from ..betas.reader import read_header, read_masked_betas_proxy
from ..clone.content import Content
from ..clone.files import ROI_RES, SubjectFiles
from .anatomy import AnatomyMixin
from .modelbetas import check_source, model_betas, model_query
from .nifti import float_values, nifti_target, write_nifti
from .rawdata import RawDataMixin
from .roidata import RoiDataMixin
from .roiselect import RoiSpec, resolve_rois
from .trials import check_stimuli, trial_volumes
from .trialstimuli import TrialStimuliMixin
from .types import BRAIN_MASK_SOURCES, BrainMaskSource, Floats, Mask, Session, Sessions


def load_subject(
    subject: str | int,
    dataset: str | os.PathLike[str] | None = None,
    *,
    fetch: bool = True,
    brain_mask: BrainMaskSource = "anatomical",
) -> Subject:
    """A participant of the superdataset cloned at ``dataset`` (default: the clone containing
    the working directory, or ``$LAION_FMRI_DATASET``).

    With ``fetch=True`` files are got through DataLad when first needed (logged at INFO on
    the ``laion_fmri_datalad`` logger); with ``fetch=False`` missing content is an error
    naming the ``datalad get`` command. ``brain_mask`` is the default ``mask_source`` of every
    call: the voxels of the anatomical ``res-1pt8`` brain mask, or those where the mean R2
    is neither NaN nor 0 (``"rsquare"``).
    """
    root = find_superdataset(dataset)
    known = subjects_in(root)
    try:
        name = subject_id(subject)
    except UsageError:
        raise unknown("subject", subject, known) from None
    if name not in known:
        raise unknown("subject", subject, known)
    if brain_mask not in BRAIN_MASK_SOURCES:
        raise unknown("brain_mask source", brain_mask, BRAIN_MASK_SOURCES)
    return Subject(name, Content(root, fetch=fetch), brain_mask)


class Subject(AnatomyMixin, RawDataMixin, RoiDataMixin, TrialStimuliMixin):
    """A participant in a clone of the superdataset."""

    def __init__(self, subject: str, content: Content, brain_mask: BrainMaskSource) -> None:
        self.subject_id = subject
        self.files = SubjectFiles(subject, content)
        self.content = content
        self.brain_mask_source = brain_mask
        self._brains: dict[str, Mask] = {}

    def __repr__(self) -> str:
        return f"Subject({self.subject_id!r}, dataset={str(self.content.root)!r})"

    # -- what exists -------------------------------------------------------------------
    def get_sessions(self) -> list[str]:
        """The public sessions with betas, sorted (``['ses-01', ...]``)."""
        return list(self.files.sessions)

    def get_available_categories(self) -> list[str]:
        return list(self.files.roi_catalogue)

    def get_available_rois(self, category: str | None = None) -> list[str]:
        """ROI names (hyphen-free), sorted; of one category if given."""
        catalogue = self.files.roi_catalogue
        if category is None:
            return sorted((n for names in catalogue.values() for n in names), key=str.lower)
        if category not in catalogue:
            raise unknown("ROI category", category, catalogue, f"for {self.subject_id}")
        return list(catalogue[category])

    # -- tables ------------------------------------------------------------------------
    @overload
    def get_trial_info(self, session: Session) -> pd.DataFrame: ...
    @overload
    def get_trial_info(self, session: Sessions) -> dict[str, pd.DataFrame]: ...
    def get_trial_info(self, session: Session | Sessions) -> pd.DataFrame | dict[str, pd.DataFrame]:
        """The trial table (``session, run, beta_index, label``); row *i* is betas volume *i*
        (``beta_index`` counts within the run, from 0 again in every run)."""
        if isinstance(session, list | tuple):
            return {s: self.get_trial_info(s) for s in self._sessions(session)}
        path = self.files.trials(self.files.session(session))
        self.content.ensure_present([path])
        return pd.read_csv(path, sep="\t")

    # -- voxels ------------------------------------------------------------------------
    @cached_property
    def _grid(self) -> Any:
        """The anatomical brain mask image: the grid (shape, affine) of the betas."""
        path = self.files.anatomical_mask()
        self.content.ensure_present([path])
        return nib.load(path)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape of the betas' voxel grid."""
        return tuple(int(n) for n in self._grid.shape[:3])  # type: ignore[return-value]

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        return np.asarray(self._grid.affine, dtype=np.float64)

    def _volume(self, path: Path) -> npt.NDArray[Any]:
        self.content.ensure_present([path])
        data = np.asarray(nib.load(path).dataobj)
        if data.shape[:3] != self.shape:
            raise UsageError(f"'{path.name}' has shape {data.shape}, not the grid {self.shape}")
        return data

    @property
    def _brain(self) -> Mask:
        """The subject's voxels (of its default mask source), as a 3D mask."""
        return self._brain_of(None)

    def _brain_of(self, source: BrainMaskSource | None) -> Mask:
        """The voxels of a mask source (None: the subject's default), as a 3D mask."""
        source = self.brain_mask_source if source is None else source
        if source not in self._brains:
            self._brains[source] = self.get_brain_mask(source).reshape(self.shape)
        return self._brains[source]

    def get_brain_mask(
        self, source: BrainMaskSource | None = None, res: str | None = ROI_RES
    ) -> Mask:
        """The brain mask over its whole grid, flattened in C order (upstream's form;
        ``.reshape(subject.shape)`` gives the volume). ``anatomical``: the anatomical brain
        mask, on the betas' grid (``res="1pt8"``) or at full resolution (``res=None``);
        ``rsquare``: voxels where the subject's mean R2 (``R2mean``) is neither NaN nor 0
        (betas' grid only). Default: the source the subject was loaded with."""
        source = self.brain_mask_source if source is None else source
        if source not in BRAIN_MASK_SOURCES:
            raise unknown("brain mask source", source, BRAIN_MASK_SOURCES)
        if res not in (ROI_RES, None, "full"):
            raise unknown("res", res, [ROI_RES, "full"], "for brain masks (None: full)")
        if source == "anatomical":
            if res != ROI_RES:
                return self.anatomical_brain_mask(res=None)
            return np.asarray(self._volume(self.files.anatomical_mask()) > 0).ravel()
        if res != ROI_RES:
            raise UsageError(
                f"res {res!r} is not allowed for source 'rsquare'; R2mean is on the '{ROI_RES}' grid"
            )
        r2 = self._volume(self.files.mean_rsquare()).astype(np.float32)
        return np.asarray(np.isfinite(r2) & (r2 != 0)).ravel()

    @property
    def n_voxels(self) -> int:
        return int(self._brain.sum())

    def get_n_voxels(self, mask_source: BrainMaskSource | None = None) -> int:
        """How many voxels the brain mask of ``mask_source`` has (the length of every voxel
        vector read with it)."""
        return int(self._brain_of(mask_source).sum())

    def get_roi_mask(self, roi: RoiSpec, mask_source: BrainMaskSource | None = None) -> Mask:
        """The voxels (of the brain mask) inside ``roi``: an ROI name, a category, ``"all"``
        or a list of these, unioned. Bool ``(n_voxels,)``."""
        names = resolve_rois(roi, self.files.roi_catalogue, self.subject_id)
        paths = [self.files.roi(n) for n in names]
        self.content.ensure_present(paths)
        union = np.zeros(self.shape, dtype=bool)
        for path in paths:
            union |= self._volume(path) > 0
        return np.asarray(union[self._brain_of(mask_source)])

    def _selection(
        self, roi: RoiSpec | None, mask: Any, mask_source: BrainMaskSource | None = None
    ) -> Mask:
        if roi is not None and mask is not None:
            raise UsageError("give roi or mask, not both (roi selects a mask itself)")
        if roi is not None:
            return self.get_roi_mask(roi, mask_source)
        brain = self._brain_of(mask_source)
        n_voxels = int(brain.sum())
        if mask is None:
            return np.ones(n_voxels, dtype=bool)
        array = np.asarray(mask)
        if array.dtype != np.bool_:
            raise UsageError(f"mask has dtype {array.dtype}; a boolean array is needed")
        if array.shape == (n_voxels,):
            return array
        if array.shape == self.shape:
            return np.asarray(array[brain])
        raise UsageError(
            f"mask has shape {array.shape}; allowed: ({n_voxels},) over the brain-mask "
            f"voxels or {self.shape} over the grid"
        )

    def get_voxel_coordinates(
        self,
        roi: RoiSpec | None = None,
        mask: Any = None,
        units: Literal["mm", "voxel"] = "mm",
        mask_source: BrainMaskSource | None = None,
    ) -> npt.NDArray[Any]:
        """``(n_selected, 3)`` positions of the selected voxels, in the order of the voxel
        vectors: scanner millimetres of the subject's T1w space, or voxel indices (i, j, k)."""
        if units not in ("mm", "voxel"):
            raise unknown("units", units, ["mm", "voxel"])
        ijk = np.argwhere(self._brain_of(mask_source))[self._selection(roi, mask, mask_source)]
        if units == "voxel":
            return ijk
        return np.asarray(apply_affine(self.affine, ijk), dtype=np.float64)

    # -- maps --------------------------------------------------------------------------
    @overload
    def get_noise_ceiling(
        self,
        session: Session | None = None,
        desc: str | None = None,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        mask_source: BrainMaskSource | None = None,
    ) -> Floats: ...
    @overload
    def get_noise_ceiling(
        self,
        session: Sessions | None = None,
        desc: list[str] | None = None,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        mask_source: BrainMaskSource | None = None,
    ) -> dict[str, Floats]: ...
    def get_noise_ceiling(
        self,
        session: Session | Sessions | None = None,
        desc: str | list[str] | None = None,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        mask_source: BrainMaskSource | None = None,
    ) -> Floats | dict[str, Floats]:
        """Noise ceiling in percent over the selected voxels: of one session, or the
        subject-level map ``desc`` (``Noiseceiling4rep``, ``Noiseceiling12rep``,
        ``NoiseceilingAllrep``). Give exactly one of the two; a list gives a dict."""
        if (session is None) == (desc is None):
            raise UsageError(
                "give exactly one of session (e.g. 'ses-01') or desc (one of "
                + ", ".join(self.files.noise_ceiling_descs)
                + ")"
            )
        if isinstance(session, list | tuple):
            return {
                s: self.get_noise_ceiling(session=s, roi=roi, mask=mask, mask_source=mask_source)
                for s in self._sessions(session)
            }
        if isinstance(desc, list):
            return {
                d: self.get_noise_ceiling(desc=d, roi=roi, mask=mask, mask_source=mask_source)
                for d in desc
            }
        selection = self._selection(roi, mask, mask_source)
        if session is not None:
            path = self.files.session_noise_ceiling(self.files.session(session))
        else:
            if desc not in self.files.noise_ceiling_descs:
                raise unknown("noise ceiling desc", desc, self.files.noise_ceiling_descs)
            path = self.files.subject_noise_ceiling(str(desc))
        volume = self._volume(path).astype(np.float32)
        return np.asarray(volume[self._brain_of(mask_source)][selection], dtype=np.float32)

    @overload
    def get_betas(
        self,
        session: Session,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        stimuli: str | Sequence[str] | None = None,
        streaming: bool = True,
        *,
        zscore: bool = False,
        average_repeats: bool = False,
        return_trials: Literal[False] = False,
        cache: bool | None = None,
        mask_source: BrainMaskSource | None = None,
        source: str = "auto",
    ) -> Floats: ...
    @overload
    def get_betas(
        self,
        session: Session,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        stimuli: str | Sequence[str] | None = None,
        streaming: bool = True,
        *,
        zscore: bool = False,
        average_repeats: bool = False,
        return_trials: Literal[True],
        cache: bool | None = None,
        mask_source: BrainMaskSource | None = None,
        source: str = "auto",
    ) -> tuple[Floats, pd.DataFrame]: ...
    @overload
    def get_betas(
        self,
        session: Sessions,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        stimuli: str | Sequence[str] | None = None,
        streaming: bool = True,
        *,
        zscore: bool = False,
        average_repeats: bool = False,
        return_trials: Literal[False] = False,
        cache: bool | None = None,
        mask_source: BrainMaskSource | None = None,
        source: str = "auto",
    ) -> dict[str, Floats]: ...
    @overload
    def get_betas(
        self,
        session: Sessions,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        stimuli: str | Sequence[str] | None = None,
        streaming: bool = True,
        *,
        zscore: bool = False,
        average_repeats: bool = False,
        return_trials: Literal[True],
        cache: bool | None = None,
        mask_source: BrainMaskSource | None = None,
        source: str = "auto",
    ) -> dict[str, tuple[Floats, pd.DataFrame]]: ...
    def get_betas(
        self,
        session: Session | Sessions,
        roi: RoiSpec | None = None,
        mask: npt.ArrayLike | None = None,
        nc_threshold: float | None = None,
        stimuli: str | Sequence[str] | None = None,
        streaming: bool = True,
        *,
        zscore: bool = False,
        average_repeats: bool = False,
        return_trials: bool = False,
        cache: bool | None = None,
        mask_source: BrainMaskSource | None = None,
        source: str = "auto",
    ) -> Any:
        """Single-trial betas, float32 ``(n_trials, n_voxels)``, NaNs kept.

        ``roi``/``mask`` select voxels; ``nc_threshold`` (percent, like the maps) keeps
        voxels whose noise ceiling of that session is at least that; ``stimuli`` keeps
        trials: ``"shared"``, ``"unique"``, or a list of image names (trials in table order).
        ``zscore``: each voxel standardised over all trials of the session (population
        standard deviation), before trials are selected; NaN where a voxel does not vary.
        ``average_repeats``: one row per image, the mean of its (selected) trials, images in
        the order of their first trial. ``return_trials``: also the table of the rows, the
        selected rows of the trial table, or with ``average_repeats`` one row per image
        (``session, label, n_trials, rows``: the rows of the session's trial table averaged).
        Row *i* of the trial table is volume *i* of the betas; ``beta_index`` (which
        restarts in every run) is data, never a volume index.

        ``source``: ``"auto"`` (default) reads the NIfTI when its content or cache is here,
        else only the selected voxels' rows of each session's ``model.h5`` by byte ranges
        (a list's sessions at once, cached by the file's key: a second query reads nothing
        from the network); ``"nifti"`` and ``"model"`` force one. Both give the same values.

        The first read of a session decompresses the 4D file once, front to back, and also
        writes a voxel-major cache of every brain-mask voxel (in the subdataset's git
        directory, or ``$LAION_FMRI_CACHE_DIR``); later reads of the session, of any voxels
        or trials, read only the cached chunks they need. ``cache=False`` (or
        ``LAION_FMRI_BETA_CACHE=off``) reads the file without the cache; ``streaming=False``
        reads through nibabel's array proxy (slower on gzip, any format nibabel reads). A
        list of sessions gives a dict. ``mask_source`` (``"anatomical"``, ``"rsquare"``;
        default: the subject's) chooses the brain mask the voxels are counted in."""
        source = check_source(source)
        check_stimuli(stimuli)  # before anything is installed or got
        prefetched: dict[str, Floats] = {}

        @functools.cache  # a list's sessions are asked twice: the noise ceiling read once
        def selected(name: str) -> Mask:
            selection = self._selection(roi, mask, mask_source)
            if nc_threshold is not None:
                selection = selection & self._above(name, nc_threshold, mask_source)
            return selection

        trials_of = functools.cache(self.get_trial_info)

        def from_model(name: str) -> tuple[npt.NDArray[np.intp], int] | None:
            betas, n_trials = self.files.betas(name), len(trials_of(name))
            return model_query(self, betas, selected(name), mask_source, source, cache, n_trials)

        def one(session: Session) -> Any:
            name = self.files.session(session)
            selection = selected(name)
            trials = trials_of(name)
            rows = self._stimulus_rows(trials, stimuli)
            model = None if name in prefetched else from_model(name)
            if model is not None:  # a session not fetched with the others of a list
                prefetched.update(model_betas(self, {name: model}))
            if name in prefetched:
                every = prefetched.pop(name)  # every trial: zscore needs them all
                volumes = trial_volumes(trials, rows, every.shape[0], f"{name}'s model.h5")
                values = standardized(every)[volumes] if zscore else every[volumes]
            else:
                path = self.files.betas(name)
                self.content.ensure_present([path])
                volumes = trial_volumes(trials, rows, read_header(path).n_volumes, path)
                values = nifti_values(path, selection, volumes)
            table = trials.iloc[rows].reset_index(drop=True)
            if average_repeats:
                values, table = average_by_image(values, table, volumes)
            return (values, table) if return_trials else values

        def nifti_values(path: Path, selection: Mask, volumes: list[int]) -> Floats:
            if streaming:
                brain = self._brain_of(mask_source)
                return load_betas(path, brain, selection, volumes, zscore=zscore, use_cache=cache)
            grid = np.zeros(self.shape, dtype=bool)
            grid[self._brain_of(mask_source)] = selection
            values = read_masked_betas_proxy(path, grid, None if zscore else volumes)
            return standardized(values)[volumes] if zscore else values

        if isinstance(session, list | tuple):
            names = self._sessions(session)
            if source != "nifti":  # the sessions read from model.h5, fetched together
                prefetched.update(model_betas(self, {n: from_model(n) for n in names}))
            return {s: one(s) for s in names}
        return one(session)

    def _above(
        self, session: str, threshold: float, mask_source: BrainMaskSource | None = None
    ) -> Mask:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise UsageError(f"nc_threshold {threshold!r} is not a number (percent, 0-100)")
        if not 0 <= threshold <= 100 or math.isnan(threshold):
            raise UsageError(f"nc_threshold {threshold!r} is outside 0-100 (percent)")
        if 0 < threshold <= 1:
            warnings.warn(
                f"nc_threshold={threshold} looks like a fraction; noise ceilings are in "
                f"percent (0-100), so this keeps voxels with NC >= {threshold} %",
                UserWarning,
                stacklevel=3,
            )
        nc = self.get_noise_ceiling(session=session, mask_source=mask_source)
        return np.asarray(np.nan_to_num(nc, nan=-1.0) >= threshold)

    # -- writing -------------------------------------------------------------------------
    def to_nifti(
        self,
        values: npt.ArrayLike,
        path: str | os.PathLike[str],
        roi: RoiSpec | None = None,
        mask: Any = None,
        mask_source: BrainMaskSource | None = None,
    ) -> Path:
        """Write values over the selected voxels as a NIfTI on the betas' grid (zero
        elsewhere): 1-D ``(n_selected,)`` gives a volume, 2-D ``(n_maps, n_selected)`` a 4D
        image. Written to a temporary name and moved into place."""
        target = nifti_target(path)  # the values and the path checked before anything is got
        data = float_values(values)
        selection = self._selection(roi, mask, mask_source)
        return write_nifti(data, target, selection, self._brain_of(mask_source), self.affine)

    def _sessions(self, sessions: Session | Sessions) -> list[str]:
        assert isinstance(sessions, list | tuple)
        return [self.files.session(s) for s in sessions]
