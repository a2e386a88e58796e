"""Key layout of the synthetic bucket per DESIGN §2 rev 2: raw sbrefs, anatomical, FreeSurfer,
GLMsingle figures, ROI spellings, localizers and which keys a GET is denied."""

from __future__ import annotations

import gzip
import io
import json
import re

import nibabel as nib
import numpy as np
import pytest
from PIL import Image as PILImage

from laion_fmri_datalad.devserver.fixture import derivatives, raw
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.localizers import TASKS, localizers, run_ids
from laion_fmri_datalad.devserver.fixture.rois import ROI_CATEGORIES, bucket_label
from laion_fmri_datalad.devserver.fixture.spec import (
    SUBJECTS,
    denied_patterns,
    get_spec,
    is_denied,
)

# §2.4, in the bucket's spelling.
ROIS_24 = {
    "retinotopy": "V1v V1d V2v V2d V3v V3d V3A V3B hV4 LO1 LO2 TO1 TO2 VO1 VO2 IPS0 SPCS IPCS EVC",
    "face": "OFA FFA-1 FFA-2 pSTS-faces",
    "body": "EBA FBA",
    "place": "PPA OPA MPA SPL",
    "character": "VWFA-1 VWFA-2 mfs-words pSTS-words",  # pSTS-words: §2.14
    "object": "l-objects v-objects",
    "motion": "MT MST",
    "laion": "laion-general laion-EVC laion-dorsal laion-lateral laion-ventral",
}
LOCALIZER = re.compile(
    r"^derivatives/localizers/sub-01/ses-(?P<ses>[A-Za-z0-9]+)/func/sub-01_ses-(?P=ses)"
    r"_task-(?P<task>[A-Za-z]+)(?:_run-(?P<run>\d\d))?"
    r"(?:_hemi-(?P<hemi>[LR])_space-fsnative|_space-T1w_res-(?P<res>1pt5|1pt8))"
    r"_contrast-(?P<contrast>[A-Za-z]+)_stat-(?P<stat>z|effect)_statmap"
    r"\.(?P<ext>func\.gii|nii\.gz)$"
)


@pytest.fixture(scope="module")
def design() -> SubjectDesign:
    return SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())


def test_roi_bucket_spellings_are_those_of_section_2_4() -> None:
    got = {c: [bucket_label(r) for r in rois] for c, rois in ROI_CATEGORIES.items()}
    assert got == {c: names.split() for c, names in ROIS_24.items()}
    for names in ROIS_24.values():
        for spelled in names.split():
            assert bucket_label(spelled.replace("-", "")) == spelled


def test_sbrefs_have_echo_and_part(design: SubjectDesign) -> None:
    """sub-01's SBRefs have ``part-`` (upstream's code and tests); extra raw runs have
    theirs too. The other form (upstream's docs) is tested below."""
    keys = [o.key for o in raw.subject_raw(design)]
    extra = {f"run-{design.spec.runs + 1:02d}"}
    sbrefs = [k for k in keys if "_sbref." in k and not extra & set(k.split("_"))]
    stem = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01"
    want = {
        f"{stem}_echo-{e}_part-{p}_sbref.{x}"
        for e in (1, 2, 3)
        for p in ("mag", "phase")
        for x in ("nii.gz", "json")
    }
    assert want <= set(sbrefs)
    assert all(re.search(r"_echo-[123]_part-(mag|phase)_sbref\.(nii\.gz|json)$", k) for k in sbrefs)
    sessions, runs = len(design.spec.sessions), design.spec.runs
    assert len(sbrefs) == sessions * runs * 12


def test_sbrefs_without_part_in_one_session() -> None:
    """Upstream's docs name SBRefs ``..._echo-1_sbref`` (no ``part-``): one session of the
    fixture has that form, magnitude only, so the loaders are tested on both."""
    subject, session = raw.SBREF_WITHOUT_PART
    tiny = get_spec("tiny")
    keys = [o.key for o in raw.subject_raw(SubjectDesign(0, subject, tiny, build_catalogue()))]
    theirs = [k for k in keys if f"/{session}/" in k and "_sbref." in k]
    assert theirs and all(re.search(r"_echo-[123]_sbref\.(nii\.gz|json)$", k) for k in theirs)
    assert len(theirs) == tiny.runs * 3 * 2


