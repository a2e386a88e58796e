"""The responses stage: one subject's image responses over a voxel set, read from every
session's betas once and written as one chunked HDF5 that every encoding job of the subject
reads instead of the betas (NSD's prepared-array pattern: ridge needs one
``(n_images, n_voxels)`` array, and a ``.nii.gz`` must be decompressed whole to give any).

Values: each voxel's single-trial betas z-scored within each session (over all its trials,
as ``get_betas(zscore=True)``), then averaged over every show of an image in every session,
images in name order: exactly the loaders' ``get_betas(session, zscore=True)`` of every
session, concatenated and averaged with ``average_repeats``. They are computed a block of
voxels at a time, so memory stays at one block of every trial, whatever the voxel set. An
ROI set reads only its voxels' rows of each session's ``model.h5`` by byte ranges, all
sessions at once (``loaders/api/modelbetas.py``; rows cached by the file's key in
``$LAION_FMRI_CACHE_DIR``); the whole brain (``all``) reads each session's 4D betas whole,
through its voxel-major cache (built once per session, shared the same way). Both give the
same float32 values, bit for bit.

The file (format ``FORMAT``): ``responses`` float32 ``(n_images, n_voxels)`` in chunks of
``CHUNK``, with Fletcher-32 checksums; ``images`` (names), ``n_trials`` (shows averaged per
image), ``voxels`` (``(n_voxels, 3)`` positions in the grid, C order), ``roi_names`` and
``roi_membership`` (bool ``(n_rois, n_voxels)``); attributes: subject, voxel set, grid shape
and affine, the ROI catalogue, the sessions, the name and git-annex key of the file each
session's betas were read from and the git blob id of its trial table. Written without
timestamps to a temporary name and moved into place: a rerun writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..errors import UsageError
from ..loaders.api.modelbetas import ANATOMICAL, model_betas, model_rows
from ..loaders.api.roiselect import resolve_rois
from ..loaders.api.subject import Subject
from ..loaders.api.trials import trial_rows, trial_volumes
from ..loaders.betas.cache import content_key, ensure_cache, load_betas, standardized
from ..loaders.betas.ranges import BetasLayout, bytes_of, coalesce
from ..loaders.betas.reader import average_repeats, read_header
from .jobspec import WHOLE_BRAIN

FORMAT = 1
BLOCK = 8192  # voxels per pass over the sessions' caches: 8192 x 31k trials x 4 B = 1 GB
CHUNK = (512, 1024)  # images x voxels
Floats = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]


def identity(path: Path) -> str:
    """What a file was, independent of the clone: its git-annex key, or for a file in git
    (a trial table) its git blob id."""
    key = content_key(path)
    if not key.startswith("FILE-"):
        return key
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return "git-blob-" + digest.hexdigest()


@dataclass(frozen=True)
class SessionInput:
    session: str
    betas: Path  # the file its values are read from: the 4D NIfTI, or model.h5 by ranges
    trials: pd.DataFrame  # the rows read (every trial), with session and label
    volumes: list[int]


Reader = Callable[[list[SessionInput], Mask], list[Floats]]


def reads_model(sub: Subject, voxel_set: str) -> bool:
    """Whether the responses of ``voxel_set`` are read from ``model.h5`` by byte ranges: an
    ROI set counted in the anatomical brain mask (whose voxels are ``betasmd``'s rows) is;
    the whole brain is read from the 4D files whole, which cost no more for every voxel."""
    return voxel_set != WHOLE_BRAIN and sub.brain_mask_source == ANATOMICAL


def voxel_names(sub: Subject, voxel_set: str) -> tuple[list[str], Mask]:
    """The ROI names a voxel set covers and its voxels (bool over the brain mask):
    ``all`` is the whole brain mask (every ROI of the catalogue listed); else ROI names and
    categories joined by ``+``."""
    catalogue = sub.files.roi_catalogue
    if voxel_set == WHOLE_BRAIN:
        names = resolve_rois("all", catalogue, sub.subject_id)
        return names, np.ones(sub.n_voxels, dtype=bool)
    names = resolve_rois(voxel_set.split("+"), catalogue, sub.subject_id)
    return names, np.asarray(sub.get_roi_mask(names))


def _sessions(sub: Subject, ranged: bool) -> list[SessionInput]:
    """Every session's trials and the volumes they are (rows by position); from
    ``model.h5`` (``ranged``) the table's length is checked against ``betasmd`` as it is
    read."""
    found = []
    for session in sub.get_sessions():
        trials = sub.get_trial_info(session)
        rows = trial_rows(trials, None)
        table = trials.iloc[rows].reset_index(drop=True)
        if ranged:
            source = sub.files.model(session)
            volumes = trial_volumes(trials, rows, len(trials), source)
        else:
            source = sub.files.betas(session)
            volumes = trial_volumes(trials, rows, read_header(source).n_volumes, source)
        found.append(SessionInput(session, source, table, volumes))
    return found


def nifti_reader(brain: Mask) -> Reader:
    """The sessions' z-scored betas of some voxels from the 4D files' voxel-major caches."""

    def read(sessions: list[SessionInput], wanted: Mask) -> list[Floats]:
        for s in sessions:
            ensure_cache(s.betas, brain)  # one pass per session, or none: built before
        return [load_betas(s.betas, brain, wanted, s.volumes, zscore=True) for s in sessions]

    return read


def model_reader(sub: Subject) -> Reader:
    """The sessions' z-scored betas of some voxels (of the anatomical brain mask) read from
    their ``model.h5`` rows, all sessions' ranges at once; each row holds every trial, so
    the z-score is over the session's trials as from the NIfTI."""

    def read(sessions: list[SessionInput], wanted: Mask) -> list[Floats]:
        rows = model_rows(sub, wanted, ANATOMICAL)
        if rows is None:  # wanted is over the anatomical mask: it cannot reach outside
            raise UsageError(f"{sub.subject_id}: voxels outside the anatomical brain mask")
        got = model_betas(sub, {s.session: (rows, len(s.volumes)) for s in sessions})
        return [standardized(got[s.session])[s.volumes] for s in sessions]

    return read


def _blocks(positions: npt.NDArray[np.intp], size: int) -> Iterator[npt.NDArray[np.intp]]:
    for start in range(0, positions.size, size):
        yield positions[start : start + size]


def compute(
    sessions: list[SessionInput],
    read: Reader,
    selection: Mask,
    write_block: Callable[[slice, Floats], None],
    block: int = BLOCK,
) -> tuple[list[str], npt.NDArray[np.int32]]:
    """Compute the responses of the ``selection`` (bool over the brain mask's voxels) block
    by block, each block's betas from ``read``, handing each ``(columns, values)`` to
    ``write_block``; returns the image names and the shows per image."""
    table = pd.concat([s.trials for s in sessions], ignore_index=True)
    names: list[str] = []
    counts = np.zeros(0, dtype=np.int32)
    done = 0
    for chunk in _blocks(np.flatnonzero(selection), block):
        wanted = np.zeros(selection.size, dtype=bool)
        wanted[chunk] = True
        values = np.concatenate(read(sessions, wanted))
        means, images = average_repeats(values, table)
        order = np.argsort(images["label"].to_numpy(), kind="stable")
        names = [str(n) for n in images["label"].to_numpy()[order]]
        counts = images["n_trials"].to_numpy()[order].astype(np.int32)
        write_block(slice(done, done + chunk.size), np.asarray(means[order], dtype=np.float32))
        done += chunk.size
    return names, counts


def write(sub: Subject, voxel_set: str, target: Path, block: int = BLOCK) -> Path:
    """Compute the responses of ``sub`` over ``voxel_set`` into ``target`` (an ``.h5``)."""
    import h5py

    names, selection = voxel_names(sub, voxel_set)
    n_voxels = int(selection.sum())
    if not n_voxels:
        raise UsageError(f"voxel set {voxel_set!r} of {sub.subject_id} has no voxel")
    ranged = reads_model(sub, voxel_set)
    if not ranged:
        sub.content.ensure_present([sub.files.betas(s) for s in sub.get_sessions()])
    sessions = _sessions(sub, ranged)  # reads each NIfTI's header: the content first
    brain = sub.get_brain_mask().reshape(sub.shape)
    read = model_reader(sub) if ranged else nifti_reader(brain)
    n_images = int(pd.concat([s.trials for s in sessions])["label"].nunique())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with h5py.File(partial, "w", track_order=False) as out:
            data = out.create_dataset(
                "responses",
                shape=(n_images, n_voxels),
                dtype=np.float32,
                chunks=(min(CHUNK[0], max(n_images, 1)), min(CHUNK[1], max(n_voxels, 1))),
                fletcher32=True,
                track_times=False,
            )

            def put(cols: slice, values: Floats) -> None:
                data[:, cols] = values

            images, counts = compute(sessions, read, selection, put, block)
            ijk = np.argwhere(brain)[selection].astype(np.int32)
            membership = np.stack([sub.get_roi_mask(n)[selection] for n in names])
            strings = h5py.string_dtype()
            datasets: dict[str, Any] = {
                "images": np.asarray(images, dtype=object),
                "n_trials": counts,
                "voxels": ijk,
                "roi_names": np.asarray(names, dtype=object),
                "roi_membership": membership,
            }
            for key, value in datasets.items():
                kind = strings if value.dtype == object else value.dtype
                out.create_dataset(key, data=value, dtype=kind, track_times=False)
            out.attrs.update(
                {
                    "format": FORMAT,
                    "subject": sub.subject_id,
                    "voxel_set": voxel_set,
                    "grid_shape": np.asarray(sub.shape, dtype=np.int32),
                    "affine": sub.affine,
                    "roi_catalogue": json.dumps(sub.files.roi_catalogue, sort_keys=True),
                    "sessions": json.dumps([s.session for s in sessions]),
                    "betas_keys": json.dumps([identity(s.betas) for s in sessions]),
                    "betas_files": json.dumps([s.betas.name for s in sessions]),
                    "trials_keys": json.dumps(
                        [identity(sub.files.trials(s.session)) for s in sessions]
                    ),
                    "values": "betas z-scored per voxel within each session, "
                    "averaged over every show of an image; images in name order",
                }
            )
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


@dataclass(frozen=True)
class Responses:
    """What an encoding job reads of a responses file: its images, and the voxels and
    values of an ROI set (``all``: every voxel of the file)."""

    path: Path
    subject: str
    images: list[str]
    n_trials: npt.NDArray[np.int32]
    columns: npt.NDArray[np.intp]  # the file's voxels of the set, ascending
    voxels: npt.NDArray[np.int32]  # (n, 3) grid positions of those voxels
    groups: dict[str, Mask]  # per ROI of the set: its voxels among ``columns``
    grid_shape: tuple[int, int, int]
    affine: npt.NDArray[np.float64]

    def blocks(self, size: int = BLOCK) -> Iterator[tuple[slice, Floats]]:
        """The values of the set, ``(n_images, <= size)`` float32 blocks of its voxels."""
        import h5py

        with h5py.File(self.path, "r", locking=False) as handle:
            data = handle["responses"]
            for start in range(0, self.columns.size, size):
                cols = self.columns[start : start + size]
                low, high = int(cols[0]), int(cols[-1]) + 1
                values = data[:, low:high]
                if values.shape[1] != cols.size:
                    values = values[:, cols - low]
                yield slice(start, start + cols.size), np.asarray(values, dtype=np.float32)

    def values(self) -> Floats:
        out = np.empty((len(self.images), self.columns.size), dtype=np.float32)
        for cols, block in self.blocks():
            out[:, cols] = block
        return out


def open_responses(path: Path, roi: str) -> Responses:
    """The images and the voxels of ROI set ``roi`` (names and categories joined by ``+``,
    or ``all``) in the responses file at ``path``."""
    import h5py

    if not path.is_file():
        raise UsageError(f"responses file {str(path)!r} is not there; run its responses job")
    with h5py.File(path, "r", locking=False) as handle:
        if int(handle.attrs["format"]) != FORMAT:
            raise UsageError(f"{path.name} has format {handle.attrs['format']}, not {FORMAT}")
        subject = str(handle.attrs["subject"])
        voxel_set = str(handle.attrs["voxel_set"])
        catalogue = json.loads(str(handle.attrs["roi_catalogue"]))
        roi_names = [str(n.decode() if isinstance(n, bytes) else n) for n in handle["roi_names"]]
        membership = np.asarray(handle["roi_membership"][()], dtype=bool)
        images = [str(n.decode() if isinstance(n, bytes) else n) for n in handle["images"]]
        counts = np.asarray(handle["n_trials"][()], dtype=np.int32)
        ijk = np.asarray(handle["voxels"][()], dtype=np.int32)
        i, j, k = (int(n) for n in handle.attrs["grid_shape"])
        affine = np.asarray(handle.attrs["affine"], dtype=np.float64)
    if roi == WHOLE_BRAIN:
        if voxel_set != WHOLE_BRAIN:
            raise UsageError(f"{path.name} covers {voxel_set!r}, not the whole brain ('all')")
        inside = np.ones(ijk.shape[0], dtype=bool)
        wanted = roi_names
    else:
        wanted = resolve_rois(roi.split("+"), catalogue, subject)
        missing = [n for n in wanted if n not in roi_names]
        if missing:
            raise UsageError(f"{path.name} ({voxel_set!r}) does not cover ROI {missing[0]!r}")
        rows = [roi_names.index(n) for n in wanted]
        inside = np.asarray(membership[rows].any(axis=0), dtype=bool)
    columns = np.flatnonzero(inside)
    groups = {n: membership[roi_names.index(n)][columns] for n in wanted}
    return Responses(
        path,
        subject,
        images,
        counts,
        columns,
        ijk[columns],
        groups,
        (i, j, k),
        affine,
    )


def main(argv: list[str] | None = None) -> int:
    """``python code/responses.py --subject sub-01 --voxels face+body`` in the analysis
    dataset (``--dataset`` default: ``inputs/laion-fmri``): writes the subject's responses
    file for that voxel set (``all``: the whole brain mask)."""
    import argparse
    import os

    from ..loaders.api.subject import load_subject
    from .jobspec import ResponsesSpec
    from .scriptmain import checked_software

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dataset", default="inputs/laion-fmri")
    parser.add_argument("--subject", required=True)
    parser.add_argument(
        "--voxels", required=True, help="ROI names/categories joined by '+', or all"
    )
    args = parser.parse_args(argv)
    spec = ResponsesSpec(args.subject, args.voxels)
    checked_software(Path.cwd())
    sub = load_subject(spec.subject, dataset=Path(args.dataset).absolute(), fetch=False)
    print(os.path.relpath(write(sub, spec.voxel_set, Path.cwd() / spec.output)))
    return 0


@dataclass(frozen=True)
class StageInputs:
    """What a responses job reads (absolute paths), from the loaders' queries alone (no
    content fetched): ``got`` whole (the brain mask, the set's ROI masks, every session's
    trial table, and for the whole brain its 4D betas, whose caches are built ahead, also
    listed in ``betas``), and ``ranged``: the ``model.h5`` files an ROI set reads by byte
    ranges, declared in its run record but never got."""

    got: list[Path]
    betas: list[Path]
    ranged: list[Path]


def input_paths(superdataset: Path, subject: str, voxel_set: str) -> StageInputs:
    from ..loaders.api.subject import load_subject

    sub = load_subject(subject, dataset=superdataset)
    spec = "all" if voxel_set == WHOLE_BRAIN else voxel_set.split("+")
    names = resolve_rois(spec, sub.files.roi_catalogue, subject)
    sessions = sub.get_sessions()
    trials = [sub.files.trials(session) for session in sessions]
    masks = [sub.files.anatomical_mask(), *(sub.files.roi(n) for n in names)]
    if reads_model(sub, voxel_set):  # the files' names end RANGED_SUFFIX
        return StageInputs([*masks, *trials], [], [sub.files.model(s) for s in sessions])
    betas = [sub.files.betas(session) for session in sessions]
    pairs = [p for pair in zip(trials, betas, strict=True) for p in pair]
    return StageInputs([*masks, *pairs], betas, [])


def range_bytes(superdataset: Path, subject: str, voxel_set: str) -> tuple[int, int]:
    """``(bytes, requests)`` the responses job of an ROI set will read from its sessions'
    ``model.h5`` (rows coalesced as the reader does; each file's header, a few small
    ranges, apart), from the masks and the trial tables: no request made."""
    from ..loaders.api.subject import load_subject

    sub = load_subject(subject, dataset=superdataset, fetch=False)
    rows = model_rows(sub, voxel_names(sub, voxel_set)[1], ANATOMICAL)
    if rows is None:
        return 0, 0
    runs = coalesce(rows)
    n_voxels = sub.get_n_voxels(ANATOMICAL)
    total = sum(
        bytes_of(runs, BetasLayout(0, n_voxels, len(sub.get_trial_info(s))))
        for s in sub.get_sessions()
    )
    return total, len(runs) * len(sub.get_sessions())
