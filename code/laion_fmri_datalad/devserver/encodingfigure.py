"""The encoding analysis at a glance, as a PNG: per voxel, test R² against the noise
ceiling (the ``random_0`` split), and per split the ROI sets' R² over their ceiling (how
much generalisation drops from a random split to tau, cluster and OOD splits).

Read from the analysis dataset: the TSV summaries (in git), the R² maps (got from the
output store) and the noise ceilings (through the loaders, from ``inputs/laion-fmri``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from ..analysis.encodejob import NC_DESC
from ..analysis.jobspec import JobSpec
from ..layout.names import ANALYSIS_INPUTS
from ..loaders import load_subject
from ..loaders.api.roiselect import resolve_rois
from ..repo import datalad


@dataclass
class EncodingFigure:
    path: Path
    by_split: dict[str, float]  # split -> mean over subjects of the set's R²/NC
    voxels: int
    ok: bool = True

    def summary(self) -> str:
        bars = ", ".join(f"{split} {value:.2f}" for split, value in self.by_split.items())
        return f"R²/noise ceiling by split: {bars}; {self.voxels} voxels plotted -> {self.path}"


def voxel_values(analysis: Path, job: JobSpec) -> tuple[np.ndarray, np.ndarray]:
    """(test R², noise ceiling as a fraction) of the job's voxels."""
    sub = load_subject(job.subject, dataset=analysis / ANALYSIS_INPUTS)
    rois = resolve_rois(job.rois, sub.files.roi_catalogue, job.subject)
    r2_map = analysis / job.statmap("r2")
    datalad.call("get", dataset=str(analysis), path=[str(r2_map)])
    grid = np.zeros(sub.shape, dtype=bool)
    brain = sub.get_brain_mask().reshape(sub.shape)
    inside = np.zeros(int(brain.sum()), dtype=bool)
    inside[sub.get_roi_mask(rois)] = True
    grid[brain] = inside
    r2 = np.asarray(nib.load(r2_map).get_fdata(), dtype=np.float64)[grid]
    nc = np.asarray(sub.get_noise_ceiling(desc=NC_DESC, roi=rois), dtype=np.float64) / 100
    return r2, nc


def encoding_figure(
    analysis: Path, jobs: list[JobSpec], out: Path, splits: list[str]
) -> EncodingFigure:
    """The figure of ``jobs``; bars in the order of ``splits``, voxels of the first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = pd.concat(
        [pd.read_csv(analysis / job.summary, sep="\t") for job in jobs], ignore_index=True
    )
    whole = rows[rows["roi"] == "all"]
    by_split = {s: float(whole[whole["split"] == s]["r2_over_nc"].mean()) for s in splits}
    first = [job for job in jobs if job.split == splits[0]]
    pairs = [voxel_values(analysis, job) for job in first]
    r2 = np.concatenate([p[0] for p in pairs])
    nc = np.concatenate([p[1] for p in pairs])

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.scatter(nc, r2, s=8, alpha=0.6)
    left.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle="--")
    left.set_xlabel("noise ceiling (fraction)")
    left.set_ylabel("test R²")
    left.set_title(f"{splits[0]}: {len(first)} subjects, {first[0].roi} voxels")
    bars = right.bar(list(by_split), list(by_split.values()), color="tab:blue")
    right.bar_label(bars, fmt="%.2f")
    right.set_ylabel("R² / noise ceiling (ROI set, mean over subjects)")
    right.set_title(f"{first[0].embedding} encoding, by split")
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figure.savefig(out, dpi=100)
    plt.close(figure)
    return EncodingFigure(out, by_split, int(r2.size))
