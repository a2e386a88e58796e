"""The streaming betas reader returns what nibabel's full load and masking return."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.loaders.betas.reader import read_masked_betas, read_masked_betas_proxy

BETAS = (
    "derivatives/glmsingle-tedana/sub-01/ses-01/func/"
    "sub-01_ses-01_task-images_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz"
)
MASK = (
    "derivatives/anatomical/sub-01/ses-PrismaAnat/anat/"
    "sub-01_ses-PrismaAnat_space-T1w_res-1pt8_desc-brain_mask.nii.gz"
)


def test_streamed_betas_equal_full_load_then_mask(fixture_dir: Path) -> None:
    betas = fixture_dir / "objects" / BETAS
    mask = np.asarray(nib.load(fixture_dir / "objects" / MASK).dataobj).astype(bool)
    expected = np.asarray(nib.load(betas).get_fdata(dtype=np.float32))[mask].T
    got = read_masked_betas(betas, mask)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # NaNs in the same places
    assert np.isnan(got).any()


def test_scaled_integer_volumes_are_scaled_like_nibabel(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.integers(-1000, 1000, size=(5, 6, 4, 7)).astype(np.int16)
    image = nib.Nifti1Image(data, np.eye(4))
    image.header.set_slope_inter(0.5, 10.0)
    path = tmp_path / "scaled.nii.gz"
    path.write_bytes(gzip.compress(image.to_bytes()))
    mask = rng.random((5, 6, 4)) > 0.5
    expected = np.asarray(nib.load(path).get_fdata())[mask].T.astype(np.float32)
    np.testing.assert_allclose(read_masked_betas(path, mask), expected)


def test_mask_of_another_grid_is_an_error(fixture_dir: Path) -> None:
    with pytest.raises(UsageError, match=r"mask shape \(2, 2, 2\) does not match"):
        read_masked_betas(fixture_dir / "objects" / BETAS, np.ones((2, 2, 2), dtype=bool))


def test_truncated_file_is_an_error(fixture_dir: Path, tmp_path: Path) -> None:
    raw = gzip.decompress((fixture_dir / "objects" / BETAS).read_bytes())
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(gzip.compress(raw[: len(raw) - 100]))
    mask = np.ones(nib.load(fixture_dir / "objects" / BETAS).shape[:3], dtype=bool)
    with pytest.raises(UsageError, match="ends early"):
        read_masked_betas(cut, mask)


def test_chosen_volumes_in_the_order_given(fixture_dir: Path) -> None:
    betas = fixture_dir / "objects" / BETAS
    mask = np.asarray(nib.load(fixture_dir / "objects" / MASK).dataobj).astype(bool)
    full = read_masked_betas(betas, mask)
    picked = [5, 0, 5, 2]
    np.testing.assert_array_equal(read_masked_betas(betas, mask, picked), full[picked])
    np.testing.assert_array_equal(read_masked_betas_proxy(betas, mask, picked), full[picked])
    np.testing.assert_array_equal(read_masked_betas_proxy(betas, mask), full)
    assert read_masked_betas(betas, mask, []).shape == (0, int(mask.sum()))
    n = full.shape[0]
    with pytest.raises(UsageError, match=rf"volume {n} is outside .* \(0 to {n - 1}\)"):
        read_masked_betas(betas, mask, [n])


def test_trial_rows_are_volumes_and_a_table_of_another_length_is_one_line(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from laion_fmri_datalad.errors import DataMismatchError
    from laion_fmri_datalad.loaders.api.trials import trial_volumes
    from laion_fmri_datalad.loaders.betas.reader import read_header

    # two runs whose beta_index restarts, each run's volumes carrying their own value
    volumes = np.zeros((2, 2, 2, 6), dtype=np.float32)
    volumes[..., 3:] = 2.0
    path = tmp_path / "betas.nii.gz"
    nib.save(nib.Nifti1Image(volumes, np.eye(4)), path)
    trials = pd.DataFrame({"run": [1, 1, 1, 2, 2, 2], "beta_index": [0, 1, 2, 0, 1, 2]})
    n = read_header(path).n_volumes
    assert n == 6
    picked = trial_volumes(trials, [3, 4], n, path)
    assert picked == [3, 4]
    got = read_masked_betas(path, np.ones((2, 2, 2), dtype=bool), picked)
    assert (got == 2.0).all()  # run 2's values, not run 1's at beta_index 0 and 1
    with pytest.raises(DataMismatchError) as err:
        trial_volumes(trials.iloc[:5], [0], n, path)
    message = str(err.value)
    assert "\n" not in message and "6 volumes" in message and "5 rows" in message
    assert isinstance(err.value, ValueError)
