"""A published split set (written by the fixture's generator, in the published format)
imported into a clone, read by the API, and compared with the regenerated set."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.cli import main
from laion_fmri_datalad.config import DATASET
from laion_fmri_datalad.devserver.fixture.catalogue import OOD_TYPES, build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.published_splits import (
    REVIEWED_SWAPS,
    write_published_splits,
)
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS
from laion_fmri_datalad.devserver.gitserver import serve_directory
from laion_fmri_datalad.layout.imagenames import code_of
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.splits import api
from laion_fmri_datalad.splits.compare import compare
from laion_fmri_fixtures import with_code_and_splits

BRAIN_SCORE = Path(__file__).parent / "clients" / "brainscore_calls.py"

REPOSITORY = Path(__file__).resolve().parents[1]
GLM = "derivatives/glmsingle-tedana"
PUBLISHED = "derivatives/splits/published"


@pytest.fixture(scope="module")
def dataset(
    clone_of: Callable[[str, Path], Path],
    built: tuple[Path, BuildReport],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A clone of the built superdataset with this repository's code and regenerated splits."""
    return with_code_and_splits(
        clone_of(str(built[0]), tmp_path_factory.mktemp("published") / "clone")
    )


@pytest.fixture(scope="module")
def published_dir(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("upstream") / "splits data"  # a space in the path
    write_published_splits(directory, regenerated=dataset / "derivatives/splits/regenerated")
    return directory


@pytest.fixture
def http_root(published_dir: Path) -> Iterator[str]:
    """The published set served over HTTP on 127.0.0.1."""
    with serve_directory(published_dir) as url:
        yield url


def annex_key(dataset: Path, path: str) -> str:
    return Path(git(dataset / "derivatives/splits", "annex", "lookupkey", path).strip()).name


def test_published_files_are_compact_or_indented_with_descriptive_labels(
    published_dir: Path,
) -> None:
    compact = (published_dir / "sub-03/random_2.json").read_text()
    indented = (published_dir / "sub-01/random_2.json").read_text()
    assert "\n" not in compact and indented.startswith('{\n  "name": "random_2"')
    assert '"pool": "sub-04 full pool (unique + LAION non-OOD shared)"' in compact  # p04


def test_import_from_urls_records_each_url_and_checksum(
    dataset: Path, http_root: str, published_dir: Path
) -> None:
    urls = [f"{http_root}/pooled/tau.json", f"{http_root}/pooled/cluster_k5_1.json"]
    assert main(["splits", "import", *urls, "-d", str(dataset)]) == 0
    for name in ("tau", "cluster_k5_1"):
        relative = f"published/pooled/{name}.json"
        source = (published_dir / "pooled" / f"{name}.json").read_bytes()
        key = annex_key(dataset, relative)
        assert key == f"SHA256E-s{len(source)}--{hashlib.sha256(source).hexdigest()}.json"
        whereis = git(dataset / "derivatives/splits", "annex", "whereis", relative)
        assert f"{http_root}/pooled/{name}.json" in whereis
    log = git(dataset / "derivatives/splits", "log", "-1", "--format=%B")
    assert urls[0] in log and urls[1] in log
    assert api.list_pools(dataset) == ["pooled"]  # the published set, now present
    assert main(["splits", "import", f"{http_root}/tau.json", "-d", str(dataset)]) == 2


def test_import_from_a_directory_under_datalad_run(
    dataset: Path,
    published_dir: Path,
    capsys: pytest.CaptureFixture[str],
    identities: Callable[..., set[str]],
    test_user: str,
) -> None:
    assert main(["splits", "import", str(published_dir), "-d", str(dataset)]) == 0
    assert "imported 78 split files of 7 pools" in capsys.readouterr().out
    message = git(dataset, "log", "-1", "--format=%B")
    assert "[DATALAD RUNCMD] [laion-fmri] Import the published train/test splits" in message
    assert f"cp -- '{published_dir}/sub-03'/*.json" in message
    for pool in ["shared", "pooled", *SUBJECTS]:
        for source in sorted((published_dir / pool).glob("*.json")):
            data = source.read_bytes()
            key = annex_key(dataset, f"published/{pool}/{source.name}")
            assert key == f"SHA256E-s{len(data)}--{hashlib.sha256(data).hexdigest()}.json"
            assert (dataset / PUBLISHED / pool / source.name).read_bytes() == data
    assert main(["splits", "import", str(published_dir), "-d", str(dataset)]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert identities(dataset, "HEAD") == {test_user}
    assert identities(dataset / "derivatives/splits") == {test_user}


def trials_of(dataset: Path, subject: str) -> pd.DataFrame:
    path = next((dataset / GLM / subject).glob("ses-01/func/*_desc-SingletrialBetas_trials.tsv"))
    return pd.read_csv(path, sep="\t")


def test_published_splits_load_and_mask_every_subjects_trials(dataset: Path) -> None:
    import datalad.api as dl

    catalogue = build_catalogue()
    shared = [im.name for im in catalogue if im.participant == "shared" and im.dataset != "OOD"]
    dl.get(
        path=str(dataset / GLM), dataset=str(dataset), get_data=False, result_renderer="disabled"
    )
    for subject in SUBJECTS:
        # the pool from the catalogue's participant column, recomputed with numpy
        ids = sorted(shared + [im.name for im in catalogue if im.participant == subject])
        fold = np.array_split(np.random.default_rng(42).permutation(len(ids)), 5)[2]
        expected = {ids[j] for j in fold}
        split = api.load_split("random_2", subject, dataset)
        assert split.source == "published" and split.pool == subject
        assert (
            split.label == f"sub-{code_of(subject)[1:]} full pool (unique + LAION non-OOD shared)"
        )
        assert split.params == {
            "method": "shuffled_5fold_cv",
            "k": 5,
            "seed": 42,
            "fold": 2,
            "revision": 2,
        }
        assert set(split.variants[0].test_ids) == expected
        assert sorted(split.variants[0].all_ids()) == ids
        trials = trials_of(dataset, subject)
        train, test = api.get_split_masks(trials, "random_2", subject, dataset=dataset)
        labels = trials["label"].astype(str)
        assert test.tolist() == [label in expected for label in labels]
        pool = set(ids)
        assert train.tolist() == [label in pool - expected for label in labels]
        _, ood = api.get_train_test_ids(
            "ood", subject, ood_types=["gabor", "relations"], dataset=dataset
        )
        assert len(ood) == OOD_TYPES["gabor"] + OOD_TYPES["relations"]
    assert api.list_ood_types(dataset) == sorted(OOD_TYPES)
    regenerated = api.load_split("random_0", "sub-01", dataset, source="regenerated")
    published = api.load_split("random_0", "sub-01", dataset)
    assert regenerated.source == "regenerated" and regenerated.params["revision"] == 2
    moved = set(published.variants[0].test_ids) - set(regenerated.variants[0].test_ids)
    assert len(moved) == REVIEWED_SWAPS
    assert list(api.load_all_splits("pooled", dataset)) == [f"cluster_k5_{i}" for i in range(5)] + [
        "tau"
    ]
    with pytest.raises(Exception, match="no split source 'upstream'"):
        api.load_split("tau", "shared", dataset, source="upstream")


def test_compare_reports_identical_and_moved_splits(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = compare(dataset)
    status = {(c.pool, c.name): c for c in report.items}
    assert len(status) == 78
    for pool in ["shared", *SUBJECTS]:
        for name in ("random_2", "random_3", "random_4", "tau", "ood"):
            assert status[(pool, name)].status == "identical", (pool, name)
    for subject in SUBJECTS:
        for name in ("random_0", "random_1"):
            found = status[(subject, name)]
            assert found.status == "differs"
            assert (found.to_train, found.to_test) == (REVIEWED_SWAPS, REVIEWED_SWAPS)
            n = found.n_test[0]
            assert found.jaccard == pytest.approx((n - 3) / (n + 3))
    assert status[("shared", "random_0")].status == "identical"  # no revision for shared
    assert all(
        status[(p, f"cluster_k5_{i}")].status == "differs"
        for p in ["shared", "pooled", *SUBJECTS]
        for i in range(5)
    )
    assert main(["splits", "compare", "-d", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert "sub-01:\n  random_0      differs: test-set Jaccard 0.995" in out
    assert out.rstrip().splitlines()[-1].startswith("33 of 78 splits identical, 45 differ")
    assert main(["splits", "compare", "--strict", "-d", str(dataset)]) == 1


def test_brain_scores_calls_run_unchanged_on_a_clone(
    dataset: Path, design: SubjectDesign, tmp_path: Path
) -> None:
    """Brain-Score's LAION-fMRI data packaging and benchmark (brain-score/vision,
    ``rebuild_assemblies.py``'s ``laion-fmri download``, ``build_assembly.py``,
    ``prepare_shared.py``, ``prepare_persubject.py``, ``benchmark.py``), call by call with
    upstream's imports and command, run through ``laion-fmri-datalad compat``; what its
    assembly would hold is compared with the synthetic bucket's truth."""
    out = tmp_path / "assembly.npz"
    env = {k: v for k, v in os.environ.items() if k != DATASET}
    done = subprocess.run(
        [sys.executable, "-m", "laion_fmri_datalad.cli", "compat", "-d", str(dataset), "--",
         sys.executable, str(BRAIN_SCORE), str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    summary = json.loads(out.with_name("assembly.npz.json").read_text())
    saved = np.load(out)
    combined = saved["combined_mask"]
    assert combined.any() and combined.shape == (int(design.brain_mask.sum()),)
    public = design.spec.sessions[: design.spec.public_sessions]
    assert summary["sessions"] == public
    for ses in public:  # row i is volume i, in every run
        expected = design.betas(ses)[design.brain_mask].T[:, combined]
        np.testing.assert_array_equal(saved[f"betas_{ses}"], expected)
    assert summary["n_trials"] == sum(len(design.labels(s)) for s in public)
    assert summary["columns"] == ["stimulus_id", "session", "run", "beta_index", "repetition"]
    for desc in ("Noiseceiling4rep", "Noiseceiling12rep", "NoiseceilingAllrep"):
        assert saved[f"nc_{desc}"].dtype == np.float32
        assert saved[f"nc_{desc}"].shape == (int(combined.sum()),)
    assert summary["shared_ids"] > 0 and summary["own_ids"] > 0
    for name, (n_train, n_test, n) in summary["sizes"].items():
        assert n_train + n_test <= n and n > 0, name
    assert all(summary["sizes"][k][1] > 0 for k in ("shared/tau/{}", "shared/ood/{}", "sub-01/tau"))
    # `laion-fmri download` got sub-01's files: the betas are present in the clone
    betas = next(
        (dataset / "derivatives/glmsingle-tedana/sub-01/ses-01/func").glob("*_statmap.nii.gz")
    )
    assert betas.resolve().is_file()
