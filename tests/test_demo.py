"""The README's main command, end to end, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


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
    assert "[7/7] verify" in out and " 0 failed" in out
    assert "28 files" in out  # 22 raw files of sub-01/ses-01 and 6 of its betas session
    clone = workdir / "clone"
    betas = next(
        (clone / "derivatives/glmsingle-tedana/sub-01/ses-01/func").glob("*Betas_statmap.nii.gz")
    )
    assert betas.is_file()  # the symlink resolves: content is present
    assert (workdir / "superdataset/.gitmodules").is_file()
    leftover = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, text=True)
    assert leftover.stdout == ""  # the server is stopped
