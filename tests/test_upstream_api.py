"""Upstream's API (DESIGN §2.11) on a user's clone, against the generator's values.

Expected values come from the fixture generator (``SubjectDesign``, the caption and
segmentation tables it writes, the objects it put in the bucket), never from the loaders.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Sized
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue, shared_images
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.devserver.fixture.stimuli import embeddings, segmentations
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders import Subject, load_stimuli
from laion_fmri_datalad.loaders.api.localizers import localizer_effect_path, localizer_statmap_path
from laion_fmri_datalad.loaders.api.stimuli import Stimuli
from laion_fmri_datalad.loaders.api.unknownkey import UnknownKeyError
from laion_fmri_datalad.loaders.clone.content import Content
from laion_fmri_datalad.loaders.clone.download import Includes, filter_values, plan

CATALOGUE = build_catalogue()


@pytest.fixture(scope="module")
def stim(clone: Path) -> Stimuli:
    return load_stimuli(clone)


@pytest.fixture(scope="module")
def captions(fixture_dir: Path) -> pd.DataFrame:
    """The captions the generator wrote."""
    return pd.read_csv(fixture_dir / "objects/stimuli/task-images_desc-captions.csv")


def generated(fixture_dir: Path, key: str) -> bytes:
    return (fixture_dir / "objects" / key).read_bytes()


def nifti(data: bytes) -> npt.NDArray[np.float64]:
    return np.asarray(nib.Nifti1Image.from_bytes(gzip.decompress(data)).dataobj)


def test_top_level_imports() -> None:
    import laion_fmri_datalad
    from laion_fmri_datalad import download, load_stimuli, load_subject, load_subjects

    assert all(callable(f) for f in (download, load_stimuli, load_subject, load_subjects))
    assert set(laion_fmri_datalad.__all__) >= {"load_subject", "load_subjects", "download"}


def test_captions_every_caption_of_an_image(stim: Stimuli, captions: pd.DataFrame) -> None:
    shared = next(im.name for im in CATALOGUE if im.unique_or_shared == "shared")
    unique = next(im.name for im in CATALOGUE if im.unique_or_shared == "unique")
    for name, n_human in ((shared, 5), (unique, 3)):
        rows = captions[captions["image_name"] == name]
        humans = rows[rows["source"] == "human"].sort_values("caption_idx")
        assert stim.captions.human(name) == humans["caption"].tolist()
        assert len(stim.captions.human(name)) == n_human
        assert stim.captions.human(name, limit=2) == humans["caption"].tolist()[:2]
        assert stim.captions.ai(name) == rows[rows["source"] == "ai"]["caption"].item()
        table = stim.captions.get(name)
        assert table["caption_idx"].tolist() == list(range(n_human + 1))
        assert stim.captions.list(name, "ai") == [stim.captions.ai(name)]
    assert len(stim.captions) == len(captions)
    assert stim.captions.human("no-such-image.jpg") == [] and stim.captions.ai("x") is None
    with pytest.raises(UsageError, match=r"no caption source 'AI'.*did you mean 'ai'"):
        stim.captions.list(shared, "AI")


def test_segmentations_by_image_noun_and_instance(stim: Stimuli) -> None:
    masks, rows = segmentations(0, CATALOGUE, get_spec("tiny").segmentation_size)
    table = pd.DataFrame(rows)
    twice = table[table["instance_id"] == 1].iloc[0]
    image, noun = str(twice["image_name"]), str(twice["noun"])
    np.testing.assert_array_equal(stim.segmentations.get(image, noun, 1), masks[twice["mask_row"]])
    first = table[(table["image_name"] == image) & (table["noun"] == noun)].iloc[0]
    np.testing.assert_array_equal(stim.segmentations.get(image, noun), masks[first["mask_row"]])
    mine = table[table["image_name"] == image]
    assert stim.segmentations.nouns(image, localized_only=False) == list(
        dict.fromkeys(mine["noun"])
    )
    localized = mine[mine["localized"]]
    assert stim.segmentations.nouns(image) == list(dict.fromkeys(localized["noun"]))
    assert len(stim.segmentations.for_image(image)) == len(mine)
    assert stim.segmentations.images() == list(dict.fromkeys(table["image_name"]))
    unique = next(im.name for im in CATALOGUE if im.unique_or_shared == "unique")
    assert stim.segmentations.nouns(unique) == [] and stim.segmentations.for_image(unique).empty
    assert not stim.segmentations.has_image(unique)
    with pytest.raises(KeyError):
        stim.segmentations.get(unique, noun)
    with pytest.raises(UsageError, match=r"no instance 7 of"):
        stim.segmentations.get(image, noun, 7)
    assert stim.get_segmentation(image).shape == (len(mine), *masks.shape[1:])


def test_brain_mask_sources_and_resolutions(sub: Subject, design: SubjectDesign) -> None:
    np.testing.assert_array_equal(sub.get_brain_mask("anatomical"), design.brain_mask.ravel())
    np.testing.assert_array_equal(
        sub.get_brain_mask("anatomical", res=None), design.fine_brain_mask.ravel()
    )
    r2 = design.r_squared("R2mean")
    rsquare = ~np.isnan(r2) & (r2 != 0)
    np.testing.assert_array_equal(sub.get_brain_mask(source="rsquare"), rsquare.ravel())
    assert sub.get_n_voxels() == int(design.brain_mask.sum())
    assert sub.get_n_voxels("rsquare") == int(rsquare.sum())
    with pytest.raises(UsageError, match="res None is not allowed for source 'rsquare'"):
        sub.get_brain_mask("rsquare", res=None)
    with pytest.raises(UsageError, match=r"no res '1pt5'"):
        sub.get_brain_mask(res="1pt5")


def test_mask_source_per_call(sub: Subject, design: SubjectDesign) -> None:
    r2 = design.r_squared("R2mean")
    rsquare = ~np.isnan(r2) & (r2 != 0)
    ffa = design.roi_mask("FFA1")[rsquare]
    betas = sub.get_betas("ses-01", roi="FFA1", mask_source="rsquare")
    np.testing.assert_array_equal(betas, design.betas("ses-01")[rsquare].T[:, ffa])
    nc = sub.get_noise_ceiling(session="ses-01", mask_source="rsquare")
    np.testing.assert_array_equal(nc, design.noise_ceiling("ses-01")[rsquare])
    kept = sub.get_betas("ses-01", nc_threshold=40, mask_source="rsquare")
    expected = design.betas("ses-01")[rsquare].T
    np.testing.assert_array_equal(kept, expected[:, design.noise_ceiling("ses-01")[rsquare] >= 40])
    ijk = sub.get_voxel_coordinates(roi="FFA1", units="voxel", mask_source="rsquare")
    np.testing.assert_array_equal(ijk, np.argwhere(rsquare)[ffa])


def test_roi_masks_and_roi_data(sub: Subject, design: SubjectDesign) -> None:
    masks = sub.get_roi_masks(["face", "MT"])
    assert list(masks) == ["face", "MT"]
    face = np.zeros(design.brain_mask.shape, dtype=bool)
    for roi in ("FFA1", "FFA2", "OFA", "pSTSfaces"):
        face |= design.roi_mask(roi)
    np.testing.assert_array_equal(masks["face"], face[design.brain_mask])
    data = sub.get_roi_data("FFA1")
    np.testing.assert_array_equal(
        data["FFA1"]["volume"], design.roi_mask("FFA1")[design.brain_mask]
    )
    for hemi in ("L", "R"):
        vertices = design.roi_vertices("FFA1", hemi)
        surface = data["FFA1"]["gii"][f"hemi-{hemi}"]
        assert np.flatnonzero(surface["func.gii"]).tolist() == vertices.tolist()
        assert sorted(surface["label"].tolist()) == vertices.tolist()
    labels = sub.get_roi_data(["OFA", "MT"], format="label", hemi="R")
    assert list(labels) == ["OFA", "MT"]
    assert list(labels["MT"]) == ["gii"] and list(labels["MT"]["gii"]) == ["hemi-R"]
    assert list(labels["MT"]["gii"]["hemi-R"]) == ["label"]
    assert list(sub.get_roi_data("MT", format="volume")["MT"]) == ["volume"]
    with pytest.raises(UsageError, match=r"no ROI format 'gifti'"):
        sub.get_roi_data("MT", format="gifti")


def test_anatomy_and_freesurfer(sub: Subject, fixture_dir: Path) -> None:
    stem = "derivatives/anatomical/sub-01/ses-PrismaAnat/anat/sub-01_ses-PrismaAnat_space-T1w"
    assert sub.has_anatomical() and sub.has_freesurfer()
    t1w = sub.get_t1w(res="1pt8")  # upstream's form: a path, its content present
    assert isinstance(t1w, Path) and t1w.name == f"{Path(stem).name}_res-1pt8_T1w.nii.gz"
    np.testing.assert_array_equal(
        np.asarray(nib.load(t1w).dataobj),
        nifti(generated(fixture_dir, f"{stem}_res-1pt8_T1w.nii.gz")),
    )
    np.testing.assert_array_equal(
        np.asarray(sub.load_t1w(res="1pt8").dataobj), np.asarray(nib.load(t1w).dataobj)
    )
    t2w = np.asarray(nib.load(sub.get_t2w()).dataobj)
    np.testing.assert_array_equal(t2w, nifti(generated(fixture_dir, f"{stem}_T2w.nii.gz")))
    full = nifti(generated(fixture_dir, f"{stem}_desc-brain_mask.nii.gz"))
    mask = nib.load(sub.get_anatomical_brain_mask())
    np.testing.assert_array_equal(np.asarray(mask.dataobj), full)
    np.testing.assert_array_equal(sub.anatomical_brain_mask(), (full > 0).ravel())
    with pytest.raises(UsageError, match=r"no res '1pt5'"):
        sub.get_t1w(res="1pt5")
    recon = sub.get_freesurfer_dir()
    written = sorted(
        p.relative_to(fixture_dir / "objects/derivatives/freesurfer/sub-01").as_posix()
        for p in (fixture_dir / "objects/derivatives/freesurfer/sub-01").rglob("*")
        if p.is_file()
    )
    got = sorted(p.relative_to(recon).as_posix() for p in recon.rglob("*") if p.is_file())
    assert got == written
    white = "surf/lh.white"
    assert (recon / white).read_bytes() == generated(
        fixture_dir, f"derivatives/freesurfer/sub-01/{white}"
    )


def test_localizer_maps(clone: Path, fixture_dir: Path) -> None:
    path = localizer_statmap_path(
        "sub-01", "floc", "faceVsOthers", "4BarScreenfLoc", hemi="L", dataset=clone
    )
    key = (
        "derivatives/localizers/sub-01/ses-4BarScreenfLoc/func/sub-01_ses-4BarScreenfLoc_task-floc"
    )
    assert path.read_bytes() == generated(
        fixture_dir, f"{key}_hemi-L_space-fsnative_contrast-faceVsOthers_stat-z_statmap.func.gii"
    )
    volume = localizer_statmap_path(
        "01", "oloc", "objectVsScrambled", "ses-31", space="T1w", res="1pt8", dataset=clone
    )
    assert volume.name.endswith(
        "_space-T1w_res-1pt8_contrast-objectVsScrambled_stat-z_statmap.nii.gz"
    )
    effect = localizer_effect_path(
        "sub-01", "floc", "faceVsBaseline", "4BarScreenfLoc", 1, space="T1w", dataset=clone
    )
    assert effect.read_bytes() == generated(
        fixture_dir,
        f"{key}_run-01_space-T1w_res-1pt5_contrast-faceVsBaseline_stat-effect_statmap.nii.gz",
    )
    with pytest.raises(UsageError, match=r"no contrast 'faceVsOther'.*did you mean 'faceVsOthers'"):
        localizer_statmap_path(
            "sub-01", "floc", "faceVsOther", "4BarScreenfLoc", hemi="R", dataset=clone
        )
    # the listing decides which runs exist: floc keeps 2 of its 8 runs in the tiny bucket,
    # ses-31's object localizer 1 of its 4
    later = localizer_effect_path(
        "sub-01", "floc", "faceVsBaseline", "4BarScreenfLoc", 2, hemi="R", dataset=clone
    )
    assert "_task-floc_run-02_hemi-R_" in later.name and later.read_bytes()
    with pytest.raises(UsageError, match=r"no run 2 of task oloc in sub-03 ses-31; .*: run-01$"):
        localizer_effect_path(
            "sub-03", "oloc", "objectVsBaseline", "31", 2, hemi="R", dataset=clone
        )
    with pytest.raises(UsageError, match="MotionLoc' is the pooled map"):
        localizer_effect_path(
            "sub-01", "MotionLoc", "movingVsBaseline", "MotionLocBarsSML", 1, dataset=clone
        )
    with pytest.raises(UsageError, match="needs hemi 'L' or 'R'"):
        localizer_statmap_path("sub-01", "floc", "faceVsOthers", "4BarScreenfLoc", dataset=clone)


def test_metadata_and_trial_namespaces(
    sub: Subject, design: SubjectDesign, captions: pd.DataFrame
) -> None:
    meta = sub.metadata
    trials = [t for s in ("ses-01", "ses-02") for t in design.schedule[s]]
    assert len(meta) == len(trials)
    assert meta["image_name"].tolist() == [t.image.name for t in trials]
    assert meta["stim_idx"].tolist() == [design.catalogue_index[t.image.name] for t in trials]
    assert meta["unique_or_shared"].tolist() == [t.image.unique_or_shared for t in trials]
    per_session = [i for s in ("ses-01", "ses-02") for i in range(len(design.schedule[s]))]
    assert meta["session_trial"].tolist() == per_session  # the row, i.e. the betas volume
    shared = next(i for i, t in enumerate(trials) if t.image.unique_or_shared == "shared")
    name = trials[shared].image.name
    humans = captions[(captions["image_name"] == name) & (captions["source"] == "human")]
    assert sub.captions.human(shared) == humans.sort_values("caption_idx")["caption"].tolist()
    assert sub.segmentations.has_image(shared)
    assert sub.segmentations.nouns(shared) == sub.stimuli.segmentations.nouns(name)
    ses2 = [t.image.name for t in design.schedule["ses-02"]]
    want = embeddings(0, CATALOGUE, "CLIP")[[design.catalogue_index[n] for n in ses2]]
    got = sub.embeddings.all("CLIP", session="ses-02")
    valid = ~np.isnan(got).any(axis=1)
    np.testing.assert_array_equal(got[valid], want[valid].astype(np.float32))
    np.testing.assert_array_equal(sub.embeddings.get("CLIP", len(trials) - 1), got[-1])
    with pytest.raises(UsageError, match="trial 9999 is outside"):
        sub.captions.ai(9999)


def test_torch_dataset_without_torch(sub: Subject, design: SubjectDesign) -> None:
    data = sub.to_torch_dataset("ses-02", roi="FFA1", images=False)
    ffa = design.roi_mask("FFA1")[design.brain_mask]
    expected = design.betas("ses-02")[design.brain_mask].T[:, ffa]
    labels = [t.image.name for t in design.schedule["ses-02"]]
    assert isinstance(data, Sized) and len(data) == len(labels)
    item = data[3]
    assert set(item) == {"betas", "image_name", "session", "rep_index"}
    np.testing.assert_array_equal(item["betas"], expected[3])
    assert item["image_name"] == labels[3] and item["session"] == "ses-02"
    assert [data[i]["rep_index"] for i in range(len(data))] == [
        labels[:i].count(n) for i, n in enumerate(labels)
    ]
    # what torch's DataLoader does with a map-style dataset: a sampler's indices 0..len-1,
    # items fetched one by one; past the end is an IndexError
    assert [data[i]["image_name"] for i in range(len(data))] == labels
    with pytest.raises(IndexError):
        data[len(data)]


def test_group_shared_stimulus_metadata(clone: Path) -> None:
    from laion_fmri_datalad import load_subjects

    group = load_subjects(["sub-01", "sub-03"], dataset=clone)
    shared = group.get_shared_stimulus_metadata()
    assert shared["image_name"].tolist() == [im.name for im in shared_images(CATALOGUE)]
    assert shared.index.tolist() == list(range(len(shared)))


def selected(
    clone: Path, subject: str, include: Includes | None = None, **given: object
) -> set[str]:
    content = Content(clone)
    return {
        content.relative(s.path)
        for s in plan(content, subject, filter_values(**given), include or Includes())
    }


def test_download_filters_as_upstream(clone: Path) -> None:
    glm = "derivatives/glmsingle-tedana/sub-03"
    rois = "derivatives/rois/sub-03"
    mask = "derivatives/anatomical/sub-03/ses-PrismaAnat/anat/sub-03_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
    by_desc = selected(clone, "sub-03", desc="Noiseceiling")
    assert (
        f"{glm}/ses-01/func/sub-03_ses-01_task-images_space-T1w_desc-Noiseceiling_statmap.nii.gz"
        in by_desc
    )
    assert f"{rois}/face/sub-03_space-T1w_res-1pt8_label-FFA1_mask.nii.gz" in by_desc  # no desc
    assert not any("SingletrialBetas" in p for p in by_desc) and mask in by_desc
    by_ses = selected(clone, "sub-03", ses="01")
    assert all("ses-01" in p for p in by_ses - {mask}) and not any(
        p.startswith(rois) for p in by_ses
    )
    assert f"{glm}/ses-01/func/figures/R2.png" in by_ses  # the session from the folder
    averages = selected(clone, "sub-03", ses=["averages"], extension="nii.gz")
    assert f"{glm}/sub-03_task-images_space-T1w_stat-rsquare_desc-R2mean_statmap.nii.gz" in averages
    raw = selected(clone, "sub-03", Includes(raw=True), ses="02", run=1, echo=2, part="mag")
    func = "sub-03/ses-02/func/sub-03_ses-02_task-images_run-01"
    assert f"{func}_echo-2_part-mag_bold.nii.gz" in raw and f"{func}_events.tsv" in raw
    assert f"{func}_echo-1_part-mag_bold.nii.gz" not in raw
    assert not any("run-02" in p or "part-phase" in p for p in raw)
    with pytest.raises(UsageError, match=r"no desc 'noiseceiling'.*did you mean 'Noiseceiling'"):
        selected(clone, "sub-03", desc="noiseceiling")


def test_download_command_gets_the_localizers(clone: Path) -> None:
    run = [
        sys.executable,
        "-m",
        "laion_fmri_datalad.cli",
        "download",
        "--subject",
        "05",
        "--ses",
        "MotionLocBarsSML",
        "--stat",
        "z",
        "--extension",
        "func.gii",
        "--include-localizers",
        "--n-jobs",
        "2",
        "--dataset",
        str(clone),
    ]
    done = subprocess.run(run, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    folder = clone / "derivatives/localizers/sub-05/ses-MotionLocBarsSML/func"
    z_maps = sorted(folder.glob("*_stat-z_statmap.func.gii"))
    # 3 tasks x 3 contrasts x 2 hemispheres, and the pinned brain mask
    assert len(z_maps) == 18 and all(p.exists() for p in z_maps)
    assert done.stdout.startswith("19 files, ") and ": 19 fetched" in done.stdout
    assert not any(p.exists() for p in folder.glob("*_stat-effect_*"))
    again = subprocess.run(run, capture_output=True, text=True)
    assert ": 0 fetched (0 B), 19 already present" in again.stdout
    bad = subprocess.run(
        [*run[:4], "--subject", "05", "--include-raw", "--echo", "4", "--dataset", str(clone)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no echo '4'" in bad.stderr and bad.stderr.count("\n") == 1


def test_stimuli_names_an_image_not_shown_selects_nothing_an_unknown_one_is_refused(
    sub: Subject, design: SubjectDesign
) -> None:
    elsewhere = next(n for n in design.labels("ses-02") if n not in design.labels("ses-01"))
    betas = sub.get_betas("ses-01", roi="FFA1", stimuli=[elsewhere])
    assert betas.shape == (0, int(sub.get_roi_mask("FFA1").sum()))
    shown = design.labels("ses-01")[0]
    assert sub.get_betas("ses-01", roi="FFA1", stimuli=[shown, elsewhere]).shape[0] == (
        design.labels("ses-01").count(shown)
    )
    with pytest.raises(UnknownKeyError, match="no image 'bogus_image'"):
        sub.get_betas("ses-01", roi="FFA1", stimuli=[shown, "bogus_image"])
