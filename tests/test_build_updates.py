"""Rebuilds after the bucket changes: exact changes, old versions, corrupted content."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.devserver.fixture.spec import is_denied
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.devserver.s3load import admin_client, bucket_policy, ensure_bucket
from laion_fmri_datalad.layout.listings import listing_path
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.s3.client import BucketLocation

GLM = "derivatives/glmsingle-tedana"
BETAS = (
    "sub-01/ses-01/func/"
    "sub-01_ses-01_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
)
NEW_EVENTS = "sub-03/ses-02/func/sub-03_ses-02_task-images_run-03_events.tsv"
DELETED = "derivatives/freesurfer/sub-06/surf/rh.inflated"
UNROUTED = "notes/unknown-object.txt"


# A server of its own, so that changing its bucket cannot disturb other tests.


@pytest.fixture(scope="module")
def rebuilt(
    own_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, BuildReport, bytes]:
    """Build, then overwrite one object, add one, delete one, and build again."""
    root = tmp_path_factory.mktemp("rebuilt") / "superdataset"
    assert build(root, own_server.location).ok
    client = admin_client(own_server.server)
    new_betas = b"\x1f\x8b not really new betas, but new bytes" * 100
    client.put_object(Bucket="laion-fmri", Key=f"{GLM}/{BETAS}", Body=new_betas)
    client.put_object(Bucket="laion-fmri", Key=NEW_EVENTS, Body=b"onset\tduration\n1.0\t2.5\n")
    client.delete_object(Bucket="laion-fmri", Key=DELETED)
    client.put_object(Bucket="laion-fmri", Key=UNROUTED, Body=b"no rule for this key")
    report = build(root, own_server.location)
    return root, report, new_betas


def test_rebuild_reports_exactly_the_bucket_changes(
    rebuilt: tuple[Path, BuildReport, bytes],
) -> None:
    _, report, _ = rebuilt
    assert report.ok and report.committed
    touched = {n: c.summary() for n, c in report.datasets.items() if c.touched}
    assert touched == {
        GLM: "0 added, 1 changed, 0 removed",
        "sub-03": "1 added, 0 changed, 0 removed",
        "derivatives/freesurfer": "0 added, 0 changed, 1 removed",
    }


def test_unrouted_keys_are_reported_not_dropped(
    rebuilt: tuple[Path, BuildReport, bytes],
) -> None:
    root, report, _ = rebuilt
    assert report.unrouted == [UNROUTED]
    assert UNROUTED in report.details()
    assert not list(root.rglob("unknown-object.txt"))


def test_failed_objects_are_named_and_not_registered(
    own_server: ServedBucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server error on one object (simulated: SeaweedFS gives no way to provoke a 500)
    fails the build for that object only, names it, and leaves it out of the dataset."""
    from laion_fmri_datalad.s3.readable import probe_access as real_probe

    broken = "derivatives/rois/sub-07/motion/sub-07_space-T1w_res-1pt8_label-MT_mask.nii.gz"

    def probe(*args: object, **kwargs: object) -> dict[str, int]:
        status = real_probe(*args, **kwargs)  # type: ignore[arg-type]
        status[broken] = 500
        return status

    monkeypatch.setattr("laion_fmri_datalad.builder.builder.probe_access", probe)
    report = build(tmp_path / "ds", own_server.location)
    assert not report.ok
    assert len(report.failures) == 1 and report.failures[0].startswith(f"{broken}: HTTP status 500")
    assert not (tmp_path / "ds" / broken).is_symlink()
    assert (
        broken.split("/", 2)[2]
        not in (tmp_path / "ds/derivatives/rois/.laion-fmri/inventory.tsv").read_text()
    )


def test_rebuild_commits_exactly_the_matching_paths(
    rebuilt: tuple[Path, BuildReport, bytes],
) -> None:
    root, _, _ = rebuilt
    state = {".laion-fmri/inventory.tsv"}
    for name, expected in (
        (GLM, {BETAS}),
        ("sub-03", {NEW_EVENTS.removeprefix("sub-03/")}),
        ("derivatives/freesurfer", {DELETED.removeprefix("derivatives/freesurfer/")}),
    ):
        changed = set(git(root / name, "diff", "--name-only", "HEAD~1", "HEAD").split())
        assert changed == expected | state, name
    assert not (root / DELETED).exists()
    assert (root / NEW_EVENTS).read_text().startswith("onset")
    super_changed = set(git(root, "diff", "--name-only", "HEAD~1", "HEAD").split())
    touched = {GLM, "sub-03", "derivatives/freesurfer"}
    assert super_changed == touched | {listing_path(name) for name in touched}
    assert git(root, "status", "--porcelain") == ""


