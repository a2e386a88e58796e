"""A subject's anatomy: the T1w and T2w images, the anatomical brain masks and the
FreeSurfer reconstruction (upstream's ``get_t1w``, ``get_t2w``, ``get_anatomical_brain_mask``,
``has_anatomical``, ``has_freesurfer``, ``get_freesurfer_dir``). As at upstream's revision
the tutorial pins, the three ``res=`` accessors return the file's path (its content got);
``load_t1w``, ``load_t2w`` and ``anatomical_brain_mask`` give the image and the flat mask.

``derivatives/anatomical/sub-XX/ses-PrismaAnat/anat/`` holds each at full resolution and at
``res-1pt8`` (the betas' grid); ``derivatives/freesurfer/sub-XX/`` is a FreeSurfer 7.4.1
recon without BIDS entities. Content is got through DataLad when first needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import nibabel as nib
import numpy as np
import numpy.typing as npt

from ...checks.choices import unknown
from ...layout.names import ANAT, FREESURFER
from ...repo.dataset import registered_subdatasets
from ..clone.content import Content, is_installed
from ..clone.files import ANAT_RES, SubjectFiles


def anat_res(res: str | None) -> str | None:
    """``"1pt8"`` or None (full resolution; ``"full"`` says the same)."""
    value = None if res in (None, "full") else res
    if value not in ANAT_RES:
        raise unknown("res", res, ["1pt8", "full"], "for anatomical images (None: full)")
    return value


class AnatomyMixin:
    """The anatomy accessors of :class:`~.subject.Subject`."""

    subject_id: str
    files: SubjectFiles
    content: Content

    def _has(self, subdataset: str) -> bool:
        if subdataset not in registered_subdatasets(self.content.root):
            return False
        if not is_installed(self.content.root / subdataset):
            if not self.content.fetch:
                return True  # registered; which subjects it holds shows once installed
            self.content.ensure_installed(subdataset)
        return (self.content.root / subdataset / self.subject_id).is_dir()

    def has_anatomical(self) -> bool:
        """Whether the dataset has this subject's anatomical derivatives."""
        return self._has(ANAT)

    def has_freesurfer(self) -> bool:
        """Whether the dataset has this subject's FreeSurfer reconstruction."""
        return self._has(FREESURFER)

    def _path(self, suffix: str, res: str | None, desc: str | None = None) -> Path:
        path = self.files.anatomical(suffix, anat_res(res), desc)
        self.content.ensure_present([path])
        return path

    def get_t1w(self, *, res: str | None = None) -> Path:
        """The path of the T1w image, its content present: full resolution or
        ``res="1pt8"`` (upstream's form: ``nib.load(sub.get_t1w(res="1pt8"))``)."""
        return self._path("T1w", res)

    def get_t2w(self, *, res: str | None = None) -> Path:
        """The path of the T2w image (in T1w space), its content present."""
        return self._path("T2w", res)

    def get_anatomical_brain_mask(self, *, res: str | None = None) -> Path:
        """The path of the anatomical brain mask, its content present: full resolution or
        ``res="1pt8"``, the betas' grid."""
        return self._path("mask", res, desc="brain")

    def load_t1w(self, *, res: str | None = None) -> nib.Nifti1Image:
        """The T1w image, loaded (nibabel)."""
        return cast(nib.Nifti1Image, nib.load(self.get_t1w(res=res)))

    def load_t2w(self, *, res: str | None = None) -> nib.Nifti1Image:
        """The T2w image, loaded (nibabel)."""
        return cast(nib.Nifti1Image, nib.load(self.get_t2w(res=res)))

    def anatomical_brain_mask(self, *, res: str | None = None) -> npt.NDArray[np.bool_]:
        """The anatomical brain mask over its whole grid, flattened in C order (as
        ``get_brain_mask``)."""
        image = nib.load(self.get_anatomical_brain_mask(res=res))
        return np.asarray(np.asarray(image.dataobj) > 0).ravel()

    def get_freesurfer_dir(self) -> Path:
        """The subject's FreeSurfer directory (``mri/``, ``surf/``, ``label/``, ``stats/``),
        with its content got (a few hundred MB for a real subject)."""
        root = self.content.ensure_installed(FREESURFER) / self.subject_id
        if not root.is_dir():
            raise unknown(
                "subject",
                self.subject_id,
                sorted(p.name for p in root.parent.glob("sub-*")),
                "in derivatives/freesurfer",
            )
        files = sorted(p for p in root.rglob("*") if p.is_symlink() or p.is_file())
        self.content.ensure_present(files)
        return root
