"""A disk that fills up while a subdataset is installed and its files are got: the command
fails with a message, and once there is room, running it again repairs the clone."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from laion_fmri_datalad.layout.names import GLM
from laion_fmri_datalad.loaders.clone.content import is_working_repository
from laion_fmri_datalad.repo.git import git

ROOM = 200_000  # bytes left free after the clone: less than the betas subdataset needs


def mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a tmpfs at ``where``; the reason when this machine does not allow it."""
    if shutil.which("mount") is None:
        return "no mount command"
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"cannot mount a tmpfs: {done.stderr.strip()}"


def resize(where: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(where)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    reason = mount_tmpfs(where, "64m")
    if reason is not None:
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def used(where: Path) -> int:
    return shutil.disk_usage(where).used


def get(clone: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "laion_fmri_datalad.cli",
            "get",
            "-d",
            str(clone),
            "--subject",
            "sub-01",
            "--stream",
            "glmsingle-tedana",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_full_disk_during_install_is_repaired_by_running_again(
    clone_of: Callable[[str, Path], Path], store: str, small_disk: Path
) -> None:
    clone = clone_of(store, small_disk / "clone")
    resize(small_disk, str(used(small_disk) + ROOM))
    full = get(clone)
    assert full.returncode != 0
    said = (full.stderr + full.stdout).lower()
    assert "space" in said or "disk" in said, said[-2000:]  # says why
    assert "Traceback" not in full.stderr
    resize(small_disk, "256m")  # room again
    again = get(clone)
    assert again.returncode == 0, again.stderr[-2000:]
    assert is_working_repository(clone / GLM)
    assert git(clone / GLM, "status", "--porcelain", "--untracked-files=no") == ""
    fsck = git(clone / GLM, "annex", "fsck", "--quiet")
    assert "failed" not in fsck
    betas = next((clone / GLM / "sub-01").rglob("*SingletrialBetas*statmap.nii.gz"))
    assert betas.exists()  # content present, not a dangling link
