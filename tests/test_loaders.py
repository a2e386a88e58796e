"""The loaders against a user's clone of the built synthetic superdataset.

Expected values come from the fixture generator (``SubjectDesign``), not from the files:
what the loaders return must equal what was put into the bucket.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture import encode
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.raw import EVENT_COLUMNS, events_rows
from laion_fmri_datalad.devserver.fixture.rois import ROI_CATEGORIES, all_rois
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS, get_spec
from laion_fmri_datalad.errors import MissingContentError, UsageError
from laion_fmri_datalad.loaders import Subject, load_subject, load_subjects
from laion_fmri_datalad.loaders.clone.index import index_dir
from laion_fmri_datalad.repo.env import LOOPBACK_KEY, LOOPBACK_VALUE, with_config
from laion_fmri_datalad.repo.git import git

SESSIONS = ["ses-01", "ses-02"]  # tiny: two public sessions; ses-31 is withheld


def union(design: SubjectDesign, names: list[str]) -> npt.NDArray[np.bool_]:
    mask = np.zeros(design.brain_mask.shape, dtype=bool)
    for name in names:
        mask |= design.roi_mask(name)
    return np.asarray(mask[design.brain_mask])


def test_what_exists(sub: Subject) -> None:
    assert sub.get_sessions() == SESSIONS
    assert sub.get_available_categories() == sorted(ROI_CATEGORIES)
    assert sub.get_available_rois("face") == ["FFA1", "FFA2", "OFA", "pSTSfaces"]
    assert sorted(sub.get_available_rois()) == sorted(all_rois())


def test_trial_info_is_the_generated_schedule(sub: Subject, design: SubjectDesign) -> None:
    info = sub.get_trial_info("ses-01")
    trials = design.schedule["ses-01"]
    assert list(info.columns) == ["session", "run", "beta_index", "label"]
    assert info["label"].tolist() == [t.image.name for t in trials]
    assert info["beta_index"].tolist() == info.groupby("run").cumcount().tolist()
    both = sub.get_trial_info(["ses-01", "02"])
    assert list(both) == SESSIONS
    assert both["ses-02"]["label"].tolist() == [t.image.name for t in design.schedule["ses-02"]]


def test_events_are_the_runs_in_order(sub: Subject, design: SubjectDesign) -> None:
    events = sub.get_events("ses-01")
    assert events.columns[0] == "run"
    assert sorted(set(events["run"])) == [1, 2]
    for run in (1, 2):
        written = encode.table(events_rows(design, "ses-01", f"run-{run:02d}"), EVENT_COLUMNS)
        expected = pd.read_csv(io.BytesIO(written), sep="\t")
        got = events[events["run"] == run].drop(columns="run").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


def test_raw_accessors(sub: Subject, design: SubjectDesign, clone: Path) -> None:
    """has_raw, get_events(session, run), get_raw_bold and get_sbref with upstream's
    semantics: a run beyond the betas' runs is reached; BOLD is (n_volumes, n_voxels)
    float32 over the brain mask; SBRefs without part- resolve; bad values are one line."""
    assert sub.has_raw() and sub.has_raw("ses-01") and not sub.has_raw("ses-31")
    one = sub.get_events("ses-01", run=2)
    assert set(one["run"]) == {2} and one.columns[0] == "run"
    written = encode.table(events_rows(design, "ses-01", "run-02"), EVENT_COLUMNS)
    expected = pd.read_csv(io.BytesIO(written), sep="\t")
    pd.testing.assert_frame_equal(one.drop(columns="run"), expected)
    assert sorted(set(sub.get_events("ses-02")["run"])) == [1, 2, 3]  # run-03: raw only
    brain = design.brain_mask
    bold = sub.get_raw_bold("ses-02", 3, 2)
    assert bold.dtype == np.float32 and bold.shape == (160, int(brain.sum()))
    path = clone / "sub-01/ses-02/func/sub-01_ses-02_task-images_run-03_echo-2_part-mag_bold.nii.gz"
    image = nib.load(path)
    assert image.header.get_zooms()[3] == pytest.approx(1.9)
    np.testing.assert_array_equal(bold, np.asarray(image.dataobj, dtype=np.float32)[brain].T)
    phase = sub.get_sbref("ses-01", 1, 1, part="phase")
    assert phase.shape == (int(brain.sum()),)
    other = load_subject("sub-03", dataset=clone)
    sbref = other.get_sbref("ses-02", 1, 3)  # named ..._echo-3_sbref, without part-
    written_path = clone / "sub-03/ses-02/func/sub-03_ses-02_task-images_run-01_echo-3_sbref.nii.gz"
    np.testing.assert_array_equal(
        sbref,
        np.asarray(nib.load(written_path).dataobj, dtype=np.float32)[
            other.get_brain_mask().reshape(brain.shape)
        ],
    )
    for call, said in (
        (lambda: sub.get_raw_bold("ses-01", 99, 1), "no run 99"),
        (lambda: sub.get_raw_bold("ses-01", 1, 4), "no echo 4"),
        (lambda: sub.get_sbref("ses-01", 1, 1, part="real"), "no part 'real'"),
        (lambda: sub.get_events("ses-31"), "ses-31"),
    ):
        with pytest.raises(UsageError, match=said):
            call()


def test_brain_masks(sub: Subject, design: SubjectDesign) -> None:
    assert sub.shape == design.brain_mask.shape
    np.testing.assert_array_equal(sub.get_brain_mask(), design.brain_mask.ravel())
    r2 = design.r_squared("R2mean")  # upstream's rsquare mask: R2mean neither NaN nor 0
    np.testing.assert_array_equal(
        sub.get_brain_mask("rsquare"), (~np.isnan(r2) & (r2 != 0)).ravel()
    )
    with pytest.raises(UsageError, match=r"no brain mask source 'rsq'.*'rsquare'"):
        sub.get_brain_mask("rsq")  # type: ignore[arg-type]


def test_betas_equal_the_generated_volumes(sub: Subject, design: SubjectDesign) -> None:
    brain = design.brain_mask
    betas = sub.get_betas("ses-01")
    assert betas.dtype == np.float32
    expected = design.betas("ses-01")[brain].T
    np.testing.assert_array_equal(betas, expected)  # NaNs in the same places
    assert np.isnan(betas).any()
    # ses-02 was overwritten in the bucket: the clone has the current version
    np.testing.assert_array_equal(sub.get_betas("ses-02"), design.betas("ses-02")[brain].T)
    ffa = union(design, ["FFA1", "FFA2"])
    roi = sub.get_betas("ses-01", roi=["FFA1", "FFA2"])
    np.testing.assert_array_equal(roi, expected[:, ffa])
    np.testing.assert_array_equal(
        sub.get_betas("ses-01", roi="FFA1", streaming=False), expected[:, union(design, ["FFA1"])]
    )


def test_betas_trial_and_voxel_filters(sub: Subject, design: SubjectDesign) -> None:
    expected = design.betas("ses-01")[design.brain_mask].T
    labels = [t.image.name for t in design.schedule["ses-01"]]
    shared = [i for i, name in enumerate(labels) if name.startswith("shared_")]
    unique = [i for i, name in enumerate(labels) if name.startswith("unique_")]
    np.testing.assert_array_equal(sub.get_betas("ses-01", stimuli="shared"), expected[shared])
    np.testing.assert_array_equal(sub.get_betas("ses-01", stimuli="unique"), expected[unique])
    picked = [labels[5], labels[2]]
    shown = [i for i, name in enumerate(labels) if name in picked]  # every show, table order
    np.testing.assert_array_equal(sub.get_betas("ses-01", stimuli=picked), expected[shown])
    nc = design.noise_ceiling("ses-01")[design.brain_mask]
    kept = sub.get_betas("ses-01", roi="all", nc_threshold=50)
    everything = union(design, all_rois())
    np.testing.assert_array_equal(kept, expected[:, everything & (nc >= 50)])
    with pytest.raises(UsageError, match="stimuli 'shard' is not allowed"):
        sub.get_betas("ses-01", stimuli="shard")
    many = sub.get_betas(SESSIONS, roi="face")
    assert list(many) == SESSIONS
    assert many["ses-02"].shape == (
        len(design.schedule["ses-02"]),
        int(union(design, list(ROI_CATEGORIES["face"])).sum()),
    )


def test_runs_map_to_volumes_by_row_not_by_beta_index(sub: Subject, design: SubjectDesign) -> None:
    """``beta_index`` restarts in every run, as in the bucket: each run shows its own images
    (their own planted signal), read from the volumes at the trials' rows. Reading
    ``beta_index`` as the volume (the old mapping) gives run 1's volumes for every run."""
    expected = design.betas("ses-01")[design.brain_mask].T
    info = sub.get_trial_info("ses-01")
    assert info["run"].nunique() > 1
    for run, rows in info.groupby("run").groups.items():
        names = info.loc[rows, "label"].tolist()
        values, table = sub.get_betas("ses-01", stimuli=names, return_trials=True)
        np.testing.assert_array_equal(values, expected[list(rows)])
        assert table["beta_index"].tolist() == list(range(len(rows)))  # kept as data
        if run != info["run"].iloc[0]:
            old_mapping = expected[table["beta_index"].to_numpy()]
            assert not np.array_equal(values, old_mapping, equal_nan=True), run
    _, images = sub.get_betas("ses-01", stimuli=names, average_repeats=True, return_trials=True)
    assert sorted(r for group in images["rows"] for r in group) == list(rows)


