"""What goes to git (small text files) and what is annexed (everything else)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.storage import (
    GIT_TEXT_EXTENSIONS,
    GIT_TEXT_MAX_BYTES,
    GIT_TEXT_NAMES,
    LARGEFILES_RULE,
    goes_to_git,
)
from laion_fmri_datalad.repo.annex import annex
from laion_fmri_datalad.repo.git import git, run

MIB = 1024 * 1024


def test_the_git_size_limit_is_one_mebibyte() -> None:
    assert GIT_TEXT_MAX_BYTES == MIB


@pytest.mark.parametrize(
    ("path", "size", "in_git"),
    [
        # small text files: git
        ("dataset_description.json", 300, True),
        ("participants.tsv", 0, True),
        ("stimuli/task-images_metadata.csv", 50_000, True),
        ("README", 2_000, True),
        ("CHANGES", 2_000, True),
        ("LICENSE", 2_000, True),
        ("ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv", 10_000, True),
        ("a/b/c/d/e/sub-01_ses-01_bold.json", 1, True),
        ("derivatives/x/README", 10, True),
        (".laion-fmri/bucket/dataset_description.json", 100, True),
        # the size limit: under 1 MiB in git, at or over it annexed
        ("big.json", MIB - 1, True),
        ("big.json", MIB, True),  # git-annex's largerthan is strictly larger
        ("big.tsv", MIB + 1, False),
        ("README", MIB + 1, False),
        ("ses-01/func/sub-01_ses-01_events.tsv", 10 * MIB, False),
        # binary data: annexed whatever the size
        ("ses-01/func/sub-01_ses-01_bold.nii.gz", 10, False),
        ("ses-01/anat/sub-01_T1w.nii", 10, False),
        ("task-images_desc-CLIP_embeddings.h5", 100, False),
        ("sub-01/surf/lh.white", 100, False),
        ("sub-01_hemi-L_label-FFA1_mask.label", 100, False),
        ("sub-01/mri/T1.mgz", 100, False),
        ("images.tar", 0, False),
        # names that only resemble the text rules
        ("README.md", 10, False),
        ("readme", 10, False),
        ("docs/README.txt", 10, False),
        ("notes.txt", 10, False),
        ("table.TSV", 10, False),
        ("data.json.gz", 10, False),
        ("json", 10, False),
        ("README/inner.nii.gz", 10, False),
    ],
)
def test_goes_to_git_keeps_small_text_in_git(path: str, size: int, in_git: bool) -> None:
    assert goes_to_git(path, size) is in_git


@pytest.mark.parametrize("extension", GIT_TEXT_EXTENSIONS)
def test_every_text_extension_switches_to_annex_at_the_limit(extension: str) -> None:
    path = f"sub-01/ses-01/x{extension}"
    assert goes_to_git(path, GIT_TEXT_MAX_BYTES)
    assert not goes_to_git(path, GIT_TEXT_MAX_BYTES + 1)


@pytest.mark.parametrize("name", GIT_TEXT_NAMES)
def test_every_text_name_goes_to_git_in_any_folder(name: str) -> None:
    assert goes_to_git(name, 1)
    assert goes_to_git(f"derivatives/rois/{name}", 1)
    assert not goes_to_git(f"{name}.nii.gz", 1)


@pytest.mark.parametrize("extension", GIT_TEXT_EXTENSIONS)
def test_largefiles_rule_keeps_every_text_extension_out_of_the_annex(extension: str) -> None:
    assert f"(include=*{extension})" in LARGEFILES_RULE
    assert "(largerthan=1MiB)" in LARGEFILES_RULE


def test_largefiles_rule_names_every_file_goes_to_git_keeps_in_git() -> None:
    included = set(re.findall(r"include=(?:\*/)?([A-Za-z]+)\)", LARGEFILES_RULE))
    assert set(GIT_TEXT_NAMES) <= included


AGREEMENT = [
    (path, size)
    for path in (
        "a.json",
        "sub-01/ses-01/func/x_events.tsv",
        "stimuli/m.csv",
        "README",
        "x/README",
        "CHANGES",
        "derivatives/rois/LICENSE",
        "b.nii.gz",
        "README.md",
        "x/READMEs",
    )
    for size in (0, MIB - 1, MIB, MIB + 1)
]


def test_git_annex_decides_as_the_builder_does(tmp_path: Path) -> None:
    """What a user saves with DataLad (git-annex's largefiles) lands where the builder
    put the same file: asked of git-annex itself, for every name kind and size boundary."""
    git(None, "init", "-q", str(tmp_path))
    annex(tmp_path, "init", "-q")
    for path, size in AGREEMENT:
        done = run(
            tmp_path,
            "annex",
            "matchexpression",
            "--largefiles",
            LARGEFILES_RULE,
            f"--file={path}",
            f"--size={size}",
        )
        assert done.returncode in (0, 1), done.stderr
        annexed = done.returncode == 0
        assert annexed is not goes_to_git(path, size), (path, size)
