"""The reference encoding analysis of one job, as the analysis dataset's ``code/encode.py``
runs it under ``datalad run``: load, fit, write.

Responses: the subject's single-trial betas of the ROI set, z-scored per voxel within each
session, then averaged over every repeat of an image across sessions. Features: the
stimulus embedding of each image. Train and test: the images of the split (in the subject's
pool) that the subject saw, in name order. Model: ``encoding.fit_and_test`` (ridge, alpha per
voxel by cross-validation on the training images). Written: per-voxel Pearson r, R² and R²
over the noise ceiling (``NoiseceilingAllrep``, percent) as NIfTI volumes through
``to_nifti``, and a TSV with one row per ROI of the set and one for the whole set.

``input_paths`` names every file the job reads without reading any, so that the job runs
with those declared as ``datalad run`` inputs and its loaders never fetch anything else
(``fetch=False``: an undeclared input is an error, not a silent download).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..choices import unknown
from ..errors import UsageError
from ..layout.discovery import find_superdataset
from ..loaders.api.roiselect import resolve_rois
from ..loaders.api.stimuli import STIMULI, load_stimuli
from ..loaders.api.subject import Subject, load_subject
from ..loaders.betas.reader import average_repeats
from ..loaders.clone.content import Content
from ..splits.api import SplitSet, get_train_test_ids
from .encoding import EncodingResult, fit_and_test
from .jobspec import EMBEDDINGS, JobSpec

NC_DESC = "NoiseceilingAllrep"
Floats = npt.NDArray[np.float64]


def embeddings_file(model: str) -> str:
    return f"{STIMULI}/task-images_desc-{model}_embeddings.h5"


def input_paths(superdataset: Path, spec: JobSpec) -> list[Path]:
    """Every file the job reads (absolute), found by the loaders' queries: subdatasets are
    installed as needed, no content is fetched."""
    sub = load_subject(spec.subject, dataset=superdataset)  # installs; queries fetch nothing
    rois = resolve_rois(spec.rois, sub.files.roi_catalogue, spec.subject)
    paths = [sub.files.anatomical_mask(), *(sub.files.roi(name) for name in rois)]
    for session in sub.get_sessions():
        paths += [sub.files.trials(session), sub.files.betas(session)]
    paths.append(sub.files.subject_noise_ceiling(NC_DESC))
    stimuli = Content(find_superdataset(superdataset)).ensure_installed(STIMULI)
    paths.append(stimuli.parent / embeddings_file(spec.embedding))
    splits = SplitSet(superdataset)
    if spec.split not in splits.names(spec.subject):
        raise unknown("split", spec.split, splits.names(spec.subject), f"for {spec.subject}")
    paths.append(splits.directory / spec.subject / f"{spec.split}.json")
    return paths


def image_responses(sub: Subject, rois: list[str]) -> tuple[list[str], Floats]:
    """The images the subject saw (name order) and their mean z-scored betas over every
    repeat in every session: ``(n_images, n_voxels of the ROI set)``."""
    values, tables = [], []
    for session in sub.get_sessions():
        betas, trials = sub.get_betas(session, roi=rois, zscore=True, return_trials=True)
        values.append(betas)
        tables.append(trials)
    table = pd.concat(tables, ignore_index=True)
    means, images = average_repeats(np.concatenate(values), table)
    order = np.argsort(images["label"].to_numpy(), kind="stable")
    names = [str(n) for n in images["label"].to_numpy()[order]]
    return names, np.asarray(means[order], dtype=np.float64)


def fit(
    superdataset: Path, spec: JobSpec, *, fetch: bool = False
) -> tuple[Subject, list[str], EncodingResult, Floats, npt.NDArray[np.bool_]]:
    """Load and fit: the subject, the ROI names, the result over the voxels every image has
    a value for, the noise ceiling of the set's voxels and which voxels were fitted."""
    sub = load_subject(spec.subject, dataset=superdataset, fetch=fetch)
    rois = resolve_rois(spec.rois, sub.files.roi_catalogue, spec.subject)
    names, responses = image_responses(sub, rois)
    train_ids, test_ids = get_train_test_ids(spec.split, spec.subject, dataset=superdataset)
    seen = set(names)
    train = sorted(seen.intersection(train_ids))
    test = sorted(seen.intersection(test_ids))
    row = {name: i for i, name in enumerate(names)}
    features = load_stimuli(superdataset, fetch=fetch).get_embeddings(spec.embedding, train + test)
    fitted = np.all(np.isfinite(responses), axis=0)
    if not fitted.any():
        raise UsageError(f"{spec.job_id}: no voxel of {spec.roi} has a beta for every image")
    y = responses[:, fitted]
    result = fit_and_test(
        features[: len(train)],
        y[[row[n] for n in train]],
        features[len(train) :],
        y[[row[n] for n in test]],
    )
    ceiling = np.asarray(sub.get_noise_ceiling(desc=NC_DESC, roi=rois), dtype=np.float64)
    return sub, rois, result, ceiling, fitted


