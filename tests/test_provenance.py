"""Splits under ``datalad run``, their API, ``verify``, releases and citations.

One superdataset is built from a server of its own (its bucket is changed for the second
release), carries this repository's ``code/`` as the real one does, and gets its splits
made by ``datalad run``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.fixture.catalogue import OOD_TYPES, build_catalogue
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS
from laion_fmri_datalad.devserver.fixture.stimuli import embeddings
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.devserver.s3load import admin_client
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.provenance.cite import render as render_citation
from laion_fmri_datalad.provenance.release import release
from laion_fmri_datalad.provenance.rerun import verify_runs
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.runtime.reports import render
from laion_fmri_datalad.splits import api
from laion_fmri_datalad.splits.algorithms import cosine_distances, unit_rows
from laion_fmri_datalad.splits.make import POOLED_SPLITS, SPLIT_NAMES
from laion_fmri_datalad.splits.run import COMMAND
from laion_fmri_fixtures import with_code_and_splits

REPOSITORY = Path(__file__).resolve().parents[1]
GLM = "derivatives/glmsingle-tedana"
BETAS = "sub-01/ses-02/func/sub-01_ses-02_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
NEW_SESSION = {  # a session added to the bucket between the releases
    f"{GLM}/sub-03/ses-03/func/sub-03_ses-03_task-images_desc-SingletrialBetas_trials.tsv":
        b"session\trun\tbeta_index\tlabel\n3\t1\t0\tshared_12rep_LAION_cluster_0_i0.jpg\n",
    f"{GLM}/sub-03/ses-03/func/sub-03_ses-03_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz":
        b"\x1f\x8b new session betas" * 50,
    "sub-03/ses-03/func/sub-03_ses-03_task-images_run-01_events.tsv": b"onset\tduration\n4.0\t2.5\n",
}  # fmt: skip
NEW_BETAS = b"\x1f\x8b overwritten betas of sub-01 ses-02" * 64


@pytest.fixture(scope="module")
def superdataset(own_server: ServedBucket, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built, with this repository's code and citation, and splits made by datalad run."""
    root = tmp_path_factory.mktemp("provenance") / "superdataset"
    assert build(root, own_server.location).ok
    return with_code_and_splits(root, "CITATION.cff")


def split_file(root: Path, pool: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (root / "derivatives/splits/regenerated" / pool / f"{name}.json").read_text()
    )
    return data