def test_nc_threshold_as_fraction_warns(sub: Subject) -> None:
    with pytest.warns(UserWarning, match="looks like a fraction.*percent"):
        sub.get_betas("ses-01", roi="FFA1", nc_threshold=0.3)
    with pytest.raises(UsageError, match="nc_threshold 150 is outside 0-100"):
        sub.get_betas("ses-01", nc_threshold=150)


def test_masks_given_directly(sub: Subject, design: SubjectDesign) -> None:
    expected = design.betas("ses-01")[design.brain_mask].T
    flat = np.zeros(sub.n_voxels, dtype=bool)
    flat[::3] = True
    np.testing.assert_array_equal(sub.get_betas("ses-01", mask=flat), expected[:, flat])
    grid = np.zeros(sub.shape, dtype=bool)
    grid[design.brain_mask] = flat
    np.testing.assert_array_equal(sub.get_betas("ses-01", mask=grid), expected[:, flat])
    with pytest.raises(UsageError, match=r"mask has shape \(3,\); allowed"):
        sub.get_betas("ses-01", mask=np.ones(3, dtype=bool))
    with pytest.raises(UsageError, match="dtype float64; a boolean array"):
        sub.get_betas("ses-01", mask=np.ones(sub.n_voxels))
    with pytest.raises(UsageError, match="roi or mask, not both"):
        sub.get_betas("ses-01", roi="FFA1", mask=flat)


