"""The builder against a real SeaweedFS server, and a user's clone of its result."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.builder.inventory import load_inventory
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.devserver.fixture.bucket import Manifest
from laion_fmri_datalad.devserver.fixture.spec import GATED_STIMULI_KEY, is_denied
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.repo.git import git

SUBDATASETS = [
    "archive", "derivatives/anatomical", "derivatives/freesurfer", "derivatives/glmsingle-tedana",
    "derivatives/localizers", "derivatives/rois", "derivatives/tedana", "stimuli",
    "sub-01", "sub-03", "sub-05", "sub-06", "sub-07",
]  # fmt: skip
BETAS_01 = (
    "sub-01/ses-01/func/"
    "sub-01_ses-01_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
)


def annexed_keys(repo: Path) -> list[str]:
    out = git(repo, "annex", "find", "--include=*", "--format=${key}\n")
    return out.split()


def test_build_reports_every_object(built: tuple[Path, BuildReport], manifest: Manifest) -> None:
    _, report = built
    assert report.ok and report.committed and report.unrouted == []
    assert sorted(n for n in report.datasets if n) == SUBDATASETS
    total = report.total()
    denied = [e.key for e in manifest.objects if is_denied(e.key)]
    assert any("/ses-31/" in k for k in denied) and GATED_STIMULI_KEY in denied
    assert total.withheld == len(denied)
    assert total.added + total.withheld == len(manifest.objects)
    assert report.hashed_objects == sum(e.multipart for e in manifest.objects)


def test_every_commit_of_a_build_is_the_users(
    built: tuple[Path, BuildReport], identities: Callable[..., set[str]], test_user: str
) -> None:
    """The user's identity (from their ~/.gitconfig) on every commit the build made, the
    git-annex branches' included: a build never replaces it with one of its own."""
    root, _ = built
    for name in ["", *SUBDATASETS]:
        assert identities(root / name) == {test_user}, name or "superdataset"


def test_each_subdataset_is_a_dataset_with_a_description_where_bids_allows(
    built: tuple[Path, BuildReport],
) -> None:
    root, _ = built
    modules = git(root, "config", "-f", ".gitmodules", "--get-regexp", r"\.datalad-id$")
    assert len(modules.splitlines()) == len(SUBDATASETS)
    for name in SUBDATASETS:
        assert (root / name / ".datalad" / "config").is_file()
        # a raw subject's subdataset is a directory of the root's BIDS dataset: no description
        described = (root / name / "dataset_description.json").is_file()
        assert described != name.startswith("sub-"), name
        log = git(root / name, "log", "--format=%s")
        assert log.splitlines()[0].startswith("[laion-fmri-build]")
    subjects = git(root, "log", "--format=%s").splitlines()
    assert len([s for s in subjects if re.match(r"\[laion-fmri-build\] \d+ added", s)]) == 1


def test_small_text_in_git_and_the_rest_annexed_with_verifiable_keys(
    built: tuple[Path, BuildReport],
) -> None:
    root, _ = built
    sub = root / "sub-01"
    events = sub / "ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"
    assert events.is_file() and not events.is_symlink()
    bold = sub / "ses-01/func/sub-01_ses-01_task-images_run-01_echo-1_part-mag_bold.nii.gz"
    assert bold.is_symlink() and not bold.exists()  # registered, content not downloaded
    for name in SUBDATASETS:
        keys = annexed_keys(root / name)
        assert keys, name
        assert all(k.startswith(("MD5E-", "SHA256E-")) for k in keys), name
    glm_keys = annexed_keys(root / "derivatives/glmsingle-tedana")
    assert sum(k.startswith("SHA256E-") for k in glm_keys) == 2  # the multipart objects


def test_urls_are_pinned_to_versions(built: tuple[Path, BuildReport], served: ServedBucket) -> None:
    root, _ = built
    out = git(root / "derivatives/glmsingle-tedana", "annex", "whereis", BETAS_01)
    assert f"{served.server.endpoint_url}/laion-fmri/derivatives/glmsingle-tedana/" in out
    assert "?versionId=" in out