def test_split_counts_and_disjointness(superdataset: Path) -> None:
    """Counts against DESIGN §2.10 (the tiny bucket has the real catalogue); the random
    folds recomputed here with numpy from the published recipe."""
    catalogue = build_catalogue()
    shared = [im.name for im in catalogue if im.participant == "shared" and im.dataset != "OOD"]
    ood = sorted(im.name for im in catalogue if im.dataset == "OOD")
    assert len(shared) == 1121 and len(ood) == sum(OOD_TYPES.values()) == 371
    assert api.list_pools(superdataset) == ["shared", *SUBJECTS, "pooled"]  # upstream's order
    assert api.list_splits(superdataset) == SPLIT_NAMES
    assert api.list_splits(superdataset, pool="pooled") == POOLED_SPLITS
    loaded = api.load_split("tau", "sub-03", superdataset)
    assert loaded.pool == "sub-03" and loaded.label != "sub-03"  # the id passed; the label kept
    for missing in ("random_0", "ood"):  # pooled has tau and cluster_k5_* only
        with pytest.raises(ValueError, match=rf"no split '{missing}'.*tau"):
            api.load_split(missing, "pooled", superdataset)
    random_sizes = {1121: [225, 224, 224, 224, 224], 5833: [1167, 1167, 1167, 1166, 1166]}
    for pool in ["shared", *SUBJECTS]:
        own = [im.name for im in catalogue if pool != "shared" and im.participant == pool]
        ids = sorted(shared + own)
        assert len(ids) == (1121 if pool == "shared" else 5833)
        folds = np.array_split(np.random.default_rng(42).permutation(len(ids)), 5)
        for name in SPLIT_NAMES:
            split = split_file(superdataset, pool, name)
            assert set(split) == {
                "name",
                "pool",
                "splitter",
                "params",
                "n_train",
                "n_test",
                "variants",
            }
            (variant,) = split["variants"]
            train, test = variant["train_ids"], variant["test_ids"]
            assert (split["n_train"], split["n_test"]) == (len(train), len(test))
            assert not set(train) & set(test)
            if name == "ood":
                assert train == ids and test == ood
                assert (split["n_train"], split["n_test"]) == (len(ids), 371)
            else:
                assert sorted(train + test) == ids
            if name.startswith("random"):
                i = int(name[-1])
                assert len(test) == random_sizes[len(ids)][i]
                if split["params"].get("n_moved", 0) == 0:  # no duplicate images moved
                    assert test == sorted(ids[j] for j in folds[i])
        tau = split_file(superdataset, pool, "tau")
        assert (tau["n_train"], tau["n_test"]) == ((897, 224) if pool == "shared" else (4666, 1167))
    pooled = sorted(im.name for im in catalogue if im.dataset != "OOD")
    assert len(pooled) == 24681
    tau = split_file(superdataset, "pooled", "tau")
    assert (tau["n_train"], tau["n_test"]) == (19745, 4936)
    clusters = [split_file(superdataset, "pooled", f"cluster_k5_{k}") for k in range(5)]
    held_out = [set(c["variants"][0]["test_ids"]) for c in clusters]
    assert sum(map(len, held_out)) == len(set().union(*held_out)) == 24681 - 3  # 3 invalid
    assert {c["params"]["n_init"] for c in clusters} == {10}
    assert split_file(superdataset, "sub-05", "cluster_k5_0")["params"]["n_init"] == 5
    sizes = [split_file(superdataset, "sub-01", f"cluster_k5_{k}")["n_test"] for k in range(5)]
    assert sum(sizes) == 5833 - 2  # two of sub-01's images have no valid CLIP embedding


def test_tau_split_keeps_its_distance(superdataset: Path) -> None:
    catalogue = build_catalogue()
    vectors = dict(
        zip([im.name for im in catalogue], embeddings(0, catalogue, "CLIP"), strict=True)
    )
    for pool in ("shared", "sub-05"):
        split = split_file(superdataset, pool, "tau")
        train = np.array(
            [vectors[i] for i in split["variants"][0]["train_ids"] if i in vectors],
            dtype=np.float64,
        )
        test = np.array([vectors[i] for i in split["variants"][0]["test_ids"]], dtype=np.float64)
        nearest = cosine_distances(unit_rows(test), unit_rows(train)).min(axis=1)
        found = split["params"]["adaptive_selection"]
        assert nearest.min() >= found["tau"] * (1 - 1e-5)
        assert found["mmd2"] > 0 and found["percentile"] in (
            90,
            80,
            70,
            60,
            50,
            40,
            30,
            20,
            10,
            5,
            0,
        )


def test_split_script_is_deterministic(superdataset: Path, tmp_path: Path) -> None:
    args = [
        "--metadata",
        str(superdataset / "stimuli/task-images_metadata.csv"),
        "--embeddings",
        str(superdataset / "stimuli/task-images_desc-CLIP_embeddings.h5"),
    ]
    subprocess.run(
        [
            sys.executable,
            str(superdataset / "code/make_splits.py"),
            *args,
            "--out",
            str(tmp_path / "again"),
        ],
        check=True,
        capture_output=True,
    )

    def digests(root: Path) -> dict[str, str]:
        """The split files (``<pool>/<name>.json``) and their SHA-256."""
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.glob("*/*.json"))
            if not p.parent.name.startswith(".")
        }

    again = digests(tmp_path / "again")
    assert len(again) == 6 * 12 + 6
    assert again == digests(superdataset / "derivatives/splits/regenerated")  # datalad run's