def test_old_version_stays_retrievable_after_overwrite(
    clone_of: Callable[[str, Path], Path],
    rebuilt: tuple[Path, BuildReport, bytes],
    fixture_dir: Path,
    tmp_path: Path,
) -> None:
    import datalad.api as dl

    root, _, new_betas = rebuilt
    clone = clone_of(str(root), tmp_path / "clone")
    dl.get(path=str(clone / GLM), dataset=str(clone), get_data=False, result_renderer="disabled")
    glm = clone / GLM
    dl.get(path=str(glm / BETAS), dataset=str(glm), result_renderer="disabled")
    assert (glm / BETAS).read_bytes() == new_betas
    git(glm, "checkout", "-q", "HEAD~1")
    git(glm, "annex", "get", BETAS)
    assert (glm / BETAS).read_bytes() == (fixture_dir / "objects" / GLM / BETAS).read_bytes()


def test_corrupted_object_fails_verification_and_leaves_no_content(
    clone_of: Callable[[str, Path], Path], own_server: ServedBucket, tmp_path: Path
) -> None:
    import datalad.api as dl

    client = admin_client(own_server.server)
    ensure_bucket(client, "unversioned-bucket", versioned=False)
    # anonymously readable, as a public bucket is (the server itself opens only its own)
    client.put_bucket_policy(
        Bucket="unversioned-bucket", Policy=bucket_policy("unversioned-bucket", [])
    )
    key = "sub-01/ses-01/anat/sub-01_ses-01_T1w.nii.gz"
    client.put_object(Bucket="unversioned-bucket", Key=key, Body=b"A" * 4096)
    location = BucketLocation("unversioned-bucket", endpoint_url=own_server.server.endpoint_url)
    root = tmp_path / "superdataset"
    assert build(root, location).ok
    assert "?versionId=" not in git(
        root / "sub-01", "annex", "whereis", key.removeprefix("sub-01/")
    )
    clone = clone_of(str(root), tmp_path / "clone")
    dl.get(
        path=str(clone / "sub-01"), dataset=str(clone), get_data=False, result_renderer="disabled"
    )
    client.put_object(Bucket="unversioned-bucket", Key=key, Body=b"B" * 4096)  # same size
    results = dl.get(
        path=str(clone / key), dataset=str(clone), result_renderer="disabled", on_failure="ignore"
    )
    failed = [r for r in results if r["status"] == "error"]
    assert failed, results
    message = " ".join(str(r.get("message")) + str(r.get("error_message")) for r in failed)
    assert "erif" in message or "checksum" in message.lower(), message
    sub = clone / "sub-01"
    assert git(sub, "annex", "find", "--in", "here") == ""
    objects = sub / ".git/annex/objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))


def test_withheld_objects_are_checked_again_only_when_asked(
    rebuilt: tuple[Path, BuildReport, bytes], own_server: ServedBucket
) -> None:
    """Runs last in this module: it lifts the bucket's denials."""
    root, _, _ = rebuilt
    client = admin_client(own_server.server)
    client.put_bucket_policy(
        Bucket="laion-fmri", Policy=bucket_policy("laion-fmri", ["stimuli/task-images_stimuli.h5"])
    )
    quiet = build(root, own_server.location)
    assert quiet.ok and not quiet.committed
    assert not (root / "sub-01/ses-31").exists()
    rechecked = build(root, own_server.location, recheck_withheld=True)
    assert rechecked.ok and rechecked.committed
    denied = sum(
        is_denied(e.key) for e in own_server.manifest.objects if e.key.startswith("sub-01/")
    )
    assert denied > 0
    assert rechecked.counts("sub-01").added == denied
    assert rechecked.counts("sub-01").withheld == 0
    assert rechecked.counts("stimuli").withheld == 1
    assert (root / "sub-01/ses-31/func").is_dir()
    assert (root / "sub-01/.laion-fmri/withheld.tsv").read_text().count("\n") == 1  # header only
