"""Gated stimuli: the access service, the special remote in a user's clone, the token
flows, resuming, secrecy, and the stimulus readers."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from annexremote import RemoteError
from PIL import Image

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.config import REQUEST_ID
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.stimuli import EMBEDDING_DIMS, embeddings, encoded_images
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.gated import client as gated_client
from laion_fmri_datalad.gated import remote as gated_remote
from laion_fmri_datalad.gated.client import manifest, request_access, served_versions
from laion_fmri_datalad.gated.register import register_gated
from laion_fmri_datalad.gated.tokens import cache_file
from laion_fmri_datalad.loaders import load_stimuli, load_subject, load_subjects
from laion_fmri_datalad.repo.git import git

GATED = "task-images_stimuli.h5"
FORM = {"name": "A. Researcher", "email": "a@example.org", "institution": "Lab",
        "purpose": "tests", "accept_terms": True}  # fmt: skip


@pytest.fixture(scope="module")
def superdataset(own_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gated") / "superdataset"
    assert build(root, own_server.location).ok
    report = register_gated(root, own_server.access.url)
    assert report.registered == [GATED] and report.committed
    assert register_gated(root, own_server.access.url).unchanged == [GATED]  # idempotent
    return root


@pytest.fixture(scope="module")
def gated_clone(
    clone_of: Callable[[str, Path], Path],
    superdataset: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    import datalad.api as dl

    path = Path(clone_of(str(superdataset), tmp_path_factory.mktemp("user") / "laion-fmri"))
    dl.get(
        path=str(path / "stimuli"), dataset=str(path), get_data=False, result_renderer="disabled"
    )
    return path


@pytest.fixture
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REQUEST_ID, raising=False)
    cache_file().unlink(missing_ok=True)


def datalad_get(
    gated_clone: Path, path: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != REQUEST_ID}
    if token is not None:
        env[REQUEST_ID] = token
    return subprocess.run(
        ["datalad", "get", path], cwd=gated_clone, capture_output=True, text=True, env=env
    )


def drop(gated_clone: Path) -> None:
    subprocess.run(
        ["git", "-C", str(gated_clone / "stimuli"), "annex", "drop", "--force", GATED],
        capture_output=True,
        check=True,
    )


def test_key_comes_from_the_public_manifest(superdataset: Path, own_server: ServedBucket) -> None:
    answer = manifest(own_server.access.url)  # the documented shape, through the client
    assert answer["dataset"] == "laion-fmri" and served_versions(answer) == ["v1"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", answer["current_terms_version"])
    files = {f["name"]: f for f in own_server.access.manifest()[1]["files"]}
    key = (superdataset / "stimuli" / GATED).readlink().name
    assert key == f"SHA256E-s{files[GATED]['size']}--{files[GATED]['sha256']}.h5"
    remote_log = git(superdataset / "stimuli", "cat-file", "-p", "git-annex:remote.log")
    assert "externaltype=laionfmri" in remote_log and "autoenable=true" in remote_log
    assert f"url={own_server.access.url}" in remote_log


def test_without_a_token_get_says_how_to_get_access(gated_clone: Path, no_token: None) -> None:
    done = datalad_get(gated_clone, f"stimuli/{GATED}")
    assert done.returncode != 0
    text = done.stdout + done.stderr
    assert "no access token for the gated stimuli: run `laion-fmri-datalad request-access`" in text
    assert not (gated_clone / "stimuli" / GATED).exists()
    assert not list((gated_clone / "stimuli/.git/annex").glob("tmp/SHA256E*"))  # no partial file
    other = datalad_get(gated_clone, "stimuli/task-images_desc-CLIP_embeddings.h5")
    assert other.returncode == 0, other.stderr  # everything else stays retrievable
    assert (gated_clone / "stimuli/task-images_desc-CLIP_embeddings.h5").is_file()


def test_without_a_token_the_loaders_say_how_once(gated_clone: Path, no_token: None) -> None:
    """The remote's error reaches the loaders' one line once, though git-annex repeats it
    per attempt and DataLad keeps every copy."""
    from laion_fmri_datalad.errors import LaionFmriError
    from laion_fmri_datalad.loaders.clone.content import Content

    with pytest.raises(LaionFmriError) as err:
        Content(gated_clone).ensure_present([gated_clone / "stimuli" / GATED])
    message = str(err.value)
    assert message.count("no access token for the gated stimuli") == 1, message
    assert "\n" not in message


def test_request_access_stores_a_private_token_and_get_works(
    gated_clone: Path, own_server: ServedBucket, no_token: None
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "laion_fmri_datalad.cli",
            "request-access",
            "--name",
            "A",
            "--email",
            "a@example.org",
            "--institution",
            "Lab",
            "--purpose",
            "tests",
            "--accept-terms",
            "--dataset",
            str(gated_clone),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    path = cache_file()
    assert f"token stored in {path} (mode 0600)" in done.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = json.loads(path.read_text())["request_id"]
    assert token not in done.stdout + done.stderr
    got = datalad_get(gated_clone, f"stimuli/{GATED}")  # the token comes from the cache file
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256((gated_clone / "stimuli" / GATED).read_bytes()).hexdigest() == next(
        f["sha256"] for f in own_server.access.manifest()[1]["files"]
    )
    fsck = json.loads(git(gated_clone / "stimuli", "annex", "fsck", "--json", GATED))
    assert fsck["success"] is True
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "laion_fmri_datalad.cli",
            "request-access",
            "--name",
            "A",
            "--dataset",
            str(gated_clone),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "--email is required" in missing.stderr


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("outdated terms", "the terms of use have changed: accept the new terms at http://"),
        ("revoked", "your access token has been revoked"),
        ("unknown", "the access service does not know your token"),
        (
            "anonymised",
            "anonymised after a year without downloads; run `laion-fmri-datalad request-access` again",
        ),
    ],
)
def test_refused_tokens_each_say_why(
    gated_clone: Path, own_server: ServedBucket, no_token: None, case: str, message: str
) -> None:
    drop(gated_clone)
    token = request_access(own_server.access.url, FORM)
    if case == "outdated terms":
        own_server.access.new_terms()
    elif case == "revoked":
        own_server.access.revoke(token)
    elif case == "anonymised":
        own_server.access.forget(token)
    else:
        token = "not-a-token-the-service-issued"
    done = datalad_get(gated_clone, f"stimuli/{GATED}", token)
    assert done.returncode != 0
    assert message in done.stdout + done.stderr
    if case == "outdated terms":
        assert f"{own_server.access.url}/terms/v" in done.stdout + done.stderr
    assert not (gated_clone / "stimuli" / GATED).exists()


class FakeAnnex:
    def __init__(self, url: str) -> None:
        self.url = url
        self.progressed: list[int] = []

    def getconfig(self, name: str) -> str:
        return self.url if name == "url" else ""

    def progress(self, n: int) -> None:
        self.progressed.append(n)


def test_expired_url_is_refreshed(
    superdataset: Path, own_server: ServedBucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    token = request_access(own_server.access.url, FORM)
    monkeypatch.setenv(REQUEST_ID, token)
    own_server.access.set_url_ttl(1)
    stale = gated_client.refresh(own_server.access.url, token, "1")
    time.sleep(2.5)  # its presigned URL has expired now
    own_server.access.set_url_ttl(3600)
    calls: list[int] = []
    real = gated_client.refresh

    def counting(base: str, tok: str, version: str) -> dict[str, Any]:
        calls.append(1)
        return stale if len(calls) == 1 else real(base, tok, version)

    monkeypatch.setattr(gated_remote, "refresh", counting)
    remote = gated_remote.GatedRemote(FakeAnnex(own_server.access.url))
    remote.prepare()
    key = (superdataset / "stimuli" / GATED).readlink().name
    target = tmp_path / "download"
    remote.transfer_retrieve(key, str(target))
    assert len(calls) == 2  # the expired URL was answered 403 and replaced
    assert hashlib.sha256(target.read_bytes()).hexdigest() == gated_remote.key_sha256(key)


def test_interrupted_download_resumes_and_verifies(
    superdataset: Path,
    gated_clone: Path,
    own_server: ServedBucket,
    fixture_dir: Path,
    tmp_path: Path,
    no_token: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = request_access(own_server.access.url, FORM)
    content = (fixture_dir / "objects/stimuli" / GATED).read_bytes()
    key = (superdataset / "stimuli" / GATED).readlink().name
    half = len(content) // 2
    monkeypatch.setenv(REQUEST_ID, token)
    # the remote itself: it continues after the bytes already there (a Range request)...
    annex = FakeAnnex(own_server.access.url)
    remote = gated_remote.GatedRemote(annex)
    remote.prepare()
    target = tmp_path / "partial"
    target.write_bytes(content[:half])
    remote.transfer_retrieve(key, str(target))
    assert target.read_bytes() == content
    assert half < annex.progressed[0] <= half + gated_remote.CHUNK  # counted on from half
    # ...so a wrong first half is caught by the checksum, and the partial file removed
    target.write_bytes(b"\0" * half)
    with pytest.raises(RemoteError, match="does not match its checksum; removed it"):
        remote.transfer_retrieve(key, str(target))
    assert not target.exists()
    # and through git-annex: a transfer interrupted half-way is completed and verified
    monkeypatch.delenv(REQUEST_ID)
    drop(gated_clone)
    tmp = gated_clone / "stimuli/.git/annex/tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / key).write_bytes(content[:half])
    good = datalad_get(gated_clone, f"stimuli/{GATED}", token)
    assert good.returncode == 0, good.stderr
    assert (gated_clone / "stimuli" / GATED).read_bytes() == content
    fsck = json.loads(git(gated_clone / "stimuli", "annex", "fsck", "--json", GATED))
    assert fsck["success"] is True


def test_no_secret_anywhere(
    superdataset: Path, gated_clone: Path, own_server: ServedBucket, no_token: None
) -> None:
    token = request_access(own_server.access.url, FORM)
    drop(gated_clone)
    done = datalad_get(gated_clone, f"stimuli/{GATED}", token)
    assert done.returncode == 0, done.stderr
    assert token not in done.stdout + done.stderr
    needle = token.encode()
    for root in (gated_clone, superdataset):
        for path in root.rglob("*"):  # work trees, .git dirs, annex logs, configs
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 50_000_000:
                assert needle not in path.read_bytes(), f"token found in {path}"
        for dataset in [root, *(p.parent for p in root.glob("**/.datalad") if p.parent != root)]:
            if (dataset / ".git").exists():
                history = subprocess.run(
                    ["git", "-C", str(dataset), "log", "-p", "--all"], capture_output=True
                ).stdout
                assert needle not in history, f"token in the history of {dataset}"


def test_readers_return_the_generated_values(
    gated_clone: Path, own_server: ServedBucket, fixture_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(REQUEST_ID, request_access(own_server.access.url, FORM))
    catalogue = build_catalogue()
    stimuli = load_stimuli(gated_clone)
    assert stimuli.metadata["image_name"].tolist() == [im.name for im in catalogue]
    encoded = encoded_images(0, catalogue)
    png = next(i for i, im in enumerate(catalogue) if im.is_png)
    jpg = next(i for i, im in enumerate(catalogue) if not im.is_png)
    assert stimuli.get_image(png, format="bytes") == encoded[png]
    assert stimuli.get_image(catalogue[jpg].name, format="bytes") == encoded[jpg]
    rgba = np.asarray(Image.open(io.BytesIO(encoded[png])).convert("RGBA")).astype(float)
    alpha = rgba[..., 3:] / 255.0
    shown = rgba[..., :3] * alpha + 128.0 * (1 - alpha)
    composited = stimuli.get_image(png, format="array").astype(float)
    assert composited.shape == shown.shape and np.abs(composited - shown).max() <= 1.0
    assert stimuli.get_image(png, as_displayed=False).mode == "RGBA"
    # images.get shows the image as displayed by default (DESIGN §2.12), the stored mode on ask
    assert stimuli.images.get(png).mode == "RGB"
    np.testing.assert_array_equal(np.asarray(stimuli.images.get(png)), composited.astype(np.uint8))
    assert stimuli.images.get(png, as_displayed=False).mode == "RGBA"
    assert stimuli.images.get(jpg).mode == "RGB"
    assert sum(im.is_png for im in catalogue) == 131
    names = [catalogue[i].name for i in (900, 3, 25051, 3)]
    assert stimuli.embeddings.models == tuple(EMBEDDING_DIMS)
    for model in EMBEDDING_DIMS:
        got = stimuli.embeddings.get(model, names)
        want = embeddings(0, catalogue, model)[[900, 3, 25051, 3]].astype(np.float32)
        valid = ~np.isnan(got).any(axis=1)
        np.testing.assert_array_equal(got[valid], want[valid])
    captions = pd.read_csv(fixture_dir / "objects/stimuli/task-images_desc-captions.csv")
    rank_one = captions[(captions["source"] == "human") & (captions["caption_idx"] == 1)]
    assert stimuli.get_captions(names[:2]) == [
        rank_one.set_index("image_name").loc[n, "caption"] for n in names[:2]
    ]
    shared = next(im.name for im in catalogue if im.participant == "shared")
    assert stimuli.get_segmentation(shared).dtype == np.uint8
    sub = load_subject("sub-01", gated_clone)
    labels = sub.get_trial_info("ses-01")["label"].tolist()
    images = sub.get_trial_images("ses-01", format="bytes")
    assert images == [encoded[stimuli.index_of(n)[0]] for n in labels]
    np.testing.assert_array_equal(
        sub.get_trial_embeddings("ses-01"), stimuli.get_embeddings("CLIP", labels)
    )
    assert sub.get_trial_captions("ses-01") == stimuli.get_captions(labels)


def test_shared_images_and_the_torch_dataset_carry_the_generated_images(
    gated_clone: Path, own_server: ServedBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gated paths of upstream's API: Group.get_shared_images and the images of
    to_torch_dataset, against the generator's encoded images."""
    monkeypatch.setenv(REQUEST_ID, request_access(own_server.access.url, FORM))
    catalogue = build_catalogue()
    encoded = dict(zip((im.name for im in catalogue), encoded_images(0, catalogue), strict=True))
    group = load_subjects(["sub-01", "sub-03"], dataset=gated_clone)
    shared = [im.name for im in catalogue if im.unique_or_shared == "shared"]
    assert group.get_shared_stimulus_metadata()["image_name"].tolist() == shared
    assert group.get_shared_images(format="bytes") == [encoded[n] for n in shared]
    sub = load_subject("sub-01", gated_clone)
    data = sub.to_torch_dataset("ses-01", roi="FFA1")
    labels = sub.get_trial_info("ses-01")["label"].tolist()
    betas = sub.get_betas("ses-01", roi="FFA1")
    assert len(data) == len(labels) == len(betas)
    for i in (0, len(data) - 1):
        item = data[i]
        assert item["image_name"] == labels[i]
        np.testing.assert_array_equal(np.asarray(item["betas"]), betas[i])
        picture = Image.open(io.BytesIO(encoded[labels[i]])).convert("RGB")
        want = (np.asarray(picture, dtype=np.float32) / 255.0).transpose(2, 0, 1)
        np.testing.assert_allclose(np.asarray(item["image"]), want)


def test_brain_scores_download_stimuli_runs_unchanged(
    gated_clone: Path, own_server: ServedBucket, tmp_path: Path
) -> None:
    """``rebuild_assemblies.py`` runs ``laion-fmri download-stimuli`` with the request id in
    ``$LAION_FMRI_REQUEST_ID``; through ``compat`` it gets the images and metadata with the
    gated remote, and a refused token is one line."""
    drop(gated_clone)
    env = {k: v for k, v in os.environ.items() if k != REQUEST_ID}
    command = [sys.executable, "-m", "laion_fmri_datalad.cli", "compat", "-d", str(gated_clone)]
    for token, code in (("not-a-token-the-service-issued", 1), (None, 0)):
        env[REQUEST_ID] = token or request_access(own_server.access.url, FORM)
        done = subprocess.run(
            [*command, "--", "laion-fmri", "download-stimuli"],
            cwd=tmp_path, env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == code, done.stderr
        if code:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"{GATED}: {gated_clone / 'stimuli' / GATED}" in done.stdout
    assert (gated_clone / "stimuli" / GATED).is_file()