def test_run_record_in_the_commit(superdataset: Path) -> None:
    log = git(superdataset, "log", "--format=%H%x00%B%x1e", "--", "derivatives/splits")
    runs = [e for e in log.split("\x1e") if "=== Do not change lines below ===" in e]
    assert len(runs) == 1
    record = json.loads(runs[0].split("=== Do not change lines below ===")[1].split("^^^")[0])
    assert record["cmd"] == COMMAND
    assert record["inputs"] == [
        "stimuli/task-images_metadata.csv",
        "stimuli/task-images_desc-CLIP_embeddings.h5",
    ]
    assert record["outputs"] == ["derivatives/splits/regenerated/*/*.json"]
    assert record["exit"] == 0


def test_verify_passes_and_fails_when_tampered(
    clone_of: Callable[[str, Path], Path], superdataset: Path, tmp_path: Path
) -> None:
    import datalad.api as dl

    report = verify_runs(superdataset, workdir=tmp_path)
    assert report.ok, render(report)
    assert len(report.checks[0].identical) == 78
    tampered = Path(clone_of(str(superdataset), tmp_path / "tampered"))
    dl.get(
        path=str(tampered / "derivatives/splits"),
        dataset=str(tampered),
        get_data=False,
        result_renderer="disabled",
    )
    target = tampered / "derivatives/splits/regenerated/sub-03/random_2.json"
    data = json.loads(target.read_text())
    data["variants"][0]["test_ids"].reverse()
    target.write_text(json.dumps(data, indent=1) + "\n")
    dl.save(
        dataset=str(tampered),
        path=[str(target)],
        recursive=True,
        message="tamper",
        result_renderer="disabled",
    )
    report = verify_runs(tampered, workdir=tmp_path)
    assert not report.ok, render(report)
    tampered_path = "derivatives/splits/regenerated/sub-03/random_2.json"
    assert report.checks[0].differing == [tampered_path], render(report)
    assert f"1 differ: {tampered_path}" in render(report)
    assert render(report).endswith("0 of 1 runs NOT reproduced")


def test_splits_api(superdataset: Path) -> None:
    assert api.list_ood_types(superdataset) == sorted(OOD_TYPES)
    train, test = api.get_train_test_ids(
        "ood", "shared", ood_types=["gabor", "shape"], dataset=superdataset
    )
    assert len(train) == 1121 and len(test) == OOD_TYPES["gabor"] + OOD_TYPES["shape"]
    with pytest.raises(UsageError, match="ood_types applies to the 'ood' split only"):
        api.get_train_test_ids("tau", "shared", ood_types="gabor", dataset=superdataset)
    with pytest.raises(UsageError, match=r"no OOD type 'gabbor'.*did you mean 'gabor'"):
        api.get_train_test_ids("ood", "shared", ood_types="gabbor", dataset=superdataset)
    with pytest.raises(UsageError, match="no variant_id 3; known: 0"):
        api.get_train_test_ids("tau", "shared", variant_id=3, dataset=superdataset)
    with pytest.raises(UsageError, match=r"no pool 'sub-02'.*did you mean"):
        api.load_split("tau", "sub-02", superdataset)
    split = api.load_split("cluster_k5_1", "sub-01", superdataset)
    assert split.split_family == "cluster_k5" and split.splitter == "kmeans_cluster_holdout"
    assert split.pool == "sub-01" and split.source == "regenerated"  # none published here
    assert list(api.load_all_splits("sub-01", superdataset)) == SPLIT_NAMES
    trials = pd.read_csv(
        superdataset
        / GLM
        / "sub-01/ses-01/func/sub-01_ses-01_task-images_desc-SingletrialBetas_trials.tsv",
        sep="\t",
    )
    train_mask, test_mask = api.get_split_masks(trials, "random_0", "sub-01", dataset=superdataset)
    assert len(train_mask) == len(trials) and not (train_mask & test_mask).any()
    in_pools = ~trials["label"].str.contains("_OOD_").to_numpy()  # pools leave OOD images out
    assert ((train_mask | test_mask) == in_pools).all() and not in_pools.all()
    _, test_ids = api.get_train_test_ids("random_0", "sub-01", dataset=superdataset)
    assert [bool(x) for x in test_mask] == [label in set(test_ids) for label in trials["label"]]
    with pytest.raises(UsageError, match="unique images of sub-01, but pool 'sub-03' is sub-03's"):
        api.get_split_masks(trials, "random_0", "sub-03", dataset=superdataset)
    shared_train, shared_test = api.get_split_masks(
        trials["label"].tolist(), "random_0", "shared", dataset=superdataset
    )
    unique = trials["label"].str.startswith("unique_").to_numpy()
    assert not (shared_train | shared_test)[unique].any()


