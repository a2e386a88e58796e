"""The superdataset where its users are (issue 23): the repository built into a superdataset
and released, then published to a RIA store served by a static web server (Python's
``http.server``) and to a git host (git's smart HTTP through ``git http-backend``), both on
127.0.0.1; cloned over HTTP, content got from the bucket's URLs and checked with ``git
annex fsck``; kept current with ``datalad update -r --how merge`` or pinned to a release;
and BIDS-valid by the official validator, its derivative streams as derivative datasets.

One module builds one superdataset (from a clone of this repository, as a maintainer does)
on its own server, so the bucket can change under it (a stream no rule names appears)."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.cli import main
from laion_fmri_datalad.devserver.fixture import encode
from laion_fmri_datalad.devserver.gitserver import GitHost, serve_directory, serve_git_host
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.devserver.s3load import admin_client
from laion_fmri_datalad.errors import LaionFmriError, UsageError
from laion_fmri_datalad.loaders.api.discovery import plan_get
from laion_fmri_datalad.provenance.release import release
from laion_fmri_datalad.publishing.githost import GitHostReport
from laion_fmri_datalad.publishing.publish import publish
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.dataset import registered_subdatasets
from laion_fmri_datalad.repo.env import tool_env
from laion_fmri_datalad.repo.git import git, git_or_none

REPOSITORY = Path(__file__).resolve().parents[1]
SESSION = "sub-01/ses-01"
NEW_STREAM = "derivatives/mriqc"
NEW_KEY = f"{NEW_STREAM}/sub-01/ses-01/anat/sub-01_ses-01_desc-brain_mask.nii.gz"
VALIDATOR = Path(sys.executable).with_name("bids-validator-deno")


@dataclass
class Published:
    superdataset: Path
    store: Path
    served: ServedBucket


@pytest.fixture(scope="module")
def published(own_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory) -> Published:
    """This repository built into a superdataset, released as 1.0.0 and published to a RIA
    store on the file system."""
    work = tmp_path_factory.mktemp("where-users-are")
    superdataset = work / "superdataset"
    git(None, "clone", "--quiet", "--no-tags", str(REPOSITORY), str(superdataset))
    assert build(superdataset, own_server.location).ok
    release(superdataset, "1.0.0")
    store = work / "ria"
    publish(superdataset, f"ria+file://{store}")
    return Published(superdataset, store, own_server)


@pytest.fixture(scope="module")
def web_store(published: Published) -> Iterator[str]:
    """The store's directory behind a static web server: the ``ria+http`` clone URL."""
    with serve_directory(published.store) as url:
        yield f"ria+{url}#~laion-fmri"


def _get(clone: Path, *paths: str) -> None:
    datalad.call(
        "get", path=[str(clone / p) for p in paths], dataset=str(clone), loopback=True, jobs=4
    )


def _fsck(dataset: Path, path: str) -> list[dict[str, object]]:
    out = git(dataset, "annex", "fsck", "--json", path, loopback=True)
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_ria_store_is_cloned_over_http(
    web_store: str, clone_of: Callable[[str, Path], Path], tmp_path: Path
) -> None:
    """Every repository of the store has its dumb-HTTP files and the post-update hook; a
    clone over HTTP installs sub-01 from the same store and gets its content from the bucket."""
    clone = clone_of(web_store, tmp_path / "clone")
    _get(clone, SESSION)
    origin = git(clone / "sub-01", "remote", "get-url", "origin").strip()
    assert origin.startswith(web_store.split("#")[0].removeprefix("ria+"))
    checked = _fsck(clone / "sub-01", "ses-01")
    assert checked and all(r["success"] for r in checked), checked
    assert any(p.name.endswith("_bold.nii.gz") for p in (clone / SESSION / "func").iterdir())