def test_bold_headers_and_sidecars_agree_on_timing(design: SubjectDesign) -> None:
    """TR 1.9 s in the header's fourth zoom and the sidecar; 160 volumes in sessions 1-5;
    phase sidecars carry Units (the BIDS validator requires both)."""
    objects = {o.key: o.data for o in raw.subject_raw(design)}
    stem = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_echo-2_part-phase_bold"
    image = nib.Nifti1Image.from_bytes(gzip.decompress(objects[f"{stem}.nii.gz"]))
    sidecar = json.loads(objects[f"{stem}.json"])
    assert image.shape[3] == 160 and image.header.get_zooms()[3] == pytest.approx(1.9)
    assert sidecar["RepetitionTime"] == 1.9 and sidecar["Units"] == "rad"
    assert raw.volumes("ses-06") == 163


def test_events_follow_the_task_timing(design: SubjectDesign) -> None:
    """A trial every 3.0 s after the 12 s baseline; trial types new, old and blank; every
    image trial of the betas' schedule appears once; blank trials have no image."""
    rows = raw.events_rows(design, "ses-01", "run-01")
    onsets = [float(str(r["onset"])) for r in rows]
    assert onsets[0] == 12.0 and set(np.diff(onsets).round(6)) == {3.0}
    assert {r["trial_type"] for r in rows} == {"new", "old", "blank"}
    images = [r["stim_name"] for r in rows if r["trial_type"] != "blank"]
    scheduled = [t.image.name for t in design.schedule["ses-01"] if t.run == "run-01"]
    assert images == scheduled
    assert all(
        r["stim_name"] == "blank" and r["response"] == "n/a"
        for r in rows
        if r["trial_type"] == "blank"
    )
    first = {r["stim_name"] for r in rows if r["trial_type"] == "new"}
    assert len(first) == sum(1 for r in rows if r["trial_type"] == "new")


def test_anatomical_names_and_a_sidecar_per_image(design: SubjectDesign) -> None:
    objects = {o.key: o.data for o in derivatives.anatomical(design)}
    base = "derivatives/anatomical/sub-01/ses-PrismaAnat/anat/sub-01_ses-PrismaAnat_space-T1w"
    images = {
        f"{base}{res}_{suffix}.nii.gz"
        for res in ("", "_res-1pt8")
        for suffix in ("T1w", "T2w", "desc-brain_mask")
    }
    assert {k for k in objects if k.endswith(".nii.gz")} == images
    sidecars = {k for k in objects if k.endswith(".json")}
    assert sidecars == {k.removesuffix(".nii.gz") + ".json" for k in images}
    assert all(isinstance(json.loads(objects[k]), dict) for k in sidecars)


def test_stream_descriptions_include_anatomical_and_freesurfer() -> None:
    objects = {o.key: json.loads(o.data) for o in derivatives.stream_descriptions()}
    for stream in ("anatomical", "freesurfer"):
        description = objects[f"derivatives/{stream}/dataset_description.json"]
        assert description["DatasetType"] == "derivative" and description["Name"]


def test_freesurfer_has_transforms_labels_stats_and_flat_patches(design: SubjectDesign) -> None:
    objects = {o.key: o.data for o in derivatives.freesurfer(design)}
    base = "derivatives/freesurfer/sub-01"
    assert f"{base}/mri/transforms/talairach.lta" in objects
    assert objects[f"{base}/mri/transforms/talairach.xfm"].startswith(b"MNI Transform File")
    folders = {k.removeprefix(base + "/").split("/")[0] for k in objects}
    assert {"label", "mri", "stats", "surf"} <= folders
    assert not any(re.search(r"(sub|ses|space|hemi)-", k.removeprefix(base)) for k in objects)
    n_vertices = len(design.surface[0])
    for hemi in ("lh", "rh"):
        patch = objects[f"{base}/surf/{hemi}.full.flat.patch.3d"]
        header = np.frombuffer(patch[:8], dtype=">i4")
        assert header.tolist() == [-1, n_vertices]
        assert len(patch) == 8 + n_vertices * 16