def test_release_cite_and_version_pinned_content(
    clone_of: Callable[[str, Path], Path],
    superdataset: Path,
    own_server: ServedBucket,
    fixture_dir: Path,
    tmp_path: Path,
    identities: Callable[..., set[str]],
    test_user: str,
) -> None:
    import datalad.api as dl

    v1 = release(superdataset, "1.0.0", date="2026-11-20")
    assert v1.previous is None and not v1.already
    assert "derivatives/splits" in [d.path for d in v1.datasets]
    head = git(superdataset, "rev-parse", "HEAD").strip()
    assert release(superdataset, "1.0.0").already  # idempotent: same version, nothing done
    assert git(superdataset, "rev-parse", "HEAD").strip() == head
    assert git(superdataset / GLM, "tag", "--list").split() == ["1.0.0"]
    with pytest.raises(UsageError, match="version 'one' is not allowed"):
        release(superdataset, "one")
    old_bytes = (fixture_dir / "objects" / GLM / BETAS).read_bytes()  # what v1 registered

    client = admin_client(own_server.server)
    client.put_object(Bucket="laion-fmri", Key=f"{GLM}/{BETAS}", Body=NEW_BETAS)
    for key, body in NEW_SESSION.items():
        client.put_object(Bucket="laion-fmri", Key=key, Body=body)
    assert build(superdataset, own_server.location).ok
    with pytest.raises(UsageError, match=r"version '1\.0\.0' already tags"):
        release(superdataset, "1.0.0")
    v2 = release(superdataset, "2.0.0", date="2026-11-21")
    assert v2.previous == "1.0.0"
    assert sorted(d.path for d in v2.datasets) == [GLM, "sub-03"]
    changes = (superdataset / "CHANGES.md").read_text()
    entry = changes.split("## 2.0.0 (2026-11-21)")[1].split("## 1.0.0")[0]
    assert [line for line in entry.splitlines() if line.startswith(("###", "-", "  -"))] == [
        f"### {GLM}",
        "- added: 2 files",
        "  - `sub-03/ses-03/func/sub-03_ses-03_task-images_desc-SingletrialBetas_trials.tsv`",
        "  - `sub-03/ses-03/func/sub-03_ses-03_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz`",
        "- changed: 1 file",
        f"  - `{BETAS}`",
        "### sub-03",
        "- added: 1 file",
        "  - `ses-03/func/sub-03_ses-03_task-images_run-01_events.tsv`",
    ]
    citation = (superdataset / "CITATION.cff").read_text()
    assert 'version: "2.0.0"' in citation and 'date-released: "2026-11-21"' in citation
    assert f'commit: "{v2.data_commit}"' in citation
    # the user's identity on every commit and tag: build, splits under datalad run, releases
    assert identities(superdataset) == {test_user}
    for name in (GLM, "sub-03", "derivatives/splits"):
        assert identities(superdataset / name) == {test_user}, name
    taggers = git(
        superdataset, "for-each-ref", "refs/tags", "--format=%(taggername) %(taggeremail)"
    )
    assert set(taggers.splitlines()) == {test_user}

    for version, expected in (("1.0.0", old_bytes), ("2.0.0", NEW_BETAS)):
        clone = Path(clone_of(str(superdataset), tmp_path / f"at-{version}"))
        git(clone, "checkout", "-q", version)
        dl.get(path=str(clone / GLM / BETAS), dataset=str(clone), result_renderer="disabled")
        assert (clone / GLM / BETAS).read_bytes() == expected
        fsck = git(clone / GLM, "annex", "fsck", "--json", BETAS)
        assert json.loads(fsck)["success"] is True
        text = render_citation(clone, "text")
        assert f"(Version {version})" in text and f"tag {version}" in text
        assert git(clone, "rev-parse", "HEAD").strip() in text
        dsid = git(clone, "config", "-f", ".datalad/config", "datalad.dataset.id").strip()
        assert dsid in text
        # the VSS 2026 talk first (the preferred citation), GLMsingle as a reference
        assert text.startswith("Preferred citation: Zerbe, J., Roth, J., Mell, M. M.")
        assert "Vision Sciences Society" in text and "10.7554/eLife.77599" in text
        # the access facts (DESIGN §2.14): CC0 for the data, the DUA for the images, and
        # the bucket's AWS Open Data entry
        assert "Licence: CC0-1.0 for the fMRI data, derivatives and metadata; the " in text
        assert "data use agreement" in text
        assert "Where it is: arn:aws:s3:::laion-fmri (" in text
        assert "registry.opendata.aws/laion-fmri" in text
        bib = render_citation(clone, "bibtex")
        entries = [e.split(",", 1)[0] for e in bib.split("\n\n")]
        dataset_key = "@misc{laionfmri" + version.replace(".", "_")
        assert entries == ["@misc{zerbe2026laionfmri", "@article{prince2022improving", dataset_key]
        assert f"tag {version}" in bib and "talk-sessions?id=642" in bib
        cff = render_citation(clone, "cff")
        assert (
            "preferred-citation:" in cff
            and f"commit {git(clone, 'rev-parse', 'HEAD').strip()}" in cff
        )
    with pytest.raises(UsageError, match="no citation format 'ris'"):
        render_citation(superdataset, "ris")
    moving_an_existing_clone(Path(clone_of(str(superdataset), tmp_path / "moving")), old_bytes)