def test_store_repositories_are_ready_for_static_http(published: Published) -> None:
    repos = [p.parent for p in published.store.glob("*/*/HEAD") if p.parts[-3] != "alias"]
    assert len(repos) == 1 + len(registered_subdatasets(published.superdataset))
    for repo in repos:
        hook = repo / "hooks" / "post-update"
        assert "update-server-info" in hook.read_text() and hook.stat().st_mode & 0o111
        refs = (repo / "info" / "refs").read_text()
        assert "refs/heads/" in refs and "refs/tags/1.0.0" in refs


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHost]:
    with serve_git_host(tmp_path_factory.mktemp("githost")) as running:
        yield running


def test_git_host_publish_clone_and_get(
    published: Published, host: GitHost, clone_of: Callable[[str, Path], Path], tmp_path: Path
) -> None:
    """One repository per dataset, named as create-sibling-github -r names them, pushed with
    datalad push; .gitmodules names them; a clone from the host installs sub-01 from there
    and gets content from the bucket; publishing again pushes nothing."""
    report = publish(published.superdataset, host.base)
    assert (
        isinstance(report, GitHostReport) and report.ok and report.pushed == report.datasets == 14
    )
    repos = sorted(p.name for p in (host.root / host.organisation).iterdir())
    assert "laion-fmri.git" in repos and "laion-fmri-derivatives-rois.git" in repos
    assert "laion-fmri-sub-01.git" in repos and len(repos) == 14
    clone = clone_of(report.clone_url, tmp_path / "clone")
    _get(clone, SESSION)
    assert git(clone / "sub-01", "remote", "get-url", "origin").strip() == (
        f"{host.base}/laion-fmri-sub-01.git"
    )
    checked = _fsck(clone / "sub-01", "ses-01")
    assert checked and all(r["success"] for r in checked)
    assert git(clone, "tag", "--list").split() == ["1.0.0"]
    again = publish(published.superdataset, host.base)
    assert isinstance(again, GitHostReport) and again.pushed == 0 and not again.urls_committed


