"""The published noise-ceiling and R2 maps of the written bucket are what its betas say.

Everything here is read back from the files (betas ``.nii.gz``, trial tables, the
metadata table, the brain mask) and recomputed with a direct numpy implementation of
DESIGN §2.3's formula; nothing is taken from the generator.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS

GLM = "derivatives/glmsingle-tedana"
Floats = npt.NDArray[np.float64]


def volume(path: Path) -> Floats:
    return np.asarray(nib.load(path).get_fdata(), dtype=np.float64)


def nc_from_first_principles(betas: Floats, labels: list[str], keep: set[str]) -> Floats:
    """NC = 100 ncsnr² / (ncsnr² + mean 1/n_c) over the images in ``keep`` (all shown at
    least twice); noise var: mean of per-image unbiased variances; signal var: unbiased
    variance of those trials minus the noise var, at least 0. 0 where a beta is NaN."""
    images = sorted(keep)
    rows = {name: [i for i, label in enumerate(labels) if label == name] for name in images}
    assert all(len(r) >= 2 for r in rows.values())
    if len(images) < 2:
        return np.zeros(betas.shape[1])
    noise_var = np.stack([np.var(betas[r], axis=0, ddof=1) for r in rows.values()]).mean(0)
    used = [i for r in rows.values() for i in r]
    signal_var = np.clip(np.var(betas[used], axis=0, ddof=1) - noise_var, 0.0, None)
    ncsnr2 = signal_var / noise_var
    nc = 100 * ncsnr2 / (ncsnr2 + np.mean([1 / len(r) for r in rows.values()]))
    return np.where(np.isnan(nc), 0.0, nc)


def r2_from_first_principles(betas: Floats, labels: list[str]) -> Floats:
    """Adjusted R2 of the image means, over the images shown at least twice, 0-100."""
    counts = Counter(labels)
    images = [n for n, c in counts.items() if c >= 2]
    used = [i for i, label in enumerate(labels) if counts[label] >= 2]
    data = betas[used]
    means = np.stack([betas[[i for i, lb in enumerate(labels) if lb == n]].mean(0) for n in images])
    fitted = means[[images.index(labels[i]) for i in used]]
    within = ((data - fitted) ** 2).sum(0) / (len(used) - len(images))
    total = data.var(axis=0, ddof=1)
    return np.asarray(np.clip(100 * (1 - within / total), 0.0, 100.0), dtype=np.float64)


class SubjectFiles:
    """One subject's GLMsingle outputs, read from the written bucket."""

    def __init__(self, root: Path, subject: str) -> None:
        self.root = root / "objects" / GLM / subject
        self.subject = subject
        anat = root / "objects/derivatives/anatomical" / subject / "ses-PrismaAnat/anat"
        mask = anat / f"{subject}_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
        self.brain = volume(mask) > 0
        self.sessions = sorted(p.name for p in self.root.glob("ses-*"))

    def stem(self, session: str) -> Path:
        return self.root / session / "func" / f"{self.subject}_{session}_task-images"

    def trials(self, session: str) -> pd.DataFrame:
        return pd.read_csv(f"{self.stem(session)}_desc-SingletrialBetas_trials.tsv", sep="\t")

    def betas(self, session: str) -> Floats:
        path = f"{self.stem(session)}_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
        return volume(Path(path))[self.brain].T  # (n_trials, n_voxels)

    def session_map(self, session: str, suffix: str) -> Floats:
        return volume(Path(f"{self.stem(session)}_space-T1w_{suffix}.nii.gz"))

    def subject_map(self, suffix: str) -> Floats:
        return volume(self.root / f"{self.subject}_task-images_space-T1w_{suffix}.nii.gz")


@pytest.fixture(scope="module")
def n_reps(fixture_dir: Path) -> dict[str, int]:
    meta = pd.read_csv(fixture_dir / "objects/stimuli/task-images_metadata.csv")
    return dict(zip(meta.image_name, meta.n_reps, strict=True))