def test_denied_objects_are_withheld_and_listed(
    built: tuple[Path, BuildReport], manifest: Manifest
) -> None:
    root, _ = built
    assert not (root / "sub-01/ses-31").exists()
    withheld = (root / "sub-01/.laion-fmri/withheld.tsv").read_text().splitlines()
    assert withheld[0].split("\t") == ["path", "s3_key", "version_id", "size", "http_status"]
    denied = sum(is_denied(e.key) for e in manifest.objects if e.key.startswith("sub-01/"))
    assert denied > 0
    assert len(withheld) - 1 == denied and all(r.endswith("\t403") for r in withheld[1:])
    stimuli = (root / "stimuli/.laion-fmri/withheld.tsv").read_text()
    assert "task-images_stimuli.h5" in stimuli
    assert not (root / "stimuli/task-images_stimuli.h5").is_symlink()


def test_rebuilding_an_unchanged_bucket_makes_no_commit(
    built: tuple[Path, BuildReport], served: ServedBucket
) -> None:
    root, _ = built
    heads = {n: git(root / n, "rev-parse", "HEAD") for n in ["", *SUBDATASETS]}
    report = build(root, served.location)
    assert report.ok and not report.committed
    assert report.total().added == report.total().changed == report.total().removed == 0
    assert {n: git(root / n, "rev-parse", "HEAD") for n in heads} == heads
    assert git(root, "status", "--porcelain") == ""


def test_clone_gets_content_identical_to_the_bucket(
    clone_of: Callable[[str, Path], Path], store: str, fixture_dir: Path, tmp_path: Path
) -> None:
    import datalad.api as dl

    clone = clone_of(store, tmp_path / "clone")
    results = dl.get(
        path=[str(clone / "sub-01/ses-01"), str(clone / "derivatives/glmsingle-tedana" / BETAS_01)],
        dataset=str(clone),
        result_renderer="disabled",
    )
    assert {r["status"] for r in results} <= {"ok", "notneeded"}
    got = sorted((clone / "sub-01/ses-01").rglob("*.nii.gz"))
    # two runs of bold and sbref, each per echo (3) and part (mag, phase); fmap (3); T1w
    assert len(got) == 2 * 2 * 3 * 2 + 3 + 1
    for path in got:
        key = "sub-01/" + path.relative_to(clone / "sub-01").as_posix()
        assert path.read_bytes() == (fixture_dir / "objects" / key).read_bytes()
    betas = clone / "derivatives/glmsingle-tedana" / BETAS_01
    expected = fixture_dir / "objects/derivatives/glmsingle-tedana" / BETAS_01
    assert betas.read_bytes() == expected.read_bytes()


def test_pybids_indexes_a_fresh_clone_without_content(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    import datalad.api as dl
    from bids import BIDSLayout

    clone = clone_of(store, tmp_path / "fresh")
    dl.get(
        path=[str(clone / "sub-01"), str(clone / "derivatives/glmsingle-tedana")],
        dataset=str(clone),
        get_data=False,
        result_renderer="disabled",
    )
    layout = BIDSLayout(clone, derivatives=[clone / "derivatives/glmsingle-tedana"], validate=False)
    betas = layout.get(
        subject="01",
        session="01",
        desc="SingletrialBetas",
        suffix="statmap",
        extension=".nii.gz",
    )
    trials = layout.get(subject="01", session="01", suffix="trials", extension=".tsv")
    assert len(betas) == 1 and len(trials) == 1
    assert not Path(betas[0].path).exists()  # no content was needed to find it
    assert Path(trials[0].path).read_text().startswith("session\trun\tbeta_index\tlabel")
    bold = layout.get(subject="01", session="01", suffix="bold", extension=".nii.gz")
    assert len(bold) == 2 * 3 * 2


def test_inventory_records_every_routed_object(built: tuple[Path, BuildReport]) -> None:
    root, report = built
    for name in SUBDATASETS:
        inventory = load_inventory(root / name)
        counts = report.datasets[name]
        assert len(inventory) == counts.added + counts.withheld


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laion_fmri_datalad.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bucket", "Not_A_Bucket"], "bucket name 'Not_A_Bucket' is not allowed"),
        (["--endpoint-url", "http://127.0.0.1:9"], "cannot reach the S3 endpoint"),
        (["--endpoint-url", "ftp://x"], "endpoint URL 'ftp://x' is not allowed"),
    ],
)
def test_build_bad_bucket_or_endpoint_is_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    done = cli("build", str(tmp_path / "ds"), *args)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert not (tmp_path / "ds").exists()  # nothing half-made


