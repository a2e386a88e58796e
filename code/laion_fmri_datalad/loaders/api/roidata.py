"""ROIs in every form the dataset has: volume masks, fsnative ``.func.gii`` surface masks
and FreeSurfer ``.label`` files (upstream's ``get_roi_masks`` and ``get_roi_data``)."""

from __future__ import annotations

from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt

from ...checks.choices import unknown
from ..clone.content import Content
from ..clone.files import HEMIS, SubjectFiles
from .roiselect import RoiSpec, resolve_rois
from .types import BrainMaskSource

FORMATS = ("all", "volume", "nii.gz", "gii", "func.gii", "label")
HEMI_CHOICES = ("all", "L", "R")
RoiData = dict[str, Any]  # {"volume": mask, "gii": {"hemi-L": {"func.gii": ..., "label": ...}}}


def load_func_gii_mask(path: Any) -> npt.NDArray[np.bool_]:
    """A surface mask: one bool per vertex (values above zero)."""
    image = nib.load(path)
    return np.asarray(np.asarray(image.darrays[0].data) > 0)


def load_label(path: Any) -> npt.NDArray[np.int64]:
    """The vertices of a FreeSurfer ``.label`` file, as written."""
    return np.asarray(nib.freesurfer.read_label(str(path)), dtype=np.int64)


class RoiDataMixin:
    """The multi-format ROI accessors of :class:`~.subject.Subject`."""

    subject_id: str
    files: SubjectFiles
    content: Content

    def get_roi_mask(
        self, roi: RoiSpec, mask_source: BrainMaskSource | None = None
    ) -> npt.NDArray[np.bool_]:
        raise NotImplementedError  # Subject's

    def get_roi_masks(
        self, queries: RoiSpec, mask_source: BrainMaskSource | None = None
    ) -> dict[str, npt.NDArray[np.bool_]]:
        """One mask per query (a name, a category or ``"all"``), keyed by the query."""
        items = [queries] if isinstance(queries, str) else list(queries)
        return {q: self.get_roi_mask(q, mask_source=mask_source) for q in items}

    def get_roi_data(
        self, query: RoiSpec, format: str | None = None, hemi: str | None = None
    ) -> dict[str, RoiData]:
        """Per ROI of ``query``: ``{"volume": bool (n_voxels,), "gii": {"hemi-L":
        {"func.gii": bool (n_vertices,), "label": vertex indices}, "hemi-R": ...}}``, pruned
        by ``format`` (``all``, ``volume``/``nii.gz``, ``gii``, ``func.gii``, ``label``) and
        ``hemi`` (``all``, ``L``, ``R``)."""
        format, hemi = format or "all", hemi or "all"
        if format not in FORMATS:
            raise unknown("ROI format", format, FORMATS)
        if hemi not in HEMI_CHOICES:
            raise unknown("hemi", hemi, HEMI_CHOICES)
        names = resolve_rois(query, self.files.roi_catalogue, self.subject_id)
        return {name: self._roi_data(name, format, hemi) for name in names}

    def _roi_data(self, name: str, format: str, hemi: str) -> RoiData:
        out: RoiData = {}
        if format in ("all", "volume", "nii.gz"):
            out["volume"] = self.get_roi_mask(name)
        if format in ("all", "gii", "func.gii", "label"):
            surfaces: dict[str, dict[str, Any]] = {}
            for h in HEMIS if hemi == "all" else (hemi,):
                entry: dict[str, Any] = {}
                if format in ("all", "gii", "func.gii"):
                    path = self.files.roi_surface(name, h, ".func.gii")
                    self.content.ensure_present([path])
                    entry["func.gii"] = load_func_gii_mask(path)
                if format in ("all", "gii", "label"):
                    path = self.files.roi_surface(name, h, ".label")
                    self.content.ensure_present([path])
                    entry["label"] = load_label(path)
                surfaces[f"hemi-{h}"] = entry
            out["gii"] = surfaces
        return out
