"""The README's main command, end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec


def test_demo_ends_with_verified_content_in_the_users_clone(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "laion_fmri_datalad.cli", "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[9/10] verify" in out and " 0 failed" in out
    # 22 raw files of sub-01/ses-01, 6 of its betas session, and the gated image file
    assert "29 files" in out
    assert "gated files: 1 registered" in out
    clone = workdir / "clone"
    assert (clone / "stimuli/task-images_stimuli.h5").is_file()
    assert "trial-aligned stimuli of sub-01 ses-01: 12 images" in out
    betas = next(
        (clone / "derivatives/glmsingle-tedana/sub-01/ses-01/func").glob("*Betas_statmap.nii.gz")
    )
    assert betas.is_file()  # the symlink resolves: content is present
    assert (workdir / "superdataset/.gitmodules").is_file()
    # steps 4-5: the user's clone has the splits, their run record, and the release tag
    assert "splits made under datalad run" in out and "released 1.0.0" in out
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%B"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "[DATALAD RUNCMD] [laion-fmri] Make the train/test splits" in log
    assert '"cmd": "python code/make_splits.py' in log
    tags = subprocess.run(["git", "-C", str(clone), "tag"], capture_output=True, text=True).stdout
    assert tags.split() == ["1.0.0"]
    assert "cite this version: " in out and "tag 1.0.0" in out
    # step 8: the loaders fetched what they needed and drew the figure
    assert "installing subdataset derivatives/rois with DataLad" in out
    assert "label-FFA1_mask.nii.gz" in out
    design = SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())
    ffa = design.roi_mask("FFA1") | design.roi_mask("FFA2")
    n_trials, n_voxels = len(design.schedule["ses-01"]), int(ffa[design.brain_mask].sum())
    assert f"FFA betas {n_trials} trials x {n_voxels} voxels (float32)" in out
    with Image.open(workdir / "sub-01_ses-01_FFA.png") as figure:
        assert figure.format == "PNG" and figure.size == (1200, 400)
    leftover = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert leftover.stdout == ""  # the server is stopped