def _spread(values: Floats, fitted: npt.NDArray[np.bool_]) -> Floats:
    out = np.full(fitted.shape, np.nan)
    out[fitted] = values
    return out


def summary_rows(
    sub: Subject, rois: list[str], maps: dict[str, Floats], ceiling: Floats, n: tuple[int, int]
) -> pd.DataFrame:
    """One row per ROI of the set and one (``all``) for the set: voxel count, mean r,
    mean and 90th-percentile R², median noise ceiling, and the ROI's R² over its ceiling
    (sum of R² over the sum of NC/100, voxels with a positive ceiling)."""
    union = sub.get_roi_mask(rois)
    groups = {name: sub.get_roi_mask(name)[union] for name in rois}
    groups["all"] = np.ones(int(union.sum()), dtype=bool)
    rows = []
    for name, inside in groups.items():
        r, r2 = maps["r"][inside], maps["r2"][inside]
        nc = ceiling[inside]
        ok = np.isfinite(r2) & (nc > 0)
        rows.append(
            {
                "roi": name,
                "n_voxels": int(inside.sum()),
                "n_fitted": int(np.isfinite(r2).sum()),
                "n_train": n[0],
                "n_test": n[1],
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


def run(superdataset: Path, spec: JobSpec, root: Path, *, fetch: bool = False) -> list[Path]:
    """Fit ``spec`` and write its outputs under ``root`` (the analysis dataset)."""
    sub, rois, result, ceiling, fitted = fit(superdataset, spec, fetch=fetch)
    maps = {
        "r": _spread(result.pearson_r, fitted),
        "r2": _spread(result.r2, fitted),
    }
    maps["r2overnc"] = _spread(result.r2_over_ceiling(ceiling[fitted]), fitted)
    (root / spec.out_dir).mkdir(parents=True, exist_ok=True)
    written = [
        sub.to_nifti(maps[stat].astype(np.float32), root / spec.statmap(stat), roi=rois)
        for stat in maps
    ]
    table = summary_rows(sub, rois, maps, ceiling, (result.n_train, result.n_test))
    table.insert(0, "subject", spec.subject)
    table.insert(1, "split", spec.split)
    table.insert(2, "embedding", spec.embedding)
    summary = root / spec.summary
    partial = summary.with_name(f".{summary.name}.partial")
    table.to_csv(partial, sep="\t", index=False, na_rep="n/a", float_format="%.6g")
    partial.replace(summary)
    return [*written, summary]


def main(argv: list[str] | None = None) -> int:
    """``python code/encode.py --subject sub-01 --split random_0 --roi face --embedding CLIP``
    in the analysis dataset (``--dataset`` default: ``inputs/laion-fmri``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="inputs/laion-fmri")
    parser.add_argument("--subject", required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--roi", required=True)
    parser.add_argument("--embedding", required=True, choices=EMBEDDINGS)
    parser.add_argument(
        "--list-inputs",
        action="store_true",
        help="print the files the job reads (relative to the cwd), no fitting",
    )
    args = parser.parse_args(argv)
    spec = JobSpec(args.embedding, args.split, args.subject, args.roi)
    superdataset = Path(args.dataset).absolute()
    if args.list_inputs:
        for path in input_paths(superdataset, spec):
            print(os.path.relpath(path))
        return 0
    for path in run(superdataset, spec, Path.cwd()):
        print(os.path.relpath(path))
    return 0