def moving_an_existing_clone(clone: Path, old_bytes: bytes) -> None:
    """A clone at 2.0.0 with the betas' subdataset installed and its file got: a plain
    ``git checkout 1.0.0`` leaves the subdataset at 2.0.0's commit, which every reader
    notices (cite refuses, info and the loaders say so in one line with the fix);
    ``laion-fmri-datalad checkout`` moves both, to 1.0.0 and back, bytes and citation
    agreeing each time."""
    import datalad.api as dl

    from laion_fmri_datalad.cli import main
    from laion_fmri_datalad.errors import PinWarning
    from laion_fmri_datalad.loaders.clone.content import Content
    from laion_fmri_datalad.loaders.clone.info import clone_info

    def got() -> bytes:
        dl.get(path=str(clone / GLM / BETAS), dataset=str(clone), result_renderer="disabled")
        return (clone / GLM / BETAS).read_bytes()

    assert got() == NEW_BETAS
    git(clone, "checkout", "-q", "1.0.0")  # what the docs said before: the subdataset stays
    assert git(clone, "status", "--porcelain").strip() == f"M {GLM}"
    assert got() == NEW_BETAS  # datalad get: notneeded, the newer bytes
    fix = f"laion-fmri-datalad checkout 1.0.0 -d {clone}"
    with pytest.raises(UsageError, match=r"cannot cite: subdataset 'derivatives/glmsingle") as err:
        render_citation(clone, "text")
    assert fix in str(err.value) and "\n" not in str(err.value)
    assert any(fix in line for line in clone_info(clone).details().splitlines()[:3])
    with pytest.warns(PinWarning, match="is at commit .* but the checked-out superdataset"):
        Content(clone).ensure_installed(GLM)
    for version, expected in (("1.0.0", old_bytes), ("2.0.0", NEW_BETAS), ("1.0.0", old_bytes)):
        assert main(["checkout", version, "-d", str(clone)]) == 0
        assert git(clone, "status", "--porcelain").strip() == ""
        assert got() == expected
        text = render_citation(clone, "text")
        assert f"(Version {version})" in text and f"tag {version}" in text
    # the plain-git way the message names: back to 2.0.0 and the subdataset after it
    git(clone, "checkout", "-q", "2.0.0")
    git(clone, "submodule", "update", GLM)
    assert git(clone, "status", "--porcelain").strip() == "" and got() == NEW_BETAS
    head = git(clone, "rev-parse", "HEAD")
    assert main(["checkout", "9.9.9", "-d", str(clone)]) == 2  # one line, nothing moved
    assert git(clone, "rev-parse", "HEAD") == head