def assert_published(published: Floats, brain: npt.NDArray[np.bool_], expected: Floats) -> None:
    np.testing.assert_allclose(published[brain], expected, atol=1e-3)
    assert not published[~brain].any()  # 0 outside the brain


@pytest.mark.parametrize("subject", SUBJECTS)
def test_session_maps_are_computed_from_the_sessions_betas(fixture_dir: Path, subject: str) -> None:
    files = SubjectFiles(fixture_dir, subject)
    assert len(files.sessions) == 3  # two public sessions and ses-31
    for session in files.sessions:
        labels = files.trials(session).label.tolist()
        betas = files.betas(session)
        assert len(labels) == betas.shape[0]
        unmodelled = np.isnan(betas).any(axis=0)
        assert 0 < unmodelled.sum() < 0.05 * unmodelled.size
        repeated = {n for n, c in Counter(labels).items() if c >= 2}
        assert len(repeated) >= 2  # the session repeats images: its own noise ceiling
        nc = files.session_map(session, "desc-Noiseceiling_statmap")
        assert_published(nc, files.brain, nc_from_first_principles(betas, labels, repeated))
        assert nc.max() > 50.0 and (nc[files.brain] < 20.0).any()  # a wide range
        r2 = files.session_map(session, "stat-rsquare_desc-R2_statmap")
        expected = r2_from_first_principles(betas, labels)
        np.testing.assert_allclose(r2[files.brain], expected, atol=1e-3)  # NaN where unmodelled
        assert np.isnan(r2[files.brain][unmodelled]).all() and not r2[~files.brain].any()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_maps_pool_the_sessions_and_leave_out_short_images(
    fixture_dir: Path, subject: str, n_reps: dict[str, int]
) -> None:
    files = SubjectFiles(fixture_dir, subject)
    betas = np.concatenate([files.betas(s) for s in files.sessions])
    labels = [label for s in files.sessions for label in files.trials(s).label]
    shows = Counter(labels)
    # planned: 12 or 4 shows, at most two per session (the tiny bucket has three sessions)
    planned = {k: min(k, 2 * len(files.sessions)) for k in (12, 4)}
    for k in (12, 4):
        as_planned = {n for n, c in shows.items() if n_reps[n] == k and c == planned[k]}
        short = {n for n, c in shows.items() if n_reps[n] == k and 2 <= c < planned[k]}
        assert as_planned and all(c <= planned[n_reps[n]] for n, c in shows.items())
        published = files.subject_map(f"desc-Noiseceiling{k}rep_statmap")
        assert_published(
            published, files.brain, nc_from_first_principles(betas, labels, as_planned)
        )
        if short:  # the images shown too few times are left out, and that shows
            lenient = nc_from_first_principles(betas, labels, as_planned | short)
            assert not np.allclose(published[files.brain], lenient, atol=1e-3)
    every = {n for n, c in shows.items() if c >= 2}
    allrep = files.subject_map("desc-NoiseceilingAllrep_statmap")
    assert_published(allrep, files.brain, nc_from_first_principles(betas, labels, every))
    r2mean = files.subject_map("stat-rsquare_desc-R2mean_statmap")
    per_session = [files.session_map(s, "stat-rsquare_desc-R2_statmap") for s in files.sessions]
    np.testing.assert_allclose(r2mean, np.mean(per_session, axis=0), atol=1e-4)
    assert 0 < (np.nan_to_num(r2mean) > 15.0).sum() < files.brain.sum()  # the "rsquare" mask


def test_some_images_are_shown_too_few_times(fixture_dir: Path, n_reps: dict[str, int]) -> None:
    files = SubjectFiles(fixture_dir, "sub-01")
    shows = Counter(label for s in files.sessions for label in files.trials(s).label)
    planned = {k: min(k, 2 * len(files.sessions)) for k in (12, 4)}
    assert any(c < planned[n_reps[n]] for n, c in shows.items())
    assert any(c == planned[12] and n_reps[n] == 12 for n, c in shows.items())
