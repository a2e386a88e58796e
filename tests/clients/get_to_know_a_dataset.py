# The code cells of upstream's tutorial, get-to-know-a-dataset.ipynb (the notebook that pins
# laion-fmri at a9db514 and runs against the live bucket), in order and unchanged but for:
# the %pip line of cell 1 (the environment is this project's). The live bucket's constants
# (the region's URL, the 30 sessions, FFA1's 222 voxels) are replaced by the fixture's in
# tests/test_upstream_clients.py, which runs this file through `laion-fmri-datalad compat`.
# Not formatted or linted: it is upstream's text.

# %% cell 1 (74360128)
# requirements.txt
# laion-fmri @ https://github.com/ViCCo-Group/LAION-fMRI/archive/a9db51487c25fc3bded102e1f03d7bc2b5dc3cd1.zip
# awscli==1.45.2
# numpy==2.4.4
# pandas==3.0.2
# nibabel==5.4.2
# nilearn==0.13.1
# matplotlib==3.10.9
# h5py==3.16.0
# scipy==1.17.1
# scikit-learn==1.8.0
# fsspec[http]==2026.7.0
# jupyterlab>=4,<5

from pathlib import Path
import json
import os

import fsspec
import h5py
import matplotlib.pyplot as plt
from matplotlib.colors import PowerNorm
import nibabel as nib
from nilearn import plotting
import numpy as np
import pandas as pd
from IPython.display import display
from scipy.cluster.hierarchy import leaves_list, linkage
from scipy.spatial.distance import pdist, squareform
from scipy.stats import pearsonr
from sklearn.linear_model import RidgeCV
from sklearn.metrics import make_scorer
from sklearn.preprocessing import StandardScaler

from laion_fmri import dataset_initialize, load_subject, load_embeddings
from laion_fmri.discovery import get_subjects, get_rois, inspect_bucket
from laion_fmri.download import download, download_embeddings

bucket = "laion-fmri"
region = "us-west-2"
subject = "sub-01"
session = "ses-01"
sessions = [f"ses-{i:02d}" for i in range(1, 31)]
data_dir = Path(os.environ.get("LAION_FMRI_TUTORIAL_DATA_DIR", "laion_fmri_tutorial_data")).resolve()
data_dir.mkdir(parents=True, exist_ok=True)

plt.rcParams.update({"font.size": 11, "figure.dpi": 110,
                     "axes.spines.top": False, "axes.spines.right": False})

# %% cell 2 (ec644a19)
inspect_bucket()

# %% cell 3 (9eac0b85)
subjects = get_subjects()
print("Participants:", ", ".join(subjects))
print("Face-selective ROIs:", get_rois(subject=subject, category="face"))
assert subject in subjects

# %% cell 4 (512158c4)
dataset_initialize(str(data_dir))
download(subject, ses=session, desc="R2", extension=["nii.gz", "json"],
         include_anatomical=True, n_jobs=4)
download(subject, ses=sessions, suffix="trials", extension="tsv", n_jobs=4)
sub = load_subject(subject)
print("Local sessions:", sub.get_sessions())

# %% cell 5 (51ce58a8)
trials = sub.get_trial_info(session=session)
anat_img = nib.load(sub.get_t1w(res="1pt8"))
mask_img = nib.load(sub.get_anatomical_brain_mask(res="1pt8"))

session_dir = data_dir / "derivatives" / "glmsingle-tedana" / subject / session / "func"
r2_stem = f"{subject}_{session}_task-images_space-T1w_stat-rsquare_desc-R2_statmap"
r2_img = nib.load(session_dir / f"{r2_stem}.nii.gz")
r2_metadata = json.loads((session_dir / f"{r2_stem}.json").read_text())

assert r2_img.shape == anat_img.shape == mask_img.shape
assert np.allclose(r2_img.affine, anat_img.affine)
assert np.allclose(r2_img.affine, mask_img.affine)
assert "label" in trials.columns and trials["label"].notna().all()
print("Volume shape:", r2_img.shape)
print("Voxel size (mm):", r2_img.header.get_zooms())
print("R² units:", r2_metadata["Units"])
print(f"{len(trials):,} trials; {trials['label'].nunique():,} distinct labels")
display(trials.head())