def test_noise_ceilings(sub: Subject, design: SubjectDesign) -> None:
    brain = design.brain_mask
    face = union(design, list(ROI_CATEGORIES["face"]))
    np.testing.assert_array_equal(
        sub.get_noise_ceiling(session="ses-01", roi="face"),
        design.noise_ceiling("ses-01")[brain][face],
    )
    per_desc = sub.get_noise_ceiling(desc=["Noiseceiling4rep", "NoiseceilingAllrep"])
    for desc, values in per_desc.items():
        np.testing.assert_array_equal(values, design.noise_ceiling(desc)[brain])
    assert sub.get_noise_ceiling(session=SESSIONS, roi="FFA1")["ses-02"].shape == (
        int(union(design, ["FFA1"]).sum()),
    )
    with pytest.raises(UsageError, match=r"exactly one of session.*Noiseceiling12rep"):
        sub.get_noise_ceiling()
    with pytest.raises(UsageError, match="exactly one of session"):
        sub.get_noise_ceiling(session="ses-01", desc="Noiseceiling4rep")
    with pytest.raises(UsageError, match=r"no noise ceiling desc 'Noiseceiling4'.*did you mean"):
        sub.get_noise_ceiling(desc="Noiseceiling4")


def test_names_only_the_listing_has_are_usable(sub: Subject, design: SubjectDesign) -> None:
    """ROI names, noise-ceiling descriptions and session labels come from the clone's
    listing (DESIGN §2.14): the product has no list of them (the catalogue is the fixture's,
    and ``test_layers`` keeps the product from importing the fixture), so ``pSTSwords`` (the bucket's
    ``pSTS-words``) and ``noiseceiling33ses`` (one subject's, lower case) work like any
    other, and sessions without betas are not betas sessions."""
    assert "pSTSwords" in sub.get_available_rois("character")
    brain = design.brain_mask
    np.testing.assert_array_equal(sub.get_roi_mask("pSTSwords"), union(design, ["pSTSwords"]))
    assert "noiseceiling33ses" in sub.files.noise_ceiling_descs
    np.testing.assert_array_equal(
        sub.get_noise_ceiling(desc="noiseceiling33ses"),
        design.noise_ceiling("NoiseceilingAllrep")[brain],
    )
    assert sub.get_sessions() == SESSIONS  # the precision-mapping sessions have no betas
    assert "ses-Corners1" in sub.files.raw_sessions