def test_a_git_host_gets_nothing_of_the_publishers_machine(
    published: Published, host: GitHost, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The store's ``ria-storage`` remote (``ria+file://``, autoenabled) and the descriptions
    naming the publisher's directories stay home: no ref of any repository on the host
    reaches them, a clone made in another directory tree has no such remote, and
    ``datalad get`` there warns of nothing."""
    report = publish(published.superdataset, host.base)
    assert isinstance(report, GitHostReport) and report.ok
    local = ("file://", str(published.store), str(published.superdataset))
    assert "ria-storage" in git(published.superdataset / "sub-01", "remote")  # still home
    annexed = [
        repo
        for repo in sorted((host.root / host.organisation).iterdir())
        if git_or_none(repo, "rev-parse", "--verify", "--quiet", "git-annex") is not None
    ]
    assert len(annexed) == len(registered_subdatasets(published.superdataset))
    for repo in annexed:
        for log in ("remote.log", "uuid.log"):
            text = git(repo, "cat-file", "-p", f"git-annex:{log}")
            assert not any(word in text for word in local), (repo.name, log, text)
        history = git(repo, "log", "-p", "--format=", "git-annex", "--", "remote.log", "uuid.log")
        assert not any(word in history for word in local), repo.name
    home = git(published.superdataset / "sub-01", "cat-file", "-p", "git-annex:remote.log")
    assert "ria+file://" in home and "autoenable=true" in home  # what was left out
    elsewhere = tmp_path_factory.mktemp("another-tree") / "user" / "laion-fmri"
    env = tool_env(loopback=True)
    clone = subprocess.run(
        ["datalad", "clone", str(report.clone_url), str(elsewhere)], env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert clone.returncode == 0, clone.stderr
    got = subprocess.run(
        ["datalad", "get", f"{SESSION}/anat"], cwd=elsewhere, env=env, capture_output=True,
        text=True,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert "ria-storage" not in git(elsewhere / "sub-01", "remote", "-v")
    assert "warning" not in got.stderr.lower() and "ria" not in got.stderr.lower(), got.stderr


def test_git_host_refusals_publish_nothing_half(
    published: Published, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host that refuses one subdataset's push: one line, the superdataset not pushed;
    publishing again once the host accepts finishes. A repository that exists with other
    history: one line, nothing pushed at all."""
    with serve_git_host(tmp_path / "refusing") as refusing:
        refusing.refuse.add("laion-fmri-sub-01")
        code = main(["publish", str(published.superdataset), "--to", refusing.base, "--name", "h2"])
        said = capsys.readouterr().err.strip().splitlines()
        assert code == 1 and len(said) == 1 and "laion-fmri-sub-01.git" in said[0]
        assert "superdataset was not pushed" in said[0]
        assert not refusing.repository("laion-fmri").exists()
        refusing.refuse.clear()
        finished = publish(published.superdataset, refusing.base, sibling="h2")
        assert isinstance(finished, GitHostReport)
        assert refusing.repository("laion-fmri").is_dir() and finished.pushed >= 1
        assert (
            git(refusing.repository("laion-fmri"), "rev-parse", "HEAD").strip()
            == git(published.superdataset, "rev-parse", "HEAD").strip()
        )
    with serve_git_host(tmp_path / "taken") as taken:
        other = tmp_path / "other"
        git(None, "init", "-q", str(other))
        (other / "x").write_text("someone else's\n")
        git(other, "add", "x")
        git(other, "commit", "-qm", "other history")
        git(other, "push", "-q", f"{taken.base}/laion-fmri.git", "HEAD:refs/heads/main")
        git(other, "push", "-q", f"{taken.base}/laion-fmri.git", "HEAD:refs/heads/master")
        with pytest.raises(UsageError, match="already exists with other history"):
            publish(published.superdataset, taken.base, sibling="h3")
        assert sorted(p.name for p in (taken.root / taken.organisation).iterdir()) == [
            "laion-fmri.git"
        ]
    with pytest.raises(LaionFmriError, match=r"127\.0\.0\.1:9"):
        publish(published.superdataset, "http://127.0.0.1:9/org", sibling="h4")


def test_update_moves_an_old_clone_on_and_a_pinned_one_stays(
    published: Published, web_store: str, clone_of: Callable[[str, Path], Path], tmp_path: Path
) -> None:
    """Clones made at 1.0.0; the bucket gains a stream no rule names, the maintainer rebuilds
    (the new stream its own subdataset, reported), releases 1.1.0 (CHANGES.md says so) and
    publishes. ``datalad update -r --how merge`` brings one clone to 1.1.0 over HTTP (the
    store's post-update hook kept info/refs current); ``git checkout 1.0.0`` keeps the other
    where it was."""
    moving = clone_of(web_store, tmp_path / "moving")
    pinned = clone_of(web_store, tmp_path / "pinned")
    _get(moving, SESSION)
    mask = np.zeros((10, 12, 9), dtype=np.uint8)
    mask[3:6, 3:6, 3:6] = 1
    client = admin_client(published.served.server)
    client.put_object(Bucket="laion-fmri", Key=NEW_KEY, Body=encode.nifti_gz(mask))
    report = build(published.superdataset, published.served.location)
    assert (
        report.new_streams == ["mriqc"]
        and "new streams (own subdatasets): mriqc" in report.summary()
    )
    assert "get --stream mriqc" in report.details()
    described = json.loads(
        (published.superdataset / NEW_STREAM / "dataset_description.json").read_text()
    )
    assert described["DatasetType"] == "derivative"
    release(published.superdataset, "1.1.0")
    changes = (published.superdataset / "CHANGES.md").read_text()
    assert f"### {NEW_STREAM} (new stream)" in changes
    publish(published.superdataset, f"ria+file://{published.store}")

    datalad.call("update", dataset=str(moving), recursive=True, how="merge", loopback=True)
    assert git(moving, "describe", "--tags").strip() == "1.1.0"
    assert (moving / ".gitmodules").read_text().count(NEW_STREAM) >= 1
    _, chosen = plan_get("sub-01", stream=["mriqc"], dataset=moving)  # get --stream mriqc
    assert [str(c.path.relative_to(moving)) for c in chosen] == [NEW_KEY]
    _get(moving, f"{NEW_STREAM}/sub-01")
    assert (moving / NEW_KEY).is_file()
    diff = git(moving, "diff", "1.0.0", "1.1.0", "--stat")
    assert "CHANGES.md" in diff and NEW_STREAM in diff

    datalad.call("update", dataset=str(pinned), recursive=True, how="merge", loopback=True)
    git(pinned, "checkout", "-q", "1.0.0")
    assert NEW_STREAM not in (pinned / ".gitmodules").read_text()
    assert git(pinned, "describe", "--tags").strip() == "1.0.0"


@pytest.fixture(scope="module")
def everything_public(
    published: Published, web_store: str, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A clone with every subdataset installed and all public content got."""
    clone = tmp_path_factory.mktemp("bids") / "clone"
    datalad.call("clone", source=web_store, path=str(clone))
    datalad.call("get", path=[str(clone)], dataset=str(clone), recursive=True, get_data=False)
    datalad.call(
        "get", path=[str(clone)], dataset=str(clone), recursive=True, loopback=True, jobs=4
    )
    return clone


def _validate(path: Path, *options: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(VALIDATOR), "--json", *options, str(path)], capture_output=True, text=True, timeout=600
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _errors(report: dict[str, Any]) -> list[tuple[str, str]]:
    issues = report["issues"]["issues"]
    return [(i["code"], i.get("location", "")) for i in issues if i["severity"] == "error"]


def _declared(location: str, patterns: list[str]) -> bool:
    """Whether a .bidsignore pattern (the forms the mirror writes: a name, or a path of
    names from the dataset's root) covers ``location``."""
    parts = location.strip("/").split("/")
    for pattern in patterns:
        steps = pattern.rstrip("/").split("/")
        if len(steps) == 1 and any(fnmatch.fnmatch(p, steps[0]) for p in parts):
            return True
        deep = len(steps) > 1 and len(parts) >= len(steps)
        if deep and all(fnmatch.fnmatch(p, s) for p, s in zip(parts, steps, strict=False)):
            return True
    return False


def test_bids_validator_finds_no_errors(everything_public: Path) -> None:
    """bids-validator-deno (offline) on the clone with its public content: 0 errors in the
    superdataset, and 0 in every derivative dataset validated on its own (the validator
    reads a derivative's .bidsignore then). With -r it does not read them: there every
    derivative error is a file that derivative's .bidsignore declares, with the reason.
    Its warnings are listed in docs/user-guide.md."""
    report = _validate(everything_public, "-r")
    assert _errors(report) == [], _errors(report)[:20]
    warnings = Counter(i["code"] for i in report["issues"]["issues"] if i["severity"] == "warning")
    print("bids-validator warnings:", dict(warnings))
    derivatives = sorted(p for p in (everything_public / "derivatives").iterdir() if p.is_dir())
    assert {f"/derivatives/{p.name}/" for p in derivatives} == set(report["derivativesSummary"])
    for derivative in derivatives:
        alone = _errors(_validate(derivative))
        assert alone == [], (derivative.name, alone[:10])
        ignore = derivative / ".bidsignore"
        patterns = [
            line.strip()
            for line in (ignore.read_text().splitlines() if ignore.is_file() else [])
            if line.strip() and not line.startswith("#")
        ]
        summary = report["derivativesSummary"][f"/derivatives/{derivative.name}/"]
        undeclared = [e for e in _errors(summary) if not _declared(e[1], patterns)]
        assert undeclared == [], (derivative.name, undeclared[:10])
    assert not (everything_public / "sub-01" / "dataset_description.json").exists()
    assert (everything_public / ".laion-fmri/bucket/README").is_file()
    assert shutil.which(str(VALIDATOR))