# %% cell 6 (f8f7e93c)
brain_mask = sub.get_brain_mask(source="anatomical").reshape(mask_img.shape)
assert np.array_equal(brain_mask, mask_img.get_fdata() > 0)
r2 = r2_img.get_fdata(dtype=np.float32)
finite_in_brain = brain_mask & np.isfinite(r2)
assert finite_in_brain.any()
r2_display = nib.Nifti1Image(np.where(finite_in_brain, r2, 0), r2_img.affine)

view = plotting.plot_stat_map(
    r2_display, bg_img=anat_img, display_mode="z", cut_coords=[-20, 0, 20],
    threshold=10, cmap="viridis", vmin=0, vmax=100, symmetric_cbar=False,
    title=f"{subject} / {session}: GLMsingle R² (%)", colorbar=True,
    cbar_tick_format="%.0f",
)
plt.show()

fig, ax = plt.subplots(figsize=(7, 3.5), constrained_layout=True)
ax.hist(r2[finite_in_brain], bins=60, color="#376a95")
ax.set(xlabel="GLMsingle R² (%)", ylabel="Voxels",
       title=f"{subject} / {session}: finite R² values within the brain mask")
plt.show()

# %% cell 7 (d577cc13)
download_embeddings(models="CLIP")
voxel_indices = np.flatnonzero(sub.get_roi_mask("FFA1", mask_source="anatomical"))
assert len(voxel_indices) == 222
http = fsspec.filesystem("http")
base_url = f"https://{bucket}.s3.{region}.amazonaws.com/"
roi_cache = data_dir / "ffa_h5"
roi_cache.mkdir(exist_ok=True)


def read_roi_session(session_id):
    stem = f"{subject}_{session_id}_task-images"
    prefix = f"derivatives/glmsingle-tedana/{subject}/{session_id}/func/"
    info = sub.get_trial_info(session=session_id)
    # beta_index starts at zero again in each run; rows follow acquisition time.
    assert info["run"].is_monotonic_increasing
    assert np.array_equal(info["beta_index"], info.groupby("run").cumcount())
    url = base_url + prefix + stem + "_space-T1w_desc-GLMsingle_model.h5"
    cache = roi_cache / f"{subject}_{session_id}_FFA-1.npz"
    if cache.exists():
        with np.load(cache) as saved:
            assert np.array_equal(saved["voxel_indices"], voxel_indices)
            assert str(saved["source"]) == url
            values = saved["betas"]
    else:
        with http.open(url, "rb", block_size=16384) as remote:
            with h5py.File(remote, "r") as model_file:
                dataset = model_file["betasmd"]
                assert dataset.shape == (brain_mask.sum(), 1, 1, len(info))
                # These files store each voxel's trials contiguously.
                assert dataset.chunks is None
                offset, dtype = dataset.id.get_offset(), dataset.dtype
                assert offset is not None
        groups = np.split(voxel_indices, np.flatnonzero(np.diff(voxel_indices) > 8) + 1)
        row_bytes = len(info) * dtype.itemsize
        starts = [offset + int(g[0]) * row_bytes for g in groups]
        ends = [offset + (int(g[-1]) + 1) * row_bytes for g in groups]
        blocks = http.cat_ranges([url] * len(groups), starts, ends,
                                 on_error="raise", batch_size=16)
        values = np.concatenate([
            np.frombuffer(block, dtype=dtype).reshape(-1, len(info))[g - g[0]]
            for block, g in zip(blocks, groups)
        ]).T
        np.savez_compressed(cache, betas=values,
                            voxel_indices=voxel_indices, source=url)
    assert values.shape == (len(info), len(voxel_indices))
    return values, info



session_data = []
for i, session_id in enumerate(sessions, 1):
    session_data.append(read_roi_session(session_id))
    if i % 10 == 0:
        print(f"Loaded {i}/30 sessions")
betas = np.concatenate([values for values, _ in session_data])
trials = pd.concat([info for _, info in session_data], ignore_index=True)
print(f"Loaded {len(trials):,} trials × {betas.shape[1]} FFA-1 voxels across 30 sessions")

# %% cell 8 (53babf45)
shared_natural = (
    trials["label"].str.startswith("shared_")
    & ~trials["label"].str.startswith("shared_4rep_OOD_")
)
response_table = pd.DataFrame(betas[shared_natural]).groupby(
    trials.loc[shared_natural, "label"].to_numpy(), sort=True
)
responses = response_table.mean()
image_ids = responses.index.to_numpy()
Y = responses.to_numpy(dtype=np.float64)  # images × voxels

with load_embeddings(models="CLIP") as features:
    X = features.get("CLIP", image_ids).astype(np.float64)