def test_roi_grammar(sub: Subject, design: SubjectDesign) -> None:
    face = list(ROI_CATEGORIES["face"])
    np.testing.assert_array_equal(sub.get_roi_mask("face"), union(design, face))
    np.testing.assert_array_equal(sub.get_roi_mask(["FFA1", "face", "FFA1"]), union(design, face))
    np.testing.assert_array_equal(sub.get_roi_mask("all"), union(design, all_rois()))
    np.testing.assert_array_equal(
        sub.get_roi_mask(["place", "MT"]), union(design, [*ROI_CATEGORIES["place"], "MT"])
    )
    with pytest.raises(
        UsageError, match=r"no ROI or category 'FFA-1' for sub-01.*did you mean 'FFA1'"
    ):
        sub.get_roi_mask("FFA-1")
    with pytest.raises(UsageError, match=r"no ROI or category 'faces'.*did you mean 'face'"):
        sub.get_betas("ses-01", roi="faces")
    with pytest.raises(UsageError, match=r"no ROI category 'retino'.*did you mean 'retinotopy'"):
        sub.get_available_rois("retino")
    with pytest.raises(UsageError, match="empty list"):
        sub.get_roi_mask([])


def test_unknown_subject_and_session(clone: Path, sub: Subject) -> None:
    with pytest.raises(UsageError) as caught:
        load_subject("sub-02", dataset=clone)
    message = str(caught.value)
    assert "\n" not in message
    assert "no subject 'sub-02'; known: " + ", ".join(SUBJECTS) in message
    assert load_subject("03", dataset=clone).subject_id == "sub-03"
    with pytest.raises(UsageError, match="no session 'ses-31' for sub-01; known: ses-01, ses-02"):
        sub.get_betas("ses-31")
    with pytest.raises(UsageError, match="not a LAION-fMRI superdataset"):
        load_subject("sub-01", dataset=clone / "code")


def test_voxel_coordinates_and_to_nifti(
    sub: Subject, design: SubjectDesign, tmp_path: Path
) -> None:
    ffa = union(design, ["FFA1"])
    ijk = sub.get_voxel_coordinates(roi="FFA1", units="voxel")
    np.testing.assert_array_equal(ijk, np.argwhere(design.brain_mask)[ffa])
    mm = sub.get_voxel_coordinates(roi="FFA1")
    expected = nib.affines.apply_affine(sub.affine, ijk)
    np.testing.assert_allclose(mm, expected)
    assert abs(sub.affine[0, 0]) == pytest.approx(encode.VOXEL_MM_1PT8)

    values = sub.get_noise_ceiling(session="ses-01", roi="FFA1")
    out = sub.to_nifti(values, tmp_path / "nc_ffa1.nii.gz", roi="FFA1")
    image = nib.load(out)
    data = np.asarray(image.dataobj)
    np.testing.assert_allclose(image.affine, sub.affine)
    grid = np.zeros(design.brain_mask.shape, dtype=bool)
    grid[design.brain_mask] = ffa
    np.testing.assert_array_equal(data[grid], values)
    assert not data[~grid].any()
    betas = sub.get_betas("ses-01", roi="FFA1")
    four_d = np.asarray(nib.load(sub.to_nifti(betas, tmp_path / "b.nii", roi="FFA1")).dataobj)
    assert four_d.shape == (*sub.shape, betas.shape[0])
    with pytest.raises(UsageError, match=r"values have shape \(2,\); expected"):
        sub.to_nifti(values[:2], tmp_path / "bad.nii.gz", roi="FFA1")
    with pytest.raises(UsageError, match=r"must end in .nii or .nii.gz"):
        sub.to_nifti(values, tmp_path / "bad.png", roi="FFA1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.nii", "nc_ffa1.nii.gz"]


def test_group_shared_betas(clone: Path) -> None:
    group = load_subjects("all", dataset=clone)
    assert len(group) == len(SUBJECTS)
    assert group[0].subject_id == "sub-01"
    assert group["05"].subject_id == "sub-05"
    with pytest.raises(UsageError, match="no subject 'sub-02' in this group"):
        group["sub-02"]
    shared = load_subjects(["sub-01", "sub-03"], dataset=clone).get_shared_betas(
        "ses-01", roi="FFA1"
    )
    assert list(shared) == ["sub-01", "sub-03"]
    for subject, betas in shared.items():
        design = SubjectDesign(0, subject, get_spec("tiny"), build_catalogue())
        rows = [
            i for i, t in enumerate(design.schedule["ses-01"]) if t.image.name.startswith("shared_")
        ]
        ffa = union(design, ["FFA1"])
        np.testing.assert_array_equal(
            betas, design.betas("ses-01")[design.brain_mask].T[rows][:, ffa]
        )