def test_glmsingle_figures_are_pngs_per_session(design: SubjectDesign) -> None:
    objects = list(derivatives.glmsingle_figures(design))
    by_session: dict[str, int] = {}
    for obj in objects:
        found = re.match(
            r"^derivatives/glmsingle-tedana/sub-01/(ses-\d\d)/func/figures/[A-Za-z0-9]+\.png$",
            obj.key,
        )
        assert found is not None, obj.key
        by_session[found[1]] = by_session.get(found[1], 0) + 1
        assert PILImage.open(io.BytesIO(obj.data)).format == "PNG"
    assert set(by_session) == set(design.spec.sessions) and min(by_session.values()) >= 3


def test_localizer_keys_cover_every_session_task_contrast_and_kind(design: SubjectDesign) -> None:
    parsed = []
    for obj in localizers(design):
        found = LOCALIZER.match(obj.key)
        assert found is not None, obj.key
        parsed.append(found.groupdict())
    sessions = {(p["ses"], p["task"]) for p in parsed}
    assert sessions == {
        ("4BarScreenfLoc", "floc"),
        ("31", "oloc"),
        ("MotionLocBarsSML", "MotionLoc"),
        ("MotionLocBarsSML", "MotionLeft"),
        ("MotionLocBarsSML", "MotionRight"),
    }
    cats = ("face", "body", "place", "object", "character")
    z = {
        "floc": {f"{c}VsOthers" for c in cats}
        | {f"{c}VsBaseline" for c in cats}
        | {"faceVsObject", "bodyVsObject", "placeVsObject", "characterVsFace"},
        "oloc": {"objectVsScrambled", "objectVsBaseline", "scrambledVsBaseline"},
        **{
            task: {"movingVsStatic", "movingVsBaseline", "staticVsBaseline"}
            for task in ("MotionLoc", "MotionLeft", "MotionRight")
        },
    }
    for task, contrasts in z.items():
        got = {p["contrast"] for p in parsed if p["task"] == task and p["stat"] == "z"}
        assert got == contrasts, task
    assert all(p["run"] is None for p in parsed if p["stat"] == "z")
    effect = [p for p in parsed if p["stat"] == "effect"]
    assert effect and all(p["run"] is not None for p in effect)
    assert {p["task"] for p in effect} == {"floc", "oloc", "MotionLeft", "MotionRight"}
    for p in parsed:  # every map on both hemispheres and both grids
        spaces = {
            (q["hemi"], q["res"], q["ext"])
            for q in parsed
            if (q["task"], q["run"], q["contrast"], q["stat"])
            == (p["task"], p["run"], p["contrast"], p["stat"])
        }
        assert spaces == {
            ("L", None, "func.gii"),
            ("R", None, "func.gii"),
            (None, "1pt5", "nii.gz"),
            (None, "1pt8", "nii.gz"),
        }


def test_localizer_runs_at_real_scale_and_four_oloc_runs() -> None:
    real, tiny = get_spec("real"), get_spec("tiny")
    assert {t.task: len(run_ids(t, real)) for t in TASKS} == {
        "floc": 8,
        "oloc": 4,
        "MotionLoc": 4,
        "MotionLeft": 4,
        "MotionRight": 4,
    }
    oloc = next(t for t in TASKS if t.task == "oloc")
    assert {s: len(run_ids(oloc, real)) for s in SUBJECTS} == dict.fromkeys(SUBJECTS, 4)
    floc = next(t for t in TASKS if t.task == "floc")
    assert len(run_ids(floc, tiny)) == 2 and len(run_ids(oloc, tiny)) == 1
    assert all(len(run_ids(t, tiny)) >= 1 for t in TASKS)


def _policy_denies(key: str) -> bool:
    """What an S3 bucket policy with ``denied_patterns()`` denies ('*' is any run)."""
    return any(
        re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), key)
        for pattern in denied_patterns()
    )


