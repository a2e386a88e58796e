"""The reference encoding analysis of one job, as the analysis dataset's ``code/encode.py``
runs it under ``datalad run``: load, fit, write.

Responses: the subject's responses file (``responses.py``: betas z-scored per voxel within
each session, averaged over every show of an image), the voxels of the job's ROI set. The
betas themselves are never read here. Features: the stimulus embedding of each image. Train
and test: the images of the split (in the subject's pool) that the subject saw, in name
order. Model: ``encoding.RidgeCV`` (ridge, alpha per voxel by cross-validation on the
training images), a block of voxels at a time. Written: per-voxel Pearson r, R² and R² over
the noise ceiling (``NoiseceilingAllrep``, percent) as NIfTI volumes on the betas' grid, and
a TSV with one row per ROI of the set and one for the whole set.

``input_paths`` names every file the job reads without reading any, so that the job runs
with those declared as ``datalad run`` inputs and nothing else is fetched.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd

from ..checks.choices import unknown
from ..errors import UsageError
from ..layout.discovery import find_superdataset
from ..loaders.api.nifti import nifti_target, write_nifti
from ..loaders.api.stimuli import STIMULI, load_stimuli
from ..loaders.api.subject import load_subject
from ..loaders.clone.content import Content
from ..splits.api import SplitSet, get_train_test_ids
from .encoding import RidgeCV
from .jobspec import EMBEDDINGS, STATS, JobSpec
from .responses import Responses, open_responses
from .scriptmain import checked_software

NC_DESC = "NoiseceilingAllrep"
Floats = npt.NDArray[np.float64]


def embeddings_file(model: str) -> str:
    return f"{STIMULI}/task-images_desc-{model}_embeddings.h5"


def input_paths(superdataset: Path, spec: JobSpec) -> tuple[list[Path], Path]:
    """The files of the superdataset the job reads (absolute): the embeddings, the split and
    the noise-ceiling map (also returned apart); subdatasets are installed as needed, no
    content is fetched. The responses file comes from the analysis dataset itself."""
    sub = load_subject(spec.subject, dataset=superdataset)  # installs; queries fetch nothing
    noise_ceiling = sub.files.subject_noise_ceiling(NC_DESC)
    stimuli = Content(find_superdataset(superdataset)).ensure_installed(STIMULI)
    splits = SplitSet(superdataset)
    if spec.split not in splits.names(spec.subject):
        raise unknown("split", spec.split, splits.names(spec.subject), f"for {spec.subject}")
    paths = [
        stimuli.parent / embeddings_file(spec.embedding),
        splits.directory / spec.subject / f"{spec.split}.json",
        noise_ceiling,
    ]
    return paths, noise_ceiling


@dataclass(frozen=True)
class Fitted:
    responses: Responses
    r: Floats
    r2: Floats
    ceiling: Floats
    fitted: npt.NDArray[np.bool_]
    n_train: int
    n_test: int

    @property
    def r2_over_nc(self) -> Floats:
        ceiling = self.ceiling / 100.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ceiling > 0, self.r2 / ceiling, np.nan)


def noise_ceiling_at(path: Path, responses: Responses) -> Floats:
    """The noise-ceiling map (percent) at the responses' voxels."""
    volume = np.asarray(nib.load(path).dataobj, dtype=np.float32)
    if volume.shape[:3] != responses.grid_shape:
        raise UsageError(f"{path.name} has shape {volume.shape}, not {responses.grid_shape}")
    i, j, k = responses.voxels.T
    return np.asarray(volume[i, j, k], dtype=np.float64)


def fit(superdataset: Path, spec: JobSpec, responses_file: Path, noise_ceiling: Path) -> Fitted:
    """Fit ``spec`` on its voxels of ``responses_file``, a block of voxels at a time."""
    responses = open_responses(responses_file, spec.roi)
    if responses.subject != spec.subject:
        raise UsageError(f"{responses_file.name} holds {responses.subject}, not {spec.subject}")
    train_ids, test_ids = get_train_test_ids(spec.split, spec.subject, dataset=superdataset)
    seen = set(responses.images)
    train = sorted(seen.intersection(train_ids))
    test = sorted(seen.intersection(test_ids))
    row = {name: i for i, name in enumerate(responses.images)}
    train_rows = [row[n] for n in train]
    test_rows = [row[n] for n in test]
    features = load_stimuli(superdataset, fetch=False).get_embeddings(spec.embedding, train + test)
    model = RidgeCV.prepare(features[: len(train)], features[len(train) :])
    n = responses.columns.size
    r, r2 = np.full(n, np.nan), np.full(n, np.nan)
    fitted = np.zeros(n, dtype=bool)
    for cols, values in responses.blocks():
        ok = np.all(np.isfinite(values), axis=0)
        if not ok.any():
            continue
        y = values[:, ok]
        block_r, block_r2, _ = model.fit_block(y[train_rows], y[test_rows])
        where = np.arange(cols.start, cols.stop)[ok]
        r[where], r2[where], fitted[where] = block_r, block_r2, True
    if not fitted.any():
        raise UsageError(f"{spec.job_id}: no voxel of {spec.roi} has a beta for every image")
    ceiling = noise_ceiling_at(noise_ceiling, responses)
    return Fitted(responses, r, r2, ceiling, fitted, model.n_train, model.n_test)


