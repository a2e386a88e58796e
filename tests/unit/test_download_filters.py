"""Upstream's download filters on paths: ``ses`` strict, other entities permissive."""

from __future__ import annotations

import pytest

from laion_fmri_datalad.loaders.clone.filters import bare, matches

GLM = "derivatives/glmsingle-tedana/sub-01"
BETAS = f"{GLM}/ses-01/func/sub-01_ses-01_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
R2MEAN = f"{GLM}/sub-01_task-images_space-T1w_stat-rsquare_desc-R2mean_statmap.nii.gz"
FIGURE = f"{GLM}/ses-02/func/figures/R2.png"
ROI = "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA1_mask.nii.gz"
BOLD = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_echo-2_part-mag_bold.nii.gz"
EVENTS = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"
SURF = "derivatives/freesurfer/sub-01/surf/lh.white"


@pytest.mark.parametrize(
    ("path", "filters", "expected"),
    [
        (BETAS, {"ses": ["01"]}, True),
        (BETAS, {"ses": ["02"]}, False),
        (R2MEAN, {"ses": ["01"]}, False),  # ses is strict
        (R2MEAN, {"ses": ["01", "averages"]}, True),
        (BETAS, {"ses": ["averages"]}, False),
        (FIGURE, {"ses": ["02"]}, True),  # the session of a folder counts
        (ROI, {"desc": ["Noiseceiling"]}, True),  # no desc: permissive
        (BETAS, {"desc": ["Noiseceiling"]}, False),
        (BETAS, {"desc": ["R2mean", "SingletrialBetas"]}, True),
        (ROI, {"space": ["T1w"], "task": ["images"]}, True),
        (BETAS, {"suffix": ["statmap"], "extension": ["nii.gz"]}, True),
        (BETAS, {"extension": ["json"]}, False),  # suffix and extension are strict
        (SURF, {"suffix": ["statmap"]}, False),
        (SURF, {"desc": ["x"], "ses": ["averages"]}, True),
        (BOLD, {"run": ["01"], "echo": ["2"], "part": ["mag"]}, True),
        (BOLD, {"echo": ["1"]}, False),
        (EVENTS, {"echo": ["1"], "part": ["mag"]}, True),  # events have no echo, no part
        (EVENTS, {"run": ["02"]}, False),
        (f"{GLM}/ses-11/func/x_ses-11_statmap.nii.gz", {"ses": ["01"]}, False),  # whole token
    ],
)
def test_matches(path: str, filters: dict[str, list[str]], expected: bool) -> None:
    assert matches(path, filters) is expected


@pytest.mark.parametrize(
    ("entity", "value", "expected"),
    [
        ("ses", "ses-01", "01"), ("ses", 1, "01"), ("ses", "averages", "averages"),
        ("ses", "4BarScreenfLoc", "4BarScreenfLoc"), ("run", "run-3", "03"), ("echo", 2, "2"),
        ("desc", "desc-R2mean", "R2mean"), ("extension", ".nii.gz", "nii.gz"),
        ("extension", "tsv", "tsv"),
    ],
)  # fmt: skip
def test_bare_values(entity: str, value: object, expected: str) -> None:
    assert bare(entity, value) == expected
