"""What the mirror adds to a derivative subdataset so that the official validator finds it
valid, without renaming or changing any file of the bucket.

Two kinds of file, each generated here and committed beside the bucket's:

* top-level sidecars (BIDS's inheritance principle: they apply to every file of that
  suffix and space below them) that state ``SpatialReference``, which BIDS requires for a
  space that is not a standard template. ``T1w`` is each participant's own anatomy, so the
  reference is stated the one way that is true for every participant: the path pattern of
  that participant's image in this dataset (the ROI masks, in ``T1w`` and ``fsnative``,
  sit in category folders outside BIDS's layout, so no sidecar applies to them);
* a ``.bidsignore`` declaring, with the reason, what is not BIDS by design: FreeSurfer's
  tree, the ROI category folders the bucket uses, GLMsingle's and the localizers'
  statistical maps (BIDS has no derivative type for them yet), GLMsingle's model file,
  trial table, run summaries and figures.

The validator reads a derivative's ``.bidsignore`` when it validates that derivative on its
own (``bids-validator-deno derivatives/rois``); with ``-r`` it does not (version 9875686),
so there its derivative errors are exactly the files these declare (``docs/where-users-are.md``).
"""

from __future__ import annotations

import json

from .names import ANAT, FREESURFER, GLM, LOCALIZERS, ROIS, SPLITS, TEDANA

T1W_REFERENCE = (
    "T1w: the participant's own T1-weighted image, "
    "derivatives/anatomical/sub-<label>/ses-PrismaAnat/anat/"
    "sub-<label>_ses-PrismaAnat_space-T1w_T1w.nii.gz (0.8 mm); res-1pt8 is its 1.778 mm grid "
    "(the betas' and ROIs'), res-1pt5 its 1.5 mm grid"
)


def _sidecar(reference: str) -> bytes:
    return (json.dumps({"SpatialReference": reference}, indent=2) + "\n").encode()


def _ignore(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


GENERATED: dict[str, dict[str, bytes]] = {
    GLM: {
        "space-T1w_dseg.json": _sidecar(T1W_REFERENCE),
        ".bidsignore": _ignore(
            "# GLMsingle's outputs as the bucket has them, which BIDS has no derivative type",
            "# for yet: single-trial betas, noise-ceiling, R2 and fracridge maps (statistical",
            "# maps); the fitted model (HDF5); the trial table (one row per betas volume, not",
            "# events); GLMsingle's run summaries (not sidecars of a data file); its figures",
            "*_statmap.nii.gz",
            "*_statmap.json",
            "*_model.h5",
            "*_model.json",
            "*_trials.tsv",
            "*_trials.json",
            "*_summary.json",
            "figures",
        ),
    },
    TEDANA: {"space-T1w_bold.json": _sidecar(T1W_REFERENCE)},
    ANAT: {
        "space-T1w_T1w.json": _sidecar(T1W_REFERENCE),
        "space-T1w_T2w.json": _sidecar(T1W_REFERENCE),
        "space-T1w_mask.json": _sidecar(T1W_REFERENCE),
    },
    ROIS: {  # no sidecars: every mask is in a category folder, outside BIDS's layout
        ".bidsignore": _ignore(
            "# The bucket keeps each participant's ROIs in one folder per category",
            "# (sub-01/face/, sub-01/retinotopy/, ...), where BIDS wants a datatype folder;",
            "# the paths stay as upstream has them",
            "sub-*/*",
        ),
    },
    LOCALIZERS: {
        ".bidsignore": _ignore(
            "# Contrast maps (z and per-run condition estimates, with a contrast- entity):",
            "# BIDS has no derivative type for statistical maps yet",
            "*_statmap.nii.gz",
            "*_statmap.func.gii",
        ),
    },
    FREESURFER: {
        ".bidsignore": _ignore(
            "# FreeSurfer's recon tree (label/ mri/ stats/ surf/ scripts/): FreeSurfer's own",
            "# layout, without BIDS entities",
            "sub-*/",
        ),
    },
    SPLITS: {
        ".bidsignore": _ignore(
            "# This project's train/test split sets (JSON per pool and split), as the dataset's",
            "# authors publish them: not a BIDS file type",
            "regenerated",
            "published",
        ),
    },
}


def generated_files(subdataset: str) -> dict[str, bytes]:
    """The files the mirror adds to ``subdataset`` (path inside it -> bytes)."""
    return dict(GENERATED.get(subdataset, {}))
