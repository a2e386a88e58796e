"""The planted model behind the synthetic betas, and the maps computed from them.

The noise ceiling is recomputed here with a direct implementation of DESIGN §2.3's
formula (pandas group-bys, not the generator's code) and compared with the generator's.
A bucket larger than ``tiny`` (more trials per run) gives the statistics enough images.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.signal import (
    SELECTIVE_CATEGORIES,
    content_categories,
    noise_ceiling,
    nrep_images,
    r_squared,
)
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS, FixtureSpec, get_spec

# Three public sessions and one withheld, 4 runs of 24 trials: 96 trials a session.
LARGER = FixtureSpec("larger", public_sessions=3, denied_sessions=1, runs=4, trials_per_run=24)
NC_DESCS = ("Noiseceiling4rep", "Noiseceiling12rep", "NoiseceilingAllrep")


def spearman(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    return float(pd.Series(np.asarray(a)).corr(pd.Series(np.asarray(b)), method="spearman"))


@cache
def design(subject: str = "sub-01", spec: FixtureSpec = LARGER) -> SubjectDesign:
    return SubjectDesign(0, subject, spec, build_catalogue())


def reference_nc(
    betas: npt.NDArray[np.float32], labels: Sequence[str], include: set[str] | None = None
) -> npt.NDArray[np.float64]:
    """NC = 100 ncsnr² / (ncsnr² + mean 1/n), from first principles, voxel by voxel."""
    frame = pd.DataFrame(betas.astype(np.float64))
    frame["label"] = list(labels)
    counts = Counter(labels)
    repeated = [n for n, c in counts.items() if c >= 2 and (include is None or n in include)]
    out = np.zeros(betas.shape[1])
    if len(repeated) < 2:
        return out
    rows = frame[frame["label"].isin(repeated)]
    for v in range(betas.shape[1]):
        column = rows[v]
        if column.isna().any():
            continue  # unmodelled: 0
        noise_var = column.groupby(rows["label"]).var(ddof=1).mean()
        signal_var = max(0.0, column.var(ddof=1) - noise_var)
        if noise_var > 0:
            ncsnr2 = signal_var / noise_var
            out[v] = 100 * ncsnr2 / (ncsnr2 + np.mean([1 / counts[n] for n in repeated]))
    return out


def subject_trials(d: SubjectDesign) -> tuple[npt.NDArray[np.float32], list[str]]:
    sessions = d.spec.sessions
    betas = np.concatenate([d.betas(s)[d.brain_mask].T for s in sessions])
    return betas, [t.image.name for s in sessions for t in d.schedule[s]]


# -- the formula ---------------------------------------------------------------------------


def test_noise_ceiling_matches_a_direct_computation() -> None:
    d = design()
    for session in d.spec.sessions:
        betas = d.betas(session)[d.brain_mask].T
        labels = [t.image.name for t in d.schedule[session]]
        published = d.noise_ceiling(session)[d.brain_mask]
        np.testing.assert_allclose(published, reference_nc(betas, labels), atol=1e-3)
    betas, labels = subject_trials(d)
    for desc in NC_DESCS:
        got = d.noise_ceiling(desc)[d.brain_mask]
        np.testing.assert_allclose(got, reference_nc(betas, labels, d.nc_images(desc)), atol=1e-3)
    assert not d.noise_ceiling("ses-01")[~d.brain_mask].any()


def test_noise_ceiling_of_known_inputs() -> None:
    labels = ["a", "a", "b", "b", "c"]  # c is shown once: not used
    betas = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 1.0], [7.0, 1.0], [100.0, 3.0]])
    # voxel 0: noise var = mean(2, 2) = 2, total var of [1,3,5,7] = 20/3, signal = 14/3
    ncsnr2 = (20 / 3 - 2) / 2
    expected = 100 * ncsnr2 / (ncsnr2 + 0.5)
    got = noise_ceiling(betas, labels)
    assert got[0] == pytest.approx(expected, rel=1e-6)
    assert got[1] == 0.0  # no noise: no ceiling to speak of
    assert not noise_ceiling(betas, ["a", "a", "b", "c", "d"]).any()  # one repeated image
    with_nan = betas.copy()
    with_nan[0, 0] = np.nan
    assert noise_ceiling(with_nan, labels)[0] == 0.0


def test_r_squared_is_the_share_of_trial_variance_explained_by_the_image() -> None:
    rng = np.random.default_rng(1)
    n_images, reps = 400, 4
    labels = [f"im{i}" for i in range(n_images) for _ in range(reps)]
    image_effect = np.repeat(rng.normal(size=n_images), reps)
    noise = rng.normal(size=(n_images * reps, 2))
    betas = np.column_stack([noise[:, 0], image_effect + noise[:, 1]])  # snr 0 and 1
    r2 = r_squared(betas, labels)
    assert r2[0] < 3.0  # pure noise: about 0, not 1/reps
    assert r2[1] == pytest.approx(50.0, abs=5.0)  # snr² / (snr² + 1)
    betas[3, 1] = np.nan
    assert np.isnan(r_squared(betas, labels)[1])


# -- what is planted is what the maps show -------------------------------------------------


def test_noise_ceiling_follows_the_planted_snr() -> None:
    for subject in ("sub-01", "sub-06"):
        d = design(subject)
        model = d.model
        ok = ~model.unmodelled
        snr = model.snr[ok]
        assert snr.min() == 0.0 and snr.max() > 1.8  # a wide range is planted
        for label in ("ses-01", "NoiseceilingAllrep", "Noiseceiling4rep"):
            nc = d.noise_ceiling(label)[d.brain_mask][ok]
            assert spearman(snr, nc) >= 0.8, (subject, label)
        allrep = d.noise_ceiling("NoiseceilingAllrep")[d.brain_mask][ok]
        assert np.median(allrep[snr == 0]) < 10.0
        assert np.median(allrep[snr > 1.5]) > 85.0
        assert allrep.max() <= 100.0 and allrep.min() >= 0.0
        r2 = d.r_squared("R2mean")[d.brain_mask]
        assert np.isnan(r2[model.unmodelled]).all()
        assert spearman(snr, r2[ok]) >= 0.8
        rsquare_mask = r2[ok] > 15.0  # the loaders' "rsquare" brain mask
        assert 0.3 < rsquare_mask.mean() < 0.95
        assert np.median(snr[rsquare_mask]) > 2 * np.median(snr[~rsquare_mask])


def test_more_repeats_give_a_higher_ceiling() -> None:
    d = design()
    ok = ~d.model.unmodelled & (d.model.snr > 0.3)
    twelve = d.noise_ceiling("Noiseceiling12rep")[d.brain_mask][ok]
    session = d.noise_ceiling("ses-01")[d.brain_mask][ok]  # from pairs
    assert np.median(twelve) > np.median(session) + 10.0


def test_selective_rois_answer_to_images_of_their_content() -> None:
    d = design("sub-03")
    model = d.model
    pool = [im for im in d.catalogue if im.name in model.images]
    content = np.array(content_categories(pool, sorted(d.rois)))
    rows = np.array([model.images[im.name] for im in pool])
    voxel_category = np.array(model.category)
    nc = d.noise_ceiling("NoiseceilingAllrep")[d.brain_mask]
    outside = voxel_category == ""
    for category in SELECTIVE_CATEGORIES:
        voxels = voxel_category == category
        assert voxels.any(), category
        responses = model.responses[rows][:, voxels]
        matching = responses[content == category].mean()
        other = responses[(content != category) & (content != "")].mean()
        assert matching > other + 1.0, category  # in sd units across images
        assert model.snr[voxels].min() > np.percentile(model.snr[outside], 75)
        assert np.median(nc[voxels]) > np.median(nc[outside]) + 20.0


# -- the schedule and the 4rep/12rep/Allrep rule ------------------------------------------


def test_nrep_rule_keeps_only_images_shown_as_planned() -> None:
    shows = {"a12": 12, "b12": 11, "c4": 4, "d4": 3, "e4": 4, "f12": 4}
    n_reps = {"a12": 12, "b12": 12, "c4": 4, "d4": 4, "e4": 4, "f12": 12}
    assert nrep_images(shows, n_reps, 12, n_sessions=34) == {"a12"}
    assert nrep_images(shows, n_reps, 4, n_sessions=34) == {"c4", "e4"}
    # with three sessions a 12rep image is planned 6 shows (at most 2 a session)
    assert nrep_images({"a12": 6, "b12": 5}, {"a12": 12, "b12": 12}, 12, 3) == {"a12"}


@pytest.mark.parametrize(
    "spec", [get_spec("tiny"), LARGER, get_spec("real")], ids=["tiny", "larger", "real"]
)
def test_schedule_repeats_images_within_and_across_sessions(spec: FixtureSpec) -> None:
    d = design("sub-05", spec)
    n_sessions = len(spec.sessions)
    for session, trials in d.schedule.items():
        for run in spec.run_ids:  # beta_index restarts in every run, as in the bucket
            numbers = [t.beta_index for t in trials if t.run == run]
            assert numbers == list(range(len(numbers))), (session, run)
        per_image = Counter(t.image.name for t in trials)
        assert set(per_image.values()) <= {1, 2} and 2 in per_image.values(), session
        for run in spec.run_ids:
            in_run = [t for t in trials if t.run == run]
            assert len(in_run) == spec.trials_per_run
            n_shared = sum(t.image.unique_or_shared == "shared" for t in in_run)
            assert n_shared == spec.trials_per_run // 2
        for name, count in per_image.items():
            if count == 2:  # a pair lies within one run
                assert len({t.run for t in trials if t.image.name == name}) == 1
    seen: Counter[str] = Counter()
    for trials in d.schedule.values():
        for t in trials:
            seen[t.image.name] += 1
            assert t.occurrence == seen[t.image.name]
    assert seen == Counter(d.shows)
    planned = {im.name: min(im.n_reps, 2 * n_sessions) for im in d.catalogue if im.name in seen}
    assert all(seen[n] <= planned[n] for n in seen)
    short = [n for n in seen if seen[n] < planned[n]]
    full = [n for n in seen if seen[n] == planned[n]]
    assert short and full  # a few images end up shown too few times
    if spec.scale != "tiny":
        assert len(short) < len(full) / 4
    n_reps = {im.name: im.n_reps for im in d.catalogue}
    for desc, k in (("Noiseceiling12rep", 12), ("Noiseceiling4rep", 4)):
        assert d.nc_images(desc) == {n for n in full if n_reps[n] == k}, desc
    other = design("sub-07", spec)
    for session in spec.sessions:
        shared = {t.image.name for t in d.schedule[session] if t.image.participant == "shared"}
        assert shared == {
            t.image.name for t in other.schedule[session] if t.image.participant == "shared"
        }


def test_real_scale_shows_12rep_images_twelve_times() -> None:
    d = design("sub-01", get_spec("real"))
    by_kind: dict[str, Counter[int]] = {"12": Counter(), "4": Counter()}
    n_reps = {im.name: im.n_reps for im in d.catalogue}
    for name, count in d.shows.items():
        by_kind[str(n_reps[name])][count] += 1
    assert by_kind["12"].most_common(1)[0][0] == 12 and by_kind["12"][12] >= 40
    assert by_kind["4"].most_common(1)[0][0] == 4 and by_kind["4"][4] >= 200
    shared_kinds = {im.ood_type or im.dataset for im in d.catalogue if im.name in d.shows}
    assert {"LAION", "NSD", "THINGSplus"} <= shared_kinds and len(shared_kinds) > 6  # OOD too


def test_exclusion_changes_the_nrep_maps() -> None:
    d = design()
    betas, labels = subject_trials(d)
    strict = 0
    for desc, k in (("Noiseceiling12rep", 12), ("Noiseceiling4rep", 4)):
        chosen = d.nc_images(desc)
        every = {im.name for im in d.catalogue if im.name in d.shows and im.n_reps == k}
        assert chosen is not None and chosen <= every
        if chosen < every:  # some were shown too few times: leaving them out matters
            strict += 1
            lenient = reference_nc(betas, labels, every)
            assert not np.allclose(lenient, d.noise_ceiling(desc)[d.brain_mask], atol=1e-3)
    assert strict


def test_betas_are_deterministic_and_versioned() -> None:
    d = design("sub-01", get_spec("tiny"))
    again = SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())
    np.testing.assert_array_equal(d.betas("ses-02"), again.betas("ses-02"))
    old = d.betas("ses-02", version=1)
    new = d.betas("ses-02")
    brain = d.brain_mask
    assert old.dtype == new.dtype == np.float32
    assert not new[~brain].any() and np.isnan(new[brain]).any()
    assert np.array_equal(np.isnan(old), np.isnan(new)) and not np.allclose(
        old[brain], new[brain], equal_nan=True
    )
    other_seed = SubjectDesign(1, "sub-01", get_spec("tiny"), build_catalogue())
    assert not np.allclose(other_seed.betas("ses-02"), new, equal_nan=True)


def test_every_subject_has_a_model() -> None:
    for subject in SUBJECTS:
        d = design(subject, get_spec("tiny"))
        assert d.model.responses.shape[1] == d.brain_mask.sum()
        assert 1 <= d.model.unmodelled.sum() <= 5
