"""Reading masked single-trial betas in one sequential pass over a 4D ``.nii.gz``.

A session's betas are ``(143, 143, 143, ~1044)`` float32, about 12 GB decompressed. Loading
all of it to keep a few thousand voxels wastes memory; this reader decompresses the file
once, front to back, and keeps only the masked voxels of each volume, so peak memory stays
near the size of the result (``n_trials x n_voxels`` float32) plus one volume.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Sequence
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt

from ..errors import UsageError


def voxel_index(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Positions of the mask's voxels in a volume stored in NIfTI (Fortran) order, listed in
    the order ``volume[mask]`` gives them (C order), so results match nibabel + masking."""
    return np.ravel_multi_index(np.nonzero(mask), mask.shape, order="F")


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.GzipFile(path, "rb") if path.name.endswith(".gz") else path.open("rb")


def _read_exactly(stream: io.BufferedIOBase, size: int, path: Path) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise UsageError(f"'{path}' ends early: expected {size} more bytes, got {len(data)}")
    return data


def _volume_rows(volumes: Sequence[int] | None, n: int, path: Path) -> dict[int, list[int]]:
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
) -> npt.NDArray[np.float32]:
    """The masked voxels of the volumes of a 4D NIfTI, as float32 ``(n_volumes, n_voxels)``.

    ``volumes`` picks volumes (in the order given; default all); the file is still read
    once, front to back. NaNs are kept; the header's scaling (``scl_slope``,
    ``scl_inter``) is applied as nibabel applies it.
    """
    path = Path(path)
    with _open(path) as stream:
        header = nib.Nifti1Header.from_fileobj(stream)
        shape = header.get_data_shape()
        if len(shape) != 4:
            raise UsageError(f"'{path}' is not a 4D image (shape {shape})")
        if tuple(shape[:3]) != mask.shape:
            raise UsageError(
                f"mask shape {mask.shape} does not match the volumes of '{path}' {shape[:3]}"
            )
        dtype = header.get_data_dtype()
        slope, inter = header.get_slope_inter()
        offset = int(header.get_data_offset())
        _read_exactly(stream, offset - stream.tell(), path)  # whatever remains before data
        index = voxel_index(mask)
        volume_bytes = int(np.prod(shape[:3])) * dtype.itemsize
        wanted = _volume_rows(volumes, shape[3], path)
        n_rows = shape[3] if volumes is None else len(volumes)
        result = np.empty((n_rows, index.size), dtype=np.float32)
        last = max(wanted, default=-1)
        for t in range(last + 1):
            data = _read_exactly(stream, volume_bytes, path)
            rows = wanted.get(t)
            if rows:
                result[rows] = np.frombuffer(data, dtype=dtype)[index]
    if slope is not None and np.isfinite(slope):
        result *= np.float32(slope)
    if inter is not None and np.isfinite(inter):
        result += np.float32(inter)
    return result


def read_masked_betas_proxy(
    path: Path, mask: npt.NDArray[np.bool_], volumes: Sequence[int] | None = None
) -> npt.NDArray[np.float32]:
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
    wanted = _volume_rows(volumes, shape[3], Path(path))
    n_rows = shape[3] if volumes is None else len(volumes)
    result = np.empty((n_rows, int(mask.sum())), dtype=np.float32)
    proxy = image.dataobj
    for t in sorted(wanted):
        result[wanted[t]] = np.asarray(proxy[..., t], dtype=np.float32)[mask]
    return result