assert len(set(image_ids)) == len(image_ids) == len(X) == len(Y)
assert np.isfinite(X).all()
print(f"Aligned data: {len(image_ids)} images, {X.shape[1]} features")
display(response_table.size().value_counts().sort_index().rename_axis(
    "Presentations per image").to_frame("Images"))

# %% cell 9 (77a12b68)
train_idx = np.arange(0, len(image_ids), 2)
test_idx = np.arange(1, len(image_ids), 2)
assert set(image_ids[train_idx]).isdisjoint(image_ids[test_idx])

trial_groups = [np.flatnonzero(trials["label"].to_numpy() == name)
                for name in image_ids[train_idx]]
assert all(len(group) >= 2 for group in trial_groups)
first_half = np.array([np.mean(betas[group[::2]], axis=0) for group in trial_groups])
second_half = np.array([np.mean(betas[group[1::2]], axis=0) for group in trial_groups])
repeat_r = pearsonr(first_half, second_half, axis=0).statistic
valid_voxels = (
    (repeat_r > 0.2)
    & np.isfinite(Y[train_idx]).all(axis=0)
    & (np.std(Y[train_idx], axis=0) > 0)
)
X_train, X_test = X[train_idx], X[test_idx]
Y_train = Y[train_idx][:, valid_voxels]
Y_test = Y[test_idx][:, valid_voxels]
complete_test_images = np.isfinite(Y_test).all(axis=1)
print(f"Excluded test images with missing responses: {(~complete_test_images).sum()}")
X_test, Y_test = X_test[complete_test_images], Y_test[complete_test_images]
test_image_ids = image_ids[test_idx][complete_test_images]
assert len(X_train) >= 3 and len(X_test) >= 3 and Y_train.shape[1] >= 2
print(f"Train: {len(X_train)} images; test: {len(X_test)} images; reliable voxels: {Y_train.shape[1]}")

# %% cell 10 (71866d2a)
def correlation_score(observed, predicted):
    observed = observed - observed.mean()
    predicted = predicted - predicted.mean()
    denominator = np.linalg.norm(observed) * np.linalg.norm(predicted)
    return float(observed @ predicted / denominator) if denominator > 0 else 0.0

scaler = StandardScaler()
X_train_scaled = scaler.fit_transform(X_train)
X_test_scaled = scaler.transform(X_test)

encoder = RidgeCV(
    alphas=[0.1, 1, 10, 100, 1000, 10000, 100000],
    alpha_per_target=True,
    scoring=make_scorer(correlation_score),
)
encoder.fit(X_train_scaled, Y_train)
predicted_betas = encoder.predict(X_test_scaled)

voxel_r = pearsonr(Y_test, predicted_betas, axis=0).statistic
print(f"Median held-out voxel correlation: {np.median(voxel_r):.3f}")
print(f"Correlation of mean FFA responses: {pearsonr(Y_test.mean(axis=1), predicted_betas.mean(axis=1)).statistic:.3f}")

# %% cell 11 (a0f25b15)
response_mean = Y_train.mean(axis=0)
response_std = Y_train.std(axis=0)
measured_display = (Y_test - response_mean) / response_std
predicted_display = (predicted_betas - response_mean) / response_std
image_order = np.argsort(predicted_display.mean(axis=1))
shown = image_order[np.linspace(0, len(image_order) - 1, 80).astype(int)]

fig, axes = plt.subplots(1, 3, figsize=(15, 4.5),
                         gridspec_kw={"width_ratios": [1, 1, 0.75]},
                         constrained_layout=True)
for ax, values, title in zip(axes[:2],
        [measured_display, predicted_display], ["Measured FFA responses", "Predicted FFA responses"]):
    im = ax.imshow(values[shown].T, aspect="auto", interpolation="nearest",
                   cmap="RdBu_r", vmin=-2, vmax=2)
    ax.set(title=title, xlabel="Held-out images", ylabel="FFA-1 voxels")
fig.colorbar(im, ax=axes[:2], label="Response (training standard deviations)", shrink=0.85)
axes[2].hist(voxel_r, bins=np.linspace(-1, 1, 31), color="#247785", edgecolor="white")
axes[2].axvline(np.median(voxel_r), color="#222222", label=f"Median = {np.median(voxel_r):.2f}")
axes[2].set(title="Prediction accuracy per voxel", xlabel="Held-out Pearson r", ylabel="Voxels")
axes[2].legend(frameon=False)
plt.show()