OLOC = "derivatives/localizers/sub-03/ses-31/func/sub-03_ses-31_task-oloc"
DENIAL_CASES = [
    ("sub-01/ses-31/func/sub-01_ses-31_task-images_run-01_events.tsv", True),
    ("sub-07/ses-34/fmap/sub-07_ses-34_run-01_phasediff.nii.gz", True),
    (
        "derivatives/glmsingle-tedana/sub-05/ses-32/func/sub-05_ses-32_task-images_"
        "desc-SingletrialBetas_trials.tsv",
        True,
    ),
    ("derivatives/glmsingle-tedana/sub-01/ses-31/func/figures/R2.png", True),
    (f"{OLOC}_contrast-objectVsScrambled_stat-z_statmap.nii.gz", False),
    (
        f"{OLOC}_run-02_hemi-L_space-fsnative_contrast-objectVsBaseline_stat-effect_statmap.func.gii",
        False,
    ),
    (
        "derivatives/localizers/sub-03/ses-32/func/sub-03_ses-32_task-oloc_contrast-x_stat-z_"
        "statmap.nii.gz",
        True,
    ),
    (
        "derivatives/localizers/sub-01/ses-4BarScreenfLoc/func/sub-01_ses-4BarScreenfLoc_task-floc"
        "_contrast-faceVsOthers_stat-z_statmap.nii.gz",
        False,
    ),
    ("sub-01/ses-30/func/sub-01_ses-30_task-images_run-12_events.tsv", False),
    ("stimuli/task-images_stimuli.h5", True),
    ("stimuli/task-images_metadata.csv", False),
    ("archive/embeddings/v1/task-images_desc-CLIP_embeddings.h5", False),
]


@pytest.mark.parametrize(("key", "denied"), DENIAL_CASES)
def test_denied_keys_and_the_public_object_localizer(key: str, denied: bool) -> None:
    assert is_denied(key) is denied
    assert _policy_denies(key) is denied


def test_every_tiny_localizer_key_is_denied_by_policy_exactly_when_held_out(
    design: SubjectDesign,
) -> None:
    keys = [o.key for o in localizers(design)]
    oloc = [k for k in keys if "/ses-31/" in k]
    assert oloc and all("_task-oloc_" in k for k in oloc)
    assert not any(_policy_denies(k) or is_denied(k) for k in keys)
    glm = [o.key for o in derivatives.glmsingle_figures(design) if "/ses-31/" in o.key]
    assert glm and all(_policy_denies(k) and is_denied(k) for k in glm)


def test_model_h5_holds_the_betas_voxel_major_as_the_bucket_does() -> None:
    """``betasmd``: (n_voxels, 1, 1, n_trials) float32, contiguous (no chunks), after the
    diagnostics; row i is the anatomical brain mask's i-th voxel in C order, column j the
    trial table's row j; the same float32 values as the NIfTI betas, NaNs included."""
    import h5py

    design = SubjectDesign(0, "sub-03", get_spec("tiny"), build_catalogue())
    objects = {o.key: o.data for o in derivatives.glmsingle(design)}
    stem = "derivatives/glmsingle-tedana/sub-03/ses-02/func/sub-03_ses-02_task-images"
    model = objects[f"{stem}_space-T1w_desc-GLMsingle_model.h5"]
    with h5py.File(io.BytesIO(model), "r") as handle:
        betasmd = handle["betasmd"]
        n_trials = len(design.schedule["ses-02"])
        assert betasmd.shape == (int(design.brain_mask.sum()), 1, 1, n_trials)
        assert betasmd.chunks is None and betasmd.dtype == np.float32
        assert betasmd.compression is None
        offset = betasmd.id.get_offset()
        diagnostics = [handle[name].id.get_offset() for name in ("HRFindex", "R2", "meanvol")]
        assert offset is not None and offset > max(d for d in diagnostics if d is not None)
        rows = betasmd[:, 0, 0, :]
    raw = np.frombuffer(model, dtype="<f4", count=rows.size, offset=offset).reshape(rows.shape)
    np.testing.assert_array_equal(raw, rows)  # contiguous: each voxel's trials side by side
    nifti = nib.Nifti1Image.from_bytes(
        gzip.decompress(
            objects[f"{stem}_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"]
        )
    )
    volume = np.asarray(nifti.dataobj, dtype=np.float32)
    np.testing.assert_array_equal(rows, volume[design.brain_mask])  # NaNs in the same places
    assert np.isnan(rows).any()
