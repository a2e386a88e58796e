"""A first look at an ROI: its betas and noise ceiling over a mean-beta slice, as a PNG.

Used by the README's main command on the user's clone (``sub-01 ses-01``, FFA = FFA1 +
FFA2); everything it shows comes through the loaders, which get the files they need.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..loaders import load_subject
from ..loaders.api.roiselect import RoiSpec


@dataclass
class RoiFigure:
    path: Path
    roi_voxels: int
    betas_shape: tuple[int, int]
    median_nc: float
    slice_k: int

    def summary(self) -> str:
        n_trials, n_voxels = self.betas_shape
        return (
            f"FFA betas {n_trials} trials x {n_voxels} voxels (float32), median noise "
            f"ceiling {self.median_nc:.1f} %; figure (axial slice k={self.slice_k}) -> "
            f"{self.path}"
        )


def roi_figure(
    dataset: str | os.PathLike[str],
    out: Path,
    subject: str = "sub-01",
    session: str = "ses-01",
    roi: RoiSpec = ("FFA1", "FFA2"),
    title: str = "FFA",
) -> RoiFigure:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sub = load_subject(subject, dataset)
    betas = sub.get_betas(session, roi=list(roi))
    nc = sub.get_noise_ceiling(session=session, roi=list(roi))
    ijk = sub.get_voxel_coordinates(roi=list(roi), units="voxel")
    k = int(np.median(ijk[:, 2]))
    # Only the voxels of that slice are read for the background, not the whole brain.
    brain = sub.get_brain_mask().reshape(sub.shape)
    in_slice = np.zeros(sub.shape, dtype=bool)
    in_slice[:, :, k] = brain[:, :, k]
    with warnings.catch_warnings():  # a voxel that is NaN in every trial stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_beta = np.nanmean(sub.get_betas(session, mask=in_slice), axis=0)
    slice_nc = sub.get_noise_ceiling(session=session, mask=in_slice)
    background = np.full(sub.shape[:2], np.nan, dtype=np.float32)
    nc_image = np.full(sub.shape[:2], np.nan, dtype=np.float32)
    background[in_slice[:, :, k]] = mean_beta
    nc_image[in_slice[:, :, k]] = slice_nc
    outline = np.zeros(sub.shape[:2], dtype=float)
    roi_ijk = ijk[ijk[:, 2] == k]
    outline[roi_ijk[:, 0], roi_ijk[:, 1]] = 1.0

    fig, axes = plt.subplots(1, 3, figsize=(12, 4), constrained_layout=True)
    limit = float(np.nanpercentile(np.abs(background), 99)) or 1.0
    shown = axes[0].imshow(background.T, origin="lower", cmap="gray", vmin=-limit, vmax=limit)
    axes[0].contour(outline.T, levels=[0.5], colors="red", linewidths=1.2)
    axes[0].set_title(f"mean beta, {session} (k={k}), {title} in red")
    fig.colorbar(shown, ax=axes[0], shrink=0.8)
    axes[1].imshow(background.T, origin="lower", cmap="gray", vmin=-limit, vmax=limit)
    shown = axes[1].imshow(nc_image.T, origin="lower", cmap="hot", vmin=0, vmax=100, alpha=0.7)
    axes[1].contour(outline.T, levels=[0.5], colors="cyan", linewidths=1.2)
    axes[1].set_title("noise ceiling (%)")
    fig.colorbar(shown, ax=axes[1], shrink=0.8)
    axes[2].hist(nc[np.isfinite(nc)], bins=20, range=(0, 100), color="tab:red")
    axes[2].axvline(float(np.nanmedian(nc)), color="black", linestyle="--")
    axes[2].set_xlabel("noise ceiling (%)")
    axes[2].set_ylabel("voxels")
    axes[2].yaxis.get_major_locator().set_params(integer=True)
    axes[2].set_title(f"{title}: {nc.size} voxels, {betas.shape[0]} trials")
    for ax in axes[:2]:
        ax.set_axis_off()
    fig.suptitle(f"{subject} {session}: {title}")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial.png")
    fig.savefig(partial, dpi=100)
    plt.close(fig)
    partial.replace(out)
    return RoiFigure(out, int(nc.size), betas.shape, float(np.nanmedian(nc)), k)
