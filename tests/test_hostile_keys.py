"""No bucket key can damage a dataset, against the real server: each hostile class is
refused before anything is written, named in the report and in the superdataset's
``.laion-fmri/refused.tsv``, the rest of the build completes, and a rebuild keeps refusing
without failing. Keys the server itself will not store are injected at the listing
boundary, as the real bucket could list them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.devserver.s3load import admin_client, put_object
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.s3.client import BucketLocation, S3Object, iter_current, list_versions

BUILDER = "laion_fmri_datalad.builder.builder"


HOSTILE = {
    "sub-01/.gitattributes": "would write the dataset's own '.gitattributes'",
    "sub-01/.datalad/config": "would write the dataset's own '.datalad'",
    "sub-01/.laion-fmri/inventory.tsv": "would write the dataset's own '.laion-fmri'",
    "sub-01/ses-01/.git/config": "would write the dataset's own '.git'",
    "sub-01/.gitmodules": "would write the dataset's own '.gitmodules'",
    "sub-01/../escape.json": "has a '..' path component",
    "sub-01/./here.json": "has a '.' path component",
    "sub-01//double.json": "has an empty path component ('//')",
    "sub-01/ses-01/dirmarker/": "is a folder marker (ends in '/'), not a file",
    "sub-01/ses-01/func": "is a file where other keys need a folder",
    "sub-01/new\nline.json": "contains control characters (U+000A)",
    "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA1_mask.nii.gz": "routes to",
}
# The fixture's own FFA-1 mask: routed to the path of the FFA1 key above, so refused too.
COLLIDING = "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz"
EXPECTED = {**HOSTILE, COLLIDING: "routes to"}


def _inject(listed: list[S3Object], extra: list[S3Object]) -> list[S3Object]:
    known = {o.key for o in listed}
    return listed + [o for o in extra if o.key not in known]


@pytest.fixture(scope="module")
def hostile_build(
    small_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, BuildReport, BuildReport, set[str]]]:
    """Upload every hostile key the server takes; inject the rest into the listing."""
    client = admin_client(small_server.server)
    bucket = small_server.location.bucket
    stored: set[str] = set()
    for key in HOSTILE:
        try:
            put_object(client, bucket, key, b'{"hostile": true}\n', False)
        except Exception:  # the server refuses the key: injected below instead
            continue
        stored.add(key)
    injected = [
        S3Object(
            key=k, version_id=None, etag="0" * 32, size=18, last_modified="2026-09-28T00:00:00.000Z"
        )
        for k in HOSTILE
    ]
    patch = pytest.MonkeyPatch()

    def versions(location: BucketLocation, jobs: int = 4) -> list[S3Object]:
        return _inject(list_versions(location, jobs), injected)

    def current(location: BucketLocation) -> Iterator[S3Object]:
        yield from _inject(list(iter_current(location)), injected)

    patch.setattr(f"{BUILDER}.list_versions", versions)
    patch.setattr(f"{BUILDER}.iter_current", current)
    try:
        target = tmp_path_factory.mktemp("hostile") / "superdataset"
        first = build(target, small_server.location)
        second = build(target, small_server.location)
        yield target, first, second, stored
    finally:
        patch.undo()


def test_every_hostile_key_is_refused_and_named(
    hostile_build: tuple[Path, BuildReport, BuildReport, set[str]],
) -> None:
    target, report, _, stored = hostile_build
    assert stored, "the server stored none of the hostile keys: nothing was tested end to end"
    assert report.ok and report.committed, report.details()
    refused = {r.key: r.reason for r in report.refused}
    assert set(refused) == set(EXPECTED)
    for key, reason in EXPECTED.items():
        assert refused[key].startswith(reason), (key, refused[key])
        assert f"{key!r} {refused[key]}" in report.details()
    recorded = (target / ".laion-fmri" / "refused.tsv").read_text().splitlines()
    assert recorded[0] == "s3_key\tdataset\treason"
    assert len(recorded) == 1 + len(EXPECTED)
    # no rule matches a key with a newline (rules match the whole key): the superdataset
    assert any(line.startswith("sub-01/new\\nline.json\t.\t") for line in recorded)
    tracked = git(target, "ls-files", ".laion-fmri/refused.tsv").strip()
    assert tracked == ".laion-fmri/refused.tsv"


def test_the_datasets_own_files_are_untouched(
    hostile_build: tuple[Path, BuildReport, BuildReport, set[str]],
) -> None:
    target, _, _, _ = hostile_build
    sub = target / "sub-01"
    assert not (sub / ".gitattributes").is_symlink()
    assert "annex.largefiles" in (sub / ".gitattributes").read_text()
    identity = git(sub, "config", "-f", ".datalad/config", "datalad.dataset.id").strip()
    assert len(identity) == 36
    assert (sub / ".laion-fmri" / "inventory.tsv").read_text().startswith("path\ts3_key\t")
    assert not (sub / "ses-01" / "dirmarker").exists() and not (target / "escape.json").exists()
    assert not list(target.rglob("fast_import_crash_*"))
    assert git(target, "status", "--porcelain").strip() == ""
    assert git(sub, "fsck", "--no-progress", "--no-dangling").strip() == ""


def test_the_rest_of_the_build_is_complete(
    hostile_build: tuple[Path, BuildReport, BuildReport, set[str]],
    small_server: ServedBucket,
) -> None:
    target, _, _, _ = hostile_build
    public = [
        e.key for e in small_server.manifest.objects if e.key.startswith("sub-01/ses-01/func/")
    ]
    assert public
    tracked = set(git(target / "sub-01", "ls-files").splitlines())
    assert {k.removeprefix("sub-01/") for k in public} <= tracked
    assert (target / "derivatives" / "rois" / ".laion-fmri" / "inventory.tsv").is_file()


def test_a_rebuild_keeps_refusing_without_failing(
    hostile_build: tuple[Path, BuildReport, BuildReport, set[str]],
) -> None:
    _, first, second, _ = hostile_build
    assert second.ok and not second.committed, second.summary()
    assert {r.key for r in second.refused} == {r.key for r in first.refused}
    assert f"{len(EXPECTED)} refused" in second.summary()