def test_build_unknown_bucket_is_one_line(served: ServedBucket, tmp_path: Path) -> None:
    done = cli(
        "build",
        str(tmp_path / "ds"),
        "--bucket",
        "no-such-bucket",
        "--endpoint-url",
        served.server.endpoint_url,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "laion-fmri-datalad: error: bucket 'no-such-bucket' does not exist at "
        f"{served.server.endpoint_url}"
    )


def test_rebuild_finishes_a_build_stopped_before_the_superdataset_commit(
    served: ServedBucket, tmp_path: Path
) -> None:
    root = tmp_path / "superdataset"
    assert build(root, served.location).committed
    git(root, "reset", "-q", "--hard", "HEAD~1")  # as if stopped before that commit
    assert "sub-01" not in git(root, "ls-tree", "--name-only", "HEAD")
    report = build(root, served.location)
    assert report.ok and report.committed
    assert all(report.counts(n).added == 0 for n in SUBDATASETS)  # nothing registered again
    assert report.counts("").added == 4  # the root files of the lost commit come back
    for name in SUBDATASETS:
        recorded = git(root, "ls-tree", "HEAD", name).split()[2]
        assert recorded == git(root / name, "rev-parse", "HEAD").strip()
    assert not build(root, served.location).committed


def test_localizers_are_routed_with_their_sessions_and_the_public_oloc_maps(
    built: tuple[Path, BuildReport], manifest: Manifest
) -> None:
    """The localizer stream has non-numeric session labels, and ses-31's object localizer
    is public (registered) while every other ses-31 key is withheld."""
    root, _ = built
    loc = root / "derivatives/localizers"
    tracked = git(loc, "ls-files").splitlines()
    sessions = {p.split("/")[1] for p in tracked if p.startswith("sub-01/")}
    assert sessions == {"ses-31", "ses-4BarScreenfLoc", "ses-MotionLocBarsSML"}
    oloc = [
        e.key.removeprefix("derivatives/localizers/")
        for e in manifest.objects
        if e.key.startswith("derivatives/localizers/") and "task-oloc" in e.key
    ]
    assert oloc and set(oloc) <= set(tracked)
    assert all(not is_denied(f"derivatives/localizers/{p}") for p in oloc)
    assert (loc / oloc[0]).is_symlink()  # annexed, with a URL: retrievable
    withheld = (root / "sub-01/.laion-fmri/withheld.tsv").read_text()
    assert "ses-31/" in withheld and "task-oloc" not in withheld


def test_archive_is_a_subdataset_beside_stimuli(built: tuple[Path, BuildReport]) -> None:
    root, _ = built
    archived = git(root / "archive", "ls-files", "embeddings/v1").split()
    assert sorted(archived) == [
        f"embeddings/v1/task-images_desc-{m}_embeddings.h5"
        for m in ("CLIP", "DINOv2", "PEcore", "SigLIP2")
    ]
    description = (root / "archive/dataset_description.json").read_text()
    assert "replaced in later versions" in description