def summary_rows(fitted: Fitted) -> pd.DataFrame:
    """One row per ROI of the set and one (``all``) for the set: voxel count, mean r,
    mean and 90th-percentile R², median noise ceiling, and the ROI's R² over its ceiling
    (sum of R² over the sum of NC/100, voxels with a positive ceiling)."""
    groups = dict(fitted.responses.groups)
    groups["all"] = np.ones(fitted.responses.columns.size, dtype=bool)
    rows = []
    for name, inside in groups.items():
        r, r2 = fitted.r[inside], fitted.r2[inside]
        nc = fitted.ceiling[inside]
        ok = np.isfinite(r2) & (nc > 0)
        rows.append(
            {
                "roi": name,
                "n_voxels": int(inside.sum()),
                "n_fitted": int(np.isfinite(r2).sum()),
                "n_train": fitted.n_train,
                "n_test": fitted.n_test,
                "mean_r": _rounded(np.nanmean(r) if np.isfinite(r).any() else np.nan),
                "mean_r2": _rounded(np.nanmean(r2) if np.isfinite(r2).any() else np.nan),
                "p90_r2": _rounded(np.nanpercentile(r2, 90) if np.isfinite(r2).any() else np.nan),
                "median_nc": _rounded(float(np.median(nc)) if nc.size else np.nan),
                "r2_over_nc": _rounded(
                    float(r2[ok].sum() / (nc[ok].sum() / 100.0)) if ok.any() else np.nan
                ),
            }
        )
    return pd.DataFrame(rows)


def _rounded(value: float | np.floating[Any]) -> float:
    return float(np.round(value, 6))


def write_map(values: Floats, responses: Responses, target: Path) -> Path:
    """``values`` over the set's voxels as a NIfTI on the betas' grid (zero elsewhere)."""
    grid = np.zeros(responses.grid_shape, dtype=bool)
    i, j, k = responses.voxels.T
    grid[i, j, k] = True
    selection = np.ones(int(grid.sum()), dtype=bool)
    return write_nifti(
        values.astype(np.float32), nifti_target(target), selection, grid, responses.affine
    )


def run(
    superdataset: Path, spec: JobSpec, root: Path, responses_file: Path, noise_ceiling: Path
) -> list[Path]:
    """Fit ``spec`` and write its outputs under ``root`` (the analysis dataset)."""
    fitted = fit(superdataset, spec, responses_file, noise_ceiling)
    maps = {"r": fitted.r, "r2": fitted.r2, "r2overnc": fitted.r2_over_nc}
    (root / spec.out_dir).mkdir(parents=True, exist_ok=True)
    written = [write_map(maps[s], fitted.responses, root / spec.statmap(s)) for s in STATS]
    table = summary_rows(fitted)
    table.insert(0, "subject", spec.subject)
    table.insert(1, "split", spec.split)
    table.insert(2, "embedding", spec.embedding)
    summary = root / spec.summary
    partial = summary.with_name(f".{summary.name}.partial")
    table.to_csv(partial, sep="\t", index=False, na_rep="n/a", float_format="%.6g")
    partial.replace(summary)
    return [*written, summary]


def main(argv: list[str] | None = None) -> int:
    """``python code/encode.py --subject sub-01 --split random_0 --roi face --embedding CLIP
    --responses R.h5 --noise-ceiling NC.nii.gz`` in the analysis dataset (``--dataset``
    default: ``inputs/laion-fmri``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="inputs/laion-fmri")
    parser.add_argument("--subject", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--roi", required=True)
    parser.add_argument("--embedding", required=True, choices=EMBEDDINGS)
    parser.add_argument("--responses", type=Path, required=True, help="the responses file")
    parser.add_argument("--noise-ceiling", type=Path, required=True, help="the NC map (NIfTI)")
    args = parser.parse_args(argv)
    spec = JobSpec(args.embedding, args.split, args.subject, args.roi)
    checked_software(Path.cwd())
    superdataset = Path(args.dataset).absolute()
    for path in run(superdataset, spec, Path.cwd(), args.responses, args.noise_ceiling):
        print(os.path.relpath(path))
    return 0
