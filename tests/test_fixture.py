"""The synthetic bucket is internally consistent and matches the real layout's facts."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.bucket import Manifest, read_manifest, write_fixture
from laion_fmri_datalad.devserver.fixture.catalogue import OOD_TYPES
from laion_fmri_datalad.devserver.fixture.history import changes_since_launch
from laion_fmri_datalad.devserver.fixture.rois import ROI_CATEGORIES, bucket_label
from laion_fmri_datalad.devserver.fixture.spec import SUBJECTS, is_denied
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.imagenames import code_of, owner_of

GLM = "derivatives/glmsingle-tedana"


def objects(fixture_dir: Path) -> Path:
    return fixture_dir / "objects"


def metadata(fixture_dir: Path) -> pd.DataFrame:
    return pd.read_csv(objects(fixture_dir) / "stimuli/task-images_metadata.csv")


def trial_tables(fixture_dir: Path) -> list[Path]:
    return sorted((objects(fixture_dir) / GLM).rglob("*_desc-SingletrialBetas_trials.tsv"))


def test_catalogue_has_the_real_image_counts(fixture_dir: Path) -> None:
    meta = metadata(fixture_dir)
    assert len(meta) == 25_052
    shared = meta[meta.unique_or_shared == "shared"]
    assert len(shared) == 1_492
    assert (shared.n_reps == 12).sum() == 881
    assert (shared.n_reps == 4).sum() == 611
    ood = shared[shared.dataset == "OOD"]
    assert len(ood) == 371
    counts = ood.image_name.str.extract(r"^shared_4rep_OOD_([a-z-]+)_")[0].value_counts()
    assert counts.to_dict() == OOD_TYPES
    assert set(meta.dataset) == {"LAION", "THINGSplus", "THINGS", "NSD", "OOD"}
    for subject in SUBJECTS:
        unique = meta[meta.participant == subject]
        assert len(unique) == 4_712
        assert unique.image_name.str.endswith(f"_{code_of(subject)}.jpg").all()
        assert {owner_of(n) for n in unique.image_name} == {subject}
    assert meta.image_name.is_unique  # hence unique images are disjoint across subjects


def test_every_trial_label_exists_in_the_stimulus_metadata(fixture_dir: Path) -> None:
    names = set(metadata(fixture_dir).image_name)
    tables = trial_tables(fixture_dir)
    assert len(tables) == len(SUBJECTS) * 3  # two public sessions and one denied
    for table in tables:
        labels = pd.read_csv(table, sep="\t").label
        assert set(labels) <= names, table.name


def test_betas_have_one_volume_per_trial_table_row(fixture_dir: Path) -> None:
    for table in trial_tables(fixture_dir):
        trials = pd.read_csv(table, sep="\t")
        # the bucket's numbering: from 0 again in every run (DESIGN §2.14)
        assert trials.beta_index.tolist() == trials.groupby("run").cumcount().tolist()
        assert trials.run.nunique() > 1 and trials.beta_index.max() < len(trials) - 1
        betas_name = table.name.replace(
            "_desc-SingletrialBetas_trials.tsv",
            "_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz",
        )
        image = nib.load(table.parent / betas_name)
        assert image.shape[3] == len(trials)
        assert image.get_data_dtype() == np.float32


def test_events_list_the_same_images_as_the_trial_table(fixture_dir: Path) -> None:
    table = trial_tables(fixture_dir)[0]  # sub-01 ses-01
    trials = pd.read_csv(table, sep="\t")
    run1 = trials[trials.run == 1]
    events = pd.read_csv(
        objects(fixture_dir) / "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv",
        sep="\t",
    )
    shown = events[events.trial_type != "blank"]  # blank trials have no betas
    assert list(shown.stim_name) == list(run1.label)
    assert set(events.trial_type) == {"new", "old", "blank"}
    assert list(events.columns[:4]) == ["onset", "duration", "trial_number", "trial_type"]


def test_shared_images_are_seen_by_every_subject(fixture_dir: Path) -> None:
    shared_by_subject = []
    for subject in SUBJECTS:
        table = objects(fixture_dir) / (
            f"{GLM}/{subject}/ses-01/func/{subject}_ses-01_task-images_"
            "desc-SingletrialBetas_trials.tsv"
        )
        labels = pd.read_csv(table, sep="\t").label
        shared_by_subject.append(set(labels[labels.str.startswith("shared_")]))
        unique = labels[labels.str.startswith("unique_")]
        assert len(unique) and {owner_of(n) for n in unique} == {subject}
    assert all(s == shared_by_subject[0] and s for s in shared_by_subject)


def test_roi_masks_lie_inside_the_brain_mask(fixture_dir: Path) -> None:
    for subject in SUBJECTS:
        brain = (
            nib.load(
                objects(fixture_dir) / f"derivatives/anatomical/{subject}/ses-PrismaAnat/anat/"
                f"{subject}_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
            )
            .get_fdata()
            .astype(bool)
        )
        root = objects(fixture_dir) / f"derivatives/rois/{subject}"
        assert sorted(p.name for p in root.iterdir()) == sorted(ROI_CATEGORIES)
        for category, rois in ROI_CATEGORIES.items():
            for roi in rois:
                path = (
                    root
                    / category
                    / (f"{subject}_space-T1w_res-1pt8_label-{bucket_label(roi)}_mask.nii.gz")
                )
                mask = nib.load(path).get_fdata().astype(bool)
                assert mask.shape == brain.shape
                assert mask.any() and not (mask & ~brain).any(), path.name


def test_bucket_keys_keep_hyphenated_roi_labels(manifest: Manifest) -> None:
    keys = {e.key for e in manifest.objects}
    assert "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz" in keys
    assert (
        "derivatives/rois/sub-03/face/sub-03_hemi-L_space-fsnative_label-pSTS-faces_mask.func.gii"
        in keys
    )
    assert not any("label-FFA1" in k for k in keys)


def test_noise_ceilings_are_in_percent(fixture_dir: Path) -> None:
    maps = sorted((objects(fixture_dir) / GLM).rglob("*desc-Noiseceiling*_statmap.nii.gz"))
    assert len(maps) == len(SUBJECTS) * (3 + 3)  # per session, and 4rep/12rep/Allrep
    for path in maps:
        data = nib.load(path).get_fdata()
        assert data.min() >= 0.0 and 1.0 < data.max() <= 100.0


def test_embeddings_are_row_aligned_with_the_metadata(fixture_dir: Path) -> None:
    names = list(metadata(fixture_dir).image_name)
    for model in ("CLIP", "DINOv2", "PEcore", "SigLIP2"):
        path = objects(fixture_dir) / f"stimuli/task-images_desc-{model}_embeddings.h5"
        with h5py.File(path) as handle:
            assert handle["embedding"].shape[0] == 25_052
            assert handle["embedding"].dtype == np.float16
            assert [n.decode() for n in handle["image_ids"][:]] == names
            assert handle["valid"].dtype == bool


def test_gated_images_are_encoded_pictures_in_metadata_order(fixture_dir: Path) -> None:
    from PIL import Image

    names = list(metadata(fixture_dir).image_name)
    with h5py.File(objects(fixture_dir) / "stimuli/task-images_stimuli.h5") as handle:
        images = handle["images"]
        assert len(images) == len(names)
        for index in (0, 1121, 1122, 25_051):
            picture = Image.open(io.BytesIO(images[index].tobytes()))
            assert picture.format == ("PNG" if names[index].endswith(".png") else "JPEG")
            title = picture.info.get("Title") or picture.info["comment"].decode()
            assert title == names[index]


def test_large_objects_are_flagged_for_multipart_upload(manifest: Manifest) -> None:
    multipart = [e for e in manifest.objects if e.multipart]
    assert len(multipart) == 2
    assert all(e.size > 5 * 1024 * 1024 for e in multipart)
    overwritten = [e.key for e in manifest.objects if e.previous]
    assert any(k.endswith("_events.tsv") for k in overwritten)
    assert any(k.endswith("SingletrialBetas_statmap.nii.gz") for k in overwritten)
    assert "stimuli/task-images_stimuli.h5" in manifest.denied


def _policy_denies(patterns: list[str], key: str) -> bool:
    return any(
        re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), key)
        for pattern in patterns
    )


def test_denied_patterns_deny_exactly_the_held_out_keys(manifest: Manifest) -> None:
    keys = [e.key for e in manifest.objects]
    denied = {k for k in keys if _policy_denies(manifest.denied, k)}
    assert denied == {k for k in keys if is_denied(k)}
    ses31 = [k for k in keys if "/ses-31/" in k]
    oloc = [k for k in ses31 if k.startswith("derivatives/localizers/")]
    assert oloc and all("_task-oloc_" in k for k in oloc)
    assert not denied & set(oloc)  # public despite ses-31
    others = set(ses31) - set(oloc)
    assert any(k.startswith("sub-") for k in others)
    assert any(k.startswith("derivatives/glmsingle-tedana/") for k in others)
    assert others <= denied
    assert "stimuli/task-images_stimuli.h5" in denied


def test_localizer_maps_are_readable_and_peak_in_their_rois(fixture_dir: Path) -> None:
    func = objects(fixture_dir) / "derivatives/localizers/sub-01/ses-4BarScreenfLoc/func"
    stem = "sub-01_ses-4BarScreenfLoc_task-floc"
    volume = nib.load(
        func / f"{stem}_space-T1w_res-1pt8_contrast-faceVsOthers_stat-z_statmap.nii.gz"
    )
    ffa = nib.load(
        objects(fixture_dir) / "derivatives/rois/sub-01/face/"
        "sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz"
    )
    z = volume.get_fdata()
    assert z.shape == ffa.shape
    assert z[ffa.get_fdata() > 0].mean() > z[ffa.get_fdata() == 0].mean() + 2
    surface = nib.load(
        func / f"{stem}_run-01_hemi-L_space-fsnative_contrast-faceVsBaseline_stat-effect_"
        "statmap.func.gii"
    )
    assert surface.darrays[0].data.dtype == np.float32


def test_captions_and_segmentations_files(fixture_dir: Path) -> None:
    stimuli = objects(fixture_dir) / "stimuli"
    captions = pd.read_csv(stimuli / "task-images_desc-captions.csv", keep_default_na=False)
    names = list(metadata(fixture_dir).image_name)
    per_image = captions.groupby("image_name", sort=False).size()
    assert set(per_image.index) == set(names)
    shared = set(names[:1492])
    assert (per_image[per_image.index.isin(shared)] == 6).all()
    assert (per_image[~per_image.index.isin(shared)] == 4).all()
    table = pd.read_csv(stimuli / "task-images_desc-segmentations_metadata.csv")
    with h5py.File(stimuli / "task-images_desc-segmentations.h5") as handle:
        assert list(handle) == ["masks"]
        masks = handle["masks"]
        assert masks.dtype == np.uint8 and masks.shape[0] == len(table)
        assert masks.compression == "gzip" and masks.shuffle
        assert set(table.image_name) == shared
        assert list(table.mask_row) == list(range(len(table)))


def test_archive_holds_the_launch_embeddings(fixture_dir: Path) -> None:
    for model in ("CLIP", "DINOv2", "PEcore", "SigLIP2"):
        name = f"task-images_desc-{model}_embeddings.h5"
        with (
            h5py.File(objects(fixture_dir) / "archive/embeddings/v1" / name) as old,
            h5py.File(objects(fixture_dir) / "stimuli" / name) as new,
        ):
            assert old["embedding"].dtype == new["embedding"].dtype == np.float16
            assert list(old["image_ids"][:]) == list(new["image_ids"][:])
            changed = (old["embedding"][:] != new["embedding"][:]).any(axis=1)
            assert changed.sum() == 116
            ids = [n.decode() for n in new["image_ids"][:]]
            assert all(ids[i].startswith("shared_4rep_OOD_") for i in np.flatnonzero(changed))
        previous = fixture_dir / "previous/stimuli" / name
        assert (
            previous.read_bytes()
            == (objects(fixture_dir) / "archive/embeddings/v1" / name).read_bytes()
        )  # the launch version, overwritten on a versioned bucket


def test_launch_state_differs_from_current_by_the_changes_since_launch(
    fixture_dir: Path, manifest: Manifest, tmp_path: Path
) -> None:
    launch = write_fixture(tmp_path / "launch", "tiny", seed=0, state="launch")
    assert launch.state == "launch" and manifest.state == "current"
    assert read_manifest(tmp_path / "launch").state == "launch"
    launch_keys = {e.key for e in launch.objects}
    current_keys = {e.key for e in manifest.objects}
    assert current_keys - launch_keys == {
        f"archive/embeddings/v1/task-images_desc-{m}_embeddings.h5"
        for m in ("CLIP", "DINOv2", "PEcore", "SigLIP2")
    }
    assert launch_keys <= current_keys
    differ = {
        k
        for k in launch_keys
        if (tmp_path / "launch/objects" / k).read_bytes() != (objects(fixture_dir) / k).read_bytes()
    }
    changes = changes_since_launch(0, "tiny")
    assert {c.key for c in changes} == differ | (current_keys - launch_keys)
    for change in changes:
        assert change.data == (objects(fixture_dir) / change.key).read_bytes()
    with pytest.raises(UsageError, match="unknown state 'old'"):
        write_fixture(tmp_path / "x", "tiny", state="old")


def test_raw_sbrefs_and_anatomical_sidecars(manifest: Manifest) -> None:
    keys = {e.key for e in manifest.objects}
    sbref = [k for k in keys if k.endswith("_sbref.nii.gz")]
    assert sbref and all(re.search(r"_echo-[123](_part-(mag|phase))?_sbref", k) for k in sbref)
    # both names upstream uses: with part- (its code) and without (its docs, one session here)
    assert any("_part-" not in k for k in sbref) and any("_part-mag" in k for k in sbref)
    anat = [k for k in keys if k.startswith("derivatives/anatomical/") and k.endswith(".nii.gz")]
    assert len(anat) == len(SUBJECTS) * 6
    assert all(k.removesuffix(".nii.gz") + ".json" in keys for k in anat)
    for stream in ("anatomical", "freesurfer", "localizers"):
        assert any(k.startswith(f"derivatives/{stream}/sub-") for k in keys)
    assert "derivatives/anatomical/dataset_description.json" in keys
    assert "derivatives/freesurfer/dataset_description.json" in keys


def _tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_generation_is_deterministic_from_the_seed(fixture_dir: Path, tmp_path: Path) -> None:
    write_fixture(tmp_path / "again", "tiny", seed=0)
    assert _tree_digest(tmp_path / "again") == _tree_digest(fixture_dir)
    write_fixture(tmp_path / "other", "tiny", seed=1)
    assert _tree_digest(tmp_path / "other") != _tree_digest(fixture_dir)


def test_unknown_scale_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown scale 'huge'; allowed: real, tiny"):
        write_fixture(tmp_path / "x", "huge")


def test_unwritable_output_directory_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(UsageError, match="not writable"):
        write_fixture(blocker / "fixture", "tiny")


def test_non_fixture_directory_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.txt").write_text("keep me")
    with pytest.raises(UsageError, match="not empty and holds no fixture"):
        write_fixture(tmp_path / "data", "tiny")
    assert (tmp_path / "data" / "precious.txt").read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["data"]  # no staging left behind
