"""Routing is a pure, table-driven function of the bucket key."""

from __future__ import annotations

import pytest

from laion_fmri_datalad.builder.routing import (
    BUCKET_DESCRIPTION_PATH,
    BUCKET_README_PATH,
    Route,
    route,
)
from laion_fmri_datalad.layout.names import new_stream, stream_of

CASES = [
    (
        "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv",
        Route("sub-01", "ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"),
    ),
    (
        "derivatives/glmsingle-tedana/sub-03/ses-02/func/"
        "sub-03_ses-02_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz",
        Route(
            "derivatives/glmsingle-tedana",
            "sub-03/ses-02/func/"
            "sub-03_ses-02_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz",
        ),
    ),
    (
        "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz",
        Route("derivatives/rois", "sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA1_mask.nii.gz"),
    ),
    (
        "derivatives/rois/sub-05/face/sub-05_hemi-L_space-fsnative_label-pSTS-faces_mask.label",
        Route(
            "derivatives/rois", "sub-05/face/sub-05_hemi-L_space-fsnative_label-pSTSfaces_mask.label"
        ),
    ),
    (
        "derivatives/anatomical/sub-07/ses-PrismaAnat/anat/"
        "sub-07_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz",
        Route(
            "derivatives/anatomical",
            "sub-07/ses-PrismaAnat/anat/sub-07_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz",
        ),
    ),
    ("derivatives/freesurfer/sub-06/surf/lh.white", Route("derivatives/freesurfer", "sub-06/surf/lh.white")),
    ("stimuli/task-images_desc-CLIP_embeddings.h5", Route("stimuli", "task-images_desc-CLIP_embeddings.h5")),
    ("participants.tsv", Route("", "participants.tsv")),
    ("README", Route("", BUCKET_README_PATH)),
    (
        "derivatives/tedana/sub-01/ses-01/func/"
        "sub-01_ses-01_task-images_run-01_space-T1w_desc-optcom_bold.nii.gz",
        Route(
            "derivatives/tedana",
            "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_space-T1w_desc-optcom_bold.nii.gz",
        ),
    ),
    # raw dwi/ and fmap/ go to the subject's raw subdataset (the diffusion stream is announced)
    ("sub-05/ses-03/dwi/sub-05_ses-03_dwi.nii.gz", Route("sub-05", "ses-03/dwi/sub-05_ses-03_dwi.nii.gz")),
    ("sub-05/ses-03/fmap/sub-05_ses-03_run-02_magnitude2.json", Route("sub-05", "ses-03/fmap/sub-05_ses-03_run-02_magnitude2.json")),
    # a stream no rule names gets a subdataset of its own, named for its prefix
    ("derivatives/mriqc/sub-01/ses-01/anat/x.json", Route("derivatives/mriqc", "sub-01/ses-01/anat/x.json")),
    ("derivatives/retinotopy/dataset_description.json", Route("derivatives/retinotopy", "dataset_description.json")),
    ("dataset_description.json", Route("", BUCKET_DESCRIPTION_PATH)),
]  # fmt: skip


@pytest.mark.parametrize(("key", "expected"), CASES)
def test_route_maps_keys_to_subdatasets(key: str, expected: Route) -> None:
    assert route(key) == expected


def test_route_strips_hyphens_from_roi_labels_only() -> None:
    routed = route("derivatives/rois/sub-01/place/sub-01_space-T1w_res-1pt5_label-PPA_mask.nii.gz")
    assert routed is not None and routed.path.endswith("label-PPA_mask.nii.gz")
    raw = route("sub-01/ses-01/fmap/sub-01_ses-01_run-01_phasediff.json")
    assert raw == Route("sub-01", "ses-01/fmap/sub-01_ses-01_run-01_phasediff.json")


@pytest.mark.parametrize(
    "key",
    [
        "derivatives/x.nii.gz",
        "derivatives/.hidden/x.nii.gz",
        "derivatives/-dash/x.nii.gz",
        "derivatives/splits/shared/tau.json",  # the project's own splits: never a bucket stream
        "notes/todo.txt",
        "stimuli/nested/file.h5",
        "sub-01",
        "sub-xx/ses-01/func/a.nii.gz",
    ],
)
def test_route_returns_none_for_unknown_keys(key: str) -> None:
    assert route(key) is None


def test_the_projects_own_derivatives_are_no_stream() -> None:
    """derivatives/splits is made by datalad run here: no clone lists it as a stream (info
    counts it whole), and the builder routes no bucket key into it."""
    assert stream_of("derivatives/splits") is None and new_stream("derivatives/splits") is None
    assert new_stream("derivatives/mriqc") == "mriqc" and new_stream("derivatives/tedana") is None
