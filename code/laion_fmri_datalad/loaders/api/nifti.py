"""Values over a subject's selected voxels written as a NIfTI on the betas' grid (upstream's
``Subject.to_nifti``): checked before anything is written, written to a temporary name and
moved into place, so an interrupted write leaves no half file."""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt

from ...checks import validate
from ...errors import UsageError
from .types import Floats, Mask


def nifti_target(path: str | os.PathLike[str]) -> Path:
    """``path`` checked as a NIfTI file to write (its folder exists, its name ends in
    ``.nii`` or ``.nii.gz``), before anything is read or written."""
    if not isinstance(path, str | os.PathLike):
        raise UsageError(f"path {path!r} is not allowed; give a file name ending .nii or .nii.gz")
    return validate.file_to_write(Path(path), "path", (".nii", ".nii.gz"))


def float_values(values: npt.ArrayLike) -> Floats:
    """``values`` as float32, or a ``UsageError`` naming what they are."""
    try:
        return np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError):
        kind = type(values).__name__
        raise UsageError(f"values ({kind}) are not numbers; give an array of floats") from None


def write_nifti(
    data: Floats, target: Path, selection: Mask, brain: Mask, affine: npt.NDArray[np.float64]
) -> Path:
    """Write ``data`` over the ``selection`` of the ``brain`` mask's voxels (zero
    elsewhere) to ``target`` (from ``nifti_target``): 1-D ``(n_selected,)`` gives a volume,
    2-D ``(n_maps, n_selected)`` a 4D image, on ``brain``'s grid with ``affine``."""
    n = int(selection.sum())
    if data.ndim not in (1, 2) or data.shape[-1] != n:
        raise UsageError(
            f"values have shape {data.shape}; expected ({n},) or (n_maps, {n}) for the "
            "selected voxels"
        )
    voxels = np.zeros(int(brain.sum()), dtype=bool)
    voxels[selection] = True
    grid = np.zeros(brain.shape, dtype=bool)
    grid[brain] = voxels
    maps = data[np.newaxis] if data.ndim == 1 else data
    volume = np.zeros((*brain.shape, maps.shape[0]), dtype=np.float32)
    volume[grid] = maps.T
    image = nib.Nifti1Image(volume[..., 0] if data.ndim == 1 else volume, affine)
    image.header.set_xyzt_units("mm")
    partial = target.with_name(f".{target.name}.partial{''.join(target.suffixes[-2:])}")
    try:
        nib.save(image, partial)
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
