"""The betas cache in a user's clone: written by the first read into the subdataset's git
directory, read by later queries, z-scoring and repeat averaging, and the ``cache`` command.

Expected values come from the fixture generator (``SubjectDesign``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.cli import main
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.loaders import Subject
from laion_fmri_datalad.loaders.betas import cache as betacache

GLM = "derivatives/glmsingle-tedana"


def expected(design: SubjectDesign, session: str) -> npt.NDArray[np.float32]:
    return np.asarray(design.betas(session)[design.brain_mask].T, dtype=np.float32)


def caches(clone: Path) -> list[Path]:
    return sorted((clone / GLM / ".git" / "laion-fmri" / "betas").glob("*.h5"))


def forbid_file_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the betas file was read instead of the cache")

    monkeypatch.setattr(betacache, "read_pass", fail)
    monkeypatch.setattr(betacache, "read_masked_betas", fail)


def test_first_read_writes_the_cache_and_later_queries_read_it(
    sub: Subject, clone: Path, design: SubjectDesign, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = expected(design, "ses-01")
    ffa = sub.get_roi_mask("FFA1")
    # the NIfTI path (a fresh clone would read an ROI from model.h5 by ranges otherwise)
    np.testing.assert_array_equal(sub.get_betas("ses-01", roi="FFA1", source="nifti"), full[:, ffa])
    (written,) = caches(clone)
    betas = sub.files.betas("ses-01")
    assert written.name.startswith("sub-01_ses-01--" + betas.readlink().name)  # annex key
    forbid_file_reads(monkeypatch)
    np.testing.assert_array_equal(sub.get_betas("ses-01"), full)  # NaNs in place
    labels = sub.get_trial_info("ses-01")["label"]
    shared = np.flatnonzero(labels.str.startswith("shared_").to_numpy())
    np.testing.assert_array_equal(
        sub.get_betas("ses-01", roi="face", stimuli="shared"),
        full[shared][:, sub.get_roi_mask("face")],
    )


def zscored(values: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    v = values.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((v - v.mean(axis=0)) / v.std(axis=0), dtype=np.float64)


@pytest.mark.parametrize("cache", [True, False])
def test_zscore_and_average_repeats_across_sessions(
    sub: Subject, design: SubjectDesign, cache: bool
) -> None:
    got = sub.get_betas(
        ["ses-01", "ses-02"],
        roi="EVC",
        stimuli="shared",
        zscore=True,
        average_repeats=True,
        return_trials=True,
        cache=cache,
    )
    evc = sub.get_roi_mask("EVC")
    for session, (values, table) in got.items():
        trials = sub.get_trial_info(session)
        keep = trials["label"].str.startswith("shared_").to_numpy()
        z = zscored(expected(design, session))[:, evc]  # over all trials, then picked
        rows = pd.DataFrame(z[keep]).groupby(trials["label"][keep].to_numpy(), sort=False)
        direct = np.stack([z[keep][idx].mean(axis=0) for idx in rows.indices.values()])
        assert table["label"].tolist() == list(rows.indices)
        assert table["n_trials"].tolist() == [len(i) for i in rows.indices.values()]
        assert values.shape == (len(table), int(evc.sum()))
        np.testing.assert_allclose(values, direct, rtol=1e-5, atol=1e-5)
        assert (table["session"] == trials["session"].iloc[0]).all()


def test_cache_command_builds_shows_and_clears(
    clone: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "clear", "-d", str(clone)]) == 0
    assert (
        main(["cache", "betas", "--subject", "01", "--ses", "02", "-J", "2", "-d", str(clone)]) == 0
    )
    assert "1 session caches built" in capsys.readouterr().out
    assert main(["cache", "betas", "--subject", "01", "--ses", "ses-02", "-d", str(clone)]) == 0
    assert "0 session caches built, 1 already there" in capsys.readouterr().out
    assert main(["cache", "info", "-d", str(clone)]) == 0
    out = capsys.readouterr().out
    assert "sub-01 ses-02" in out and "1 betas caches" in out
    assert main(["cache", "clear", "--ses", "02", "-d", str(clone)]) == 0
    assert "1 betas caches removed" in capsys.readouterr().out
    assert not caches(clone)
    assert main(["cache", "betas", "--subject", "01", "--ses", "99", "-d", str(clone)]) == 2
