"""Keys and hash directories computed in Python agree with git-annex itself."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.annexkeys import (
    hashdir_lower,
    hashdir_mixed,
    key_extension,
    md5e_key,
    sha256e_key,
    symlink_target,
)
from laion_fmri_datalad.repo.annex import key_size

NAMES = [
    "sub-01_ses-01_task-images_run-01_echo-1_part-mag_bold.nii.gz",
    "sub-01_hemi-L_space-fsnative_label-FFA1_mask.func.gii",
    "lh.white",
    "recon-all.done",
    "task-images_desc-CLIP_embeddings.h5",
    "README",
    "T1.mgz",
    "archive.tar.xz1",
    "x.verylong",
]


@pytest.fixture
def annex_repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "annex", "init", "-q"], check=True)
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_md5e_and_sha256e_keys_match_git_annex_calckey(annex_repo: Path, name: str) -> None:
    content = f"content of {name}".encode()
    (annex_repo / name).write_bytes(content)
    for backend, ours in (
        ("MD5E", md5e_key(hashlib.md5(content).hexdigest(), len(content), name)),
        ("SHA256E", sha256e_key(hashlib.sha256(content).hexdigest(), len(content), name)),
    ):
        theirs = subprocess.run(
            ["git", "-C", str(annex_repo), "annex", "calckey", f"--backend={backend}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert ours == theirs
        assert key_size(ours) == len(content)


def test_hash_directories_match_git_annex_examinekey(annex_repo: Path) -> None:
    keys = [md5e_key(hashlib.md5(str(i).encode()).hexdigest(), i, "x.nii.gz") for i in range(200)]
    out = subprocess.run(
        [
            "git",
            "-C",
            str(annex_repo),
            "annex",
            "examinekey",
            "--batch",
            "--format=${hashdirmixed} ${hashdirlower}\n",
        ],
        input="".join(k + "\n" for k in keys),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [f"{hashdir_mixed(k)} {hashdir_lower(k)}" for k in keys]


def test_symlink_target_is_relative_to_the_file() -> None:
    key = "MD5E-s3--abc.nii.gz"
    assert symlink_target("a.nii.gz", key).startswith(".git/annex/objects/")
    assert symlink_target("sub-01/ses-01/func/a.nii.gz", key).startswith("../../../.git/annex/")
    assert symlink_target("x", key).endswith(f"/{key}/{key}")


def test_extension_keeps_two_short_alphanumeric_parts() -> None:
    assert key_extension("a.nii.gz") == ".nii.gz"
    assert key_extension("a.b.c.tar.gz") == ".tar.gz"
    assert key_extension("lh.white") == ""
    assert key_extension("dir.d/README") == ""
