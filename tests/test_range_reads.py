"""An ROI's betas on a fresh clone from byte ranges of each session's ``model.h5``: the same
float32 values as the NIfTI path for every kind of selection, sessions fetched together, a
second query local, faults retried, and what cannot be read one line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders import Subject, load_subject
from laion_fmri_datalad.loaders.betas import modelfile
from laion_fmri_datalad.loaders.betas.rangefetch import RangeReadError, fetch

SESSIONS = ["ses-01", "ses-02"]
NIFTI = "derivatives/glmsingle-tedana/sub-01/{s}/func/sub-01_{s}_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test its own cache directory: nothing one test fetched is local for another."""
    monkeypatch.setenv("LAION_FMRI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of byte ranges each fetch of model.h5 rows asked for."""
    calls: list[int] = []

    def counting(ranges: Any, **kwargs: Any) -> list[bytes]:
        calls.append(len(ranges))
        return fetch(ranges, **kwargs)

    monkeypatch.setattr(modelfile, "fetch", counting)
    return calls


def truth(design: SubjectDesign, session: str) -> np.ndarray:
    return np.asarray(design.betas(session)[design.brain_mask].T, dtype=np.float32)


def test_a_fresh_clone_reads_an_roi_without_the_sessions_nifti(
    clone: Path, design: SubjectDesign, fresh_cache: Path, counted: list[int]
) -> None:
    sub = load_subject("sub-01", dataset=clone)
    ffa = sub.get_roi_mask("FFA1")
    got = sub.get_betas(SESSIONS, roi="FFA1")
    for session in SESSIONS:
        np.testing.assert_array_equal(got[session], truth(design, session)[:, ffa])
        assert not (clone / NIFTI.format(s=session)).exists()  # never got: read by ranges
    # a few header blocks per file, then one fetch of both sessions' rows together
    assert counted[-1] >= len(SESSIONS) and sum(counted[:-1]) >= len(SESSIONS)
    counted.clear()
    again = sub.get_betas(SESSIONS, roi="FFA1")  # the header and the rows are cached
    assert counted == [0] and all(np.array_equal(again[s], got[s]) for s in SESSIONS)
    # cache info and cache clear see the row caches with the betas caches
    from laion_fmri_datalad.loaders.betas.cacheadmin import cache_info, clear_caches

    rows = [e for e in cache_info(clone).entries if e.path.name.endswith("--rows")]
    assert sorted(e.session for e in rows) == SESSIONS and all(e.size > 0 for e in rows)
    assert len(clear_caches(clone, ["sub-01"], ["ses-01"]).removed) >= 1
    left = [e.session for e in cache_info(clone).entries if e.path.name.endswith("--rows")]
    assert left == ["ses-02"]


@pytest.mark.parametrize(
    "selection",
    [
        {"roi": "FFA1"},
        {"roi": "face"},
        {"roi": ["V1v", "FFA2"]},
        {"roi": "all", "nc_threshold": 20},
        {"mask": "array"},
        {"roi": "EVC", "zscore": True},
        {"roi": "face", "stimuli": "shared", "zscore": True, "average_repeats": True},
    ],
    ids=["roi", "category", "list", "nc_threshold", "mask", "zscore", "averaged"],
)
def test_model_and_nifti_give_the_same_bytes(
    sub: Subject, selection: dict[str, Any], fresh_cache: Path
) -> None:
    kwargs = dict(selection)
    if kwargs.get("mask") == "array":
        kwargs["mask"] = np.arange(sub.get_n_voxels()) % 3 == 0
    model = sub.get_betas(SESSIONS, source="model", **kwargs)
    nifti = sub.get_betas(SESSIONS, source="nifti", **kwargs)
    for session in SESSIONS:
        assert model[session].dtype == nifti[session].dtype == np.float32
        assert model[session].shape == nifti[session].shape
        assert model[session].tobytes() == nifti[session].tobytes(), session


def test_faults_are_retried_and_the_arrays_are_identical(
    clone: Path,
    design: SubjectDesign,
    served: ServedBucket,
    fresh_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Through a proxy answering a third of the range requests with a 503, a reset or a
    cut body (each range at most twice), the values are the truth's."""
    schedule = Schedule(rate=0.35, per_url=2, seed=7)
    with FaultProxy(served.server.endpoint_url, schedule) as proxy:
        routed(monkeypatch, served, proxy)
        sub = load_subject("sub-01", dataset=clone)
        got = sub.get_betas(SESSIONS, roi="face", source="model")
    face = sub.get_roi_mask("face")
    for session in SESSIONS:
        np.testing.assert_array_equal(got[session], truth(design, session)[:, face])
    assert sum(schedule.counts[k] for k in ("503", "reset", "truncate")) >= 3, schedule.counts


def test_a_range_that_keeps_failing_is_one_line_naming_the_file_and_bytes(
    clone: Path, served: ServedBucket, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule = Schedule(rate=1.0, per_url=100, kinds=("503",))
    with FaultProxy(served.server.endpoint_url, schedule) as proxy:
        routed(monkeypatch, served, proxy)
        sub = load_subject("sub-01", dataset=clone)
        with pytest.raises(RangeReadError) as err:
            sub.get_betas("ses-01", roi="FFA1", source="model")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("could not read bytes 0-65535 of sub-01_ses-01_task-images_")
    assert "model.h5 after 6 tries" in message and "503" in message


def test_source_is_checked_before_anything(sub: Subject) -> None:
    with pytest.raises(UsageError, match=r"no source 'h5'.*auto, nifti, model"):
        sub.get_betas("ses-01", roi="FFA1", source="h5")


def routed(monkeypatch: pytest.MonkeyPatch, served: ServedBucket, proxy: FaultProxy) -> None:
    """The URLs git-annex records, sent through ``proxy`` (same paths, its port)."""
    from laion_fmri_datalad.repo import annex

    real = annex.key_urls
    server = served.server.endpoint_url

    def through_proxy(repo: Path, keys: Any) -> dict[str, list[str]]:
        return {k: [u.replace(server, proxy.url) for u in v] for k, v in real(repo, keys).items()}

    monkeypatch.setattr(annex, "key_urls", through_proxy)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield


def test_betas_command_dry_run_then_npz(
    clone: Path, design: SubjectDesign, fresh_cache: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    cli = [sys.executable, "-m", "laion_fmri_datalad.cli", "betas", "--subject", "01"]
    where = ["--roi", "FFA1", "--ses", "01", "02", "-d", str(clone)]
    dry = subprocess.run([*cli, *where, "--dry-run"], capture_output=True, text=True, check=True)
    lines = dry.stdout.splitlines()
    assert lines[0].startswith(
        "ses-01: sub-01_ses-01_task-images_space-T1w_desc-GLMsingle_model.h5: "
    )
    assert " ranges, " in lines[0] and lines[-1].startswith("would read ")
    assert not list(tmp_path.glob("*.npz"))
    output = tmp_path / "ffa1.npz"
    done = subprocess.run(  # model: earlier tests of this module got the NIfTIs
        [*cli, *where, "--source", "model", "-o", str(output)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    sub = load_subject("sub-01", dataset=clone)
    ffa = sub.get_roi_mask("FFA1")
    with np.load(output) as saved:
        for session in SESSIONS:
            np.testing.assert_array_equal(saved[session], truth(design, session)[:, ffa])
            assert (
                saved[f"{session}_label"].tolist() == sub.get_trial_info(session)["label"].tolist()
            )
        assert saved["voxels"].tolist() == np.flatnonzero(ffa).tolist()
    missing = subprocess.run([*cli, *where], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "-o/--output" in missing.stderr
