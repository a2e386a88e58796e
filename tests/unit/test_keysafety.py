"""No bucket key can damage a dataset: each hostile class is refused, named and kept out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.keysafety import key_refusal, path_conflicts
from laion_fmri_datalad.builder.plan import route_listing
from laion_fmri_datalad.errors import BuildError
from laion_fmri_datalad.s3.client import S3Object

ROI = "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-{}_mask.nii.gz"


def obj(key: str) -> S3Object:
    return S3Object(
        key=key,
        version_id=None,
        etag="0123456789abcdef0123456789abcdef",
        size=10,
        last_modified="2026-01-01T00:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("sub-01/.gitattributes", "would write the dataset's own '.gitattributes'"),
        ("sub-01/.gitmodules", "would write the dataset's own '.gitmodules'"),
        ("sub-01/ses-01/.git/config", "would write the dataset's own '.git'"),
        ("sub-01/.GIT/HEAD", "would write the dataset's own '.GIT'"),
        ("sub-01/ses-01/.gitignore", "would write the dataset's own '.gitignore'"),
        ("sub-01/.datalad/config", "would write the dataset's own '.datalad'"),
        ("sub-01/.laion-fmri/inventory.tsv", "would write the dataset's own '.laion-fmri'"),
        ("sub-01/../escape.json", "has a '..' path component"),
        ("sub-01/./here.json", "has a '.' path component"),
        ("sub-01//double.json", "has an empty path component ('//')"),
        ("sub-01/ses-01/dirmarker/", "is a folder marker (ends in '/'), not a file"),
        ("/sub-01/absolute.json", "is an absolute path"),
        ("sub-01/new\nline.json", "contains control characters (U+000A)"),
        ("sub-01/carriage\rreturn.json", "contains control characters (U+000D)"),
        ("sub-01/nul\x00tab\t.json", "contains control characters (U+0000, U+0009)"),
        ("sub-01/" + "x" * 256 + ".json", "has a path component longer than 255 bytes"),
        ("sub-01/" + "/".join(["d" * 200] * 21), "is longer than 4096 bytes"),
    ],
)
def test_hostile_keys_are_refused_with_the_reason(key: str, reason: str) -> None:
    assert key_refusal(key) == reason


@pytest.mark.parametrize(
    "key",
    [
        "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz",
        "stimuli/shared_4rep_OOD_unusual_Screenshot 2024-05-06 at 14.45.09.jpg",
        "sub-01/ses-PrismaAnat/anat/x.json",
        "sub-01/.bidsignore",
        "sub-01/a..b.json",
        "sub-01/gitattributes",
        "sub-01/unicode_Bücher_é.json",
        "sub-01/" + "x" * 250 + ".json",
    ],
)
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert key_refusal(key) is None


def test_a_file_that_is_also_a_folder_is_refused_and_the_folder_kept() -> None:
    conflicts = path_conflicts(["ses-01/x", "ses-01/x/a.json", "ses-01/x/b.json", "ses-01/y"])
    assert conflicts == {
        "ses-01/x": "is a file where other keys need a folder (e.g. 'ses-01/x/a.json')"
    }


def test_the_listing_refuses_each_class_and_keeps_the_rest() -> None:
    hostile = [
        "sub-01/.gitattributes",
        "sub-01/.datalad/config",
        "sub-01/.laion-fmri/inventory.tsv",
        "sub-01//double.json",
        "sub-01/ses-01/dirmarker/",
        "sub-01/ses-01/func",  # a file where the session's files need a folder
        "weird\n/x",  # no rule matches: refused all the same (recorded in the superdataset)
    ]
    good = ["sub-01/ses-01/func/a.json", "sub-01/ses-01/func/b.nii.gz", "participants.tsv"]
    listing = route_listing({k: obj(k) for k in hostile + good})
    assert sorted(r.key for r in listing.refused) == sorted(hostile)
    placed = {o.key for objects in listing.routed.values() for o in objects.values()}
    assert placed == set(good)
    assert listing.unrouted == []
    where = {r.key: r.dataset for r in listing.refused}
    assert where["sub-01/.gitattributes"] == "sub-01" and where["weird\n/x"] == ""


def test_two_keys_routed_to_one_path_are_both_refused() -> None:
    keys = [ROI.format("FFA-1"), ROI.format("FFA1"), ROI.format("FFA-2")]
    listing = route_listing({k: obj(k) for k in keys})
    refused = {r.key: r.reason for r in listing.refused}
    assert set(refused) == set(keys[:2])
    assert "label-FFA1_mask.nii.gz" in refused[keys[0]] and repr(keys[1]) in refused[keys[0]]
    assert list(listing.routed["derivatives/rois"].values()) == [obj(keys[2])]


@pytest.mark.parametrize(
    "name", ["../x.h5", ".git/hooks/post-checkout", "a//b.h5", "/etc/passwd", "ok/.datalad/x"]
)
def test_the_access_services_file_names_get_the_same_refusal(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hostile or broken access service could name a path outside stimuli/ or inside
    its git machinery; nothing is registered, and the error names the value."""
    from laion_fmri_datalad.gated import register

    (tmp_path / "stimuli" / ".git").mkdir(parents=True)
    files = [
        {"name": "task-images_stimuli.h5", "sha256": "0" * 64, "size": 1},
        {"name": name, "sha256": "1" * 64, "size": 2},
    ]
    monkeypatch.setattr(register, "manifest", lambda url: {"files": files})
    with pytest.raises(BuildError, match=rf"manifest names {re.escape(repr(name))}, which "):
        register.register_gated(tmp_path, "http://127.0.0.1:1")
    assert sorted(p.name for p in (tmp_path / "stimuli").iterdir()) == [".git"]
    assert not any((tmp_path / "stimuli" / ".git").iterdir())