def test_fetch_on_demand_is_logged(
    clone_of: Callable[[str, Path], Path],
    store: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fresh = clone_of(store, tmp_path / "fresh")
    assert not (fresh / "derivatives/rois/.git").exists()
    with caplog.at_level(logging.INFO, logger="laion_fmri_datalad.loaders"):
        mask = load_subject("sub-05", dataset=fresh).get_roi_mask("MT")
    assert mask.any()
    assert (fresh / "derivatives/rois/.git").exists()  # installed on demand
    got = fresh / "derivatives/rois/sub-05/motion/sub-05_space-T1w_res-1pt8_label-MT_mask.nii.gz"
    assert got.exists()
    text = caplog.text
    assert "installing subdataset derivatives/rois with DataLad" in text
    assert "getting 1 file(s)" in text and "label-MT_mask.nii.gz" in text
    # only what was needed: the other ROI of the category has no content
    assert not (got.parent / "sub-05_space-T1w_res-1pt8_label-MST_mask.nii.gz").exists()


def test_fetch_false_names_the_command(
    clone_of: Callable[[str, Path], Path], store: str, tmp_path: Path
) -> None:
    fresh = clone_of(store, tmp_path / "fresh")
    offline = load_subject("sub-01", dataset=fresh, fetch=False)
    assert offline.get_sessions() == ["ses-01", "ses-02"]  # from the shipped listing
    with pytest.raises(MissingContentError) as caught:
        offline.get_trial_info("ses-01")
    assert str(caught.value) == (
        f"subdataset 'derivatives/glmsingle-tedana' is not installed in '{fresh}'; "
        f"run: datalad get -n -d {fresh} derivatives/glmsingle-tedana"
    )
    import datalad.api as dl

    dl.get(
        path=str(fresh / "derivatives/glmsingle-tedana"),
        dataset=str(fresh),
        get_data=False,
        result_renderer="disabled",
    )
    dl.get(
        path=str(fresh / "derivatives/anatomical"),
        dataset=str(fresh),
        get_data=False,
        result_renderer="disabled",
    )
    trials = get_spec("tiny").runs * get_spec("tiny").trials_per_run
    assert offline.get_trial_info("ses-01").shape[0] == trials  # tables are in git: no fetch
    with pytest.raises(MissingContentError) as caught:
        offline.get_betas("ses-01")
    message = str(caught.value)
    mask = "derivatives/anatomical/sub-01/ses-PrismaAnat/anat/sub-01_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
    assert message == (
        f"content of {mask} is not present (fetch=False); run: datalad get -d {fresh} {mask}"
    )
    assert isinstance(caught.value, FileNotFoundError)


def test_index_persists_across_processes(sub: Subject, clone: Path) -> None:
    sub.get_sessions()  # built by this process
    glm = clone / "derivatives/glmsingle-tedana"
    where = index_dir(glm)
    assert (where / "layout_index.sqlite").is_file()
    assert where.is_relative_to(Path(git(glm, "rev-parse", "--absolute-git-dir").strip()))
    assert git(clone, "status", "--porcelain", "--ignore-submodules=none") == ""
    script = (
        "import logging; logging.basicConfig(level=logging.INFO);"
        "from laion_fmri_datalad.loaders import load_subject;"
        f"print(load_subject('sub-01', dataset={str(clone)!r}).get_sessions())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == str(SESSIONS)
    assert "indexed" not in done.stderr  # loaded, not rebuilt


def _recipe(name: str) -> str:
    """The code block of ``docs/where-users-are.md`` that starts with ``# recipe: <name>``."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "where-users-are.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    return next(b for b in blocks if b.startswith(f"# recipe: {name}\n"))


def test_nilearn_recipe_of_the_docs(
    clone_of: Callable[[str, Path], Path],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The docs' nilearn recipe, run as written on a fresh clone (in-process datalad.api,
    as in a notebook): NiftiMasker with the clone's FFA1 mask gives get_betas(roi=)."""
    clone = clone_of(store, tmp_path / "laion-fmri")
    code = _recipe("nilearn")
    assert 'clone = "laion-fmri"' in code
    # the development server is on 127.0.0.1: this process's git-annex may reach it
    allowed = with_config(dict(os.environ), LOOPBACK_KEY, LOOPBACK_VALUE)
    for name, value in allowed.items():
        if name.startswith("GIT_CONFIG_"):
            monkeypatch.setenv(name, value)
    namespace: dict[str, object] = {}
    exec(compile(code.replace('"laion-fmri"', repr(str(clone)), 1), "recipe", "exec"), namespace)
    assert namespace["X"].shape[1] > 0  # type: ignore[attr-defined]
