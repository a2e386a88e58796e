"""The voxel-major betas cache: the same values as nibabel, rebuilt when damaged, never stale."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from laion_fmri_datalad import config
from laion_fmri_datalad.loaders.betas import cache as betacache
from laion_fmri_datalad.loaders.betas.cache import (
    CacheFile,
    ensure_cache,
    load_betas,
    standardized,
)
from laion_fmri_datalad.loaders.betas.reader import average_repeats

SHAPE = (6, 7, 5)
N = 23


def write_betas(path: Path, data: npt.NDArray[np.float32] | npt.NDArray[np.int16]) -> Path:
    image = nib.Nifti1Image(data, np.eye(4))
    if data.dtype == np.int16:
        image.header.set_slope_inter(0.25, -3.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(image.to_bytes(), compresslevel=1))
    return path


def betas_data(seed: int = 0) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    data = rng.normal(1.0, 0.5, (*SHAPE, N)).astype(np.float32)
    data[0, 0, 0] = np.nan  # an unmodelled voxel
    data[1, 2, 3, 4] = np.nan
    return data


@pytest.fixture
def brain() -> npt.NDArray[np.bool_]:
    mask = np.random.default_rng(1).random(SHAPE) > 0.3
    mask[0, 0, 0] = True
    return mask


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Chunks smaller than the test volumes, so reads and writes cross chunk edges."""
    monkeypatch.setattr(betacache, "VOXEL_CHUNK", 7)
    monkeypatch.setattr(betacache, "TRIAL_BLOCK", 5)
    monkeypatch.delenv(config.BETA_CACHE, raising=False)
    where = tmp_path / "cache"
    monkeypatch.setenv(config.CACHE_DIR, str(where))
    return where


def expected(path: Path, brain: npt.NDArray[np.bool_]) -> npt.NDArray[np.float32]:
    return np.asarray(nib.load(path).get_fdata(dtype=np.float32))[brain].T


def forbid_file_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the betas file was read instead of the cache")

    monkeypatch.setattr(betacache, "read_pass", fail)
    monkeypatch.setattr(betacache, "read_masked_betas", fail)


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_first_read_and_cached_reads_equal_nibabel(
    tmp_path: Path, brain: npt.NDArray[np.bool_], dtype: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = (
        betas_data() if dtype == np.float32 else np.nan_to_num(betas_data() * 100).astype(np.int16)
    )
    path = write_betas(tmp_path / "sub-01_ses-01_betas.nii.gz", data)
    full = expected(path, brain)
    rng = np.random.default_rng(2)
    selection = rng.random(int(brain.sum())) > 0.5
    volumes = [7, 0, 7, 22, 3]
    first = load_betas(path, brain, selection, volumes)
    np.testing.assert_array_equal(first, full[volumes][:, selection])
    cache = CacheFile.of(path, brain)
    assert cache.path.is_file() and cache.path.name.startswith("sub-01_ses-01--FILE-")
    forbid_file_reads(monkeypatch)
    everything = np.ones(int(brain.sum()), dtype=bool)
    np.testing.assert_array_equal(load_betas(path, brain, everything, None), full)
    np.testing.assert_array_equal(load_betas(path, brain, selection, volumes), first)
    none = load_betas(path, brain, np.zeros_like(everything), [1, 2])
    assert none.shape == (2, 0)


def test_cache_is_the_masked_data_in_chunks(tmp_path: Path, brain: npt.NDArray[np.bool_]) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    assert ensure_cache(path, brain) is True
    assert ensure_cache(path, brain) is False  # valid: not written again
    with h5py.File(CacheFile.of(path, brain).path) as f:
        assert f["betas"].shape == (int(brain.sum()), N)
        assert f["betas"].chunks == (7, 5)  # 23 trials in 5 blocks of at most 5
        assert f["betas"].fletcher32
        np.testing.assert_array_equal(f["betas"][()], expected(path, brain).T)


def test_cache_off_writes_nothing(
    tmp_path: Path,
    brain: npt.NDArray[np.bool_],
    monkeypatch: pytest.MonkeyPatch,
    small_chunks: Path,
) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    monkeypatch.setenv(config.BETA_CACHE, "off")
    selection = np.ones(int(brain.sum()), dtype=bool)
    np.testing.assert_array_equal(load_betas(path, brain, selection, None), expected(path, brain))
    assert not small_chunks.exists()
    monkeypatch.setenv(config.BETA_CACHE, "on")
    load_betas(path, brain, selection, None, use_cache=False)
    assert not small_chunks.exists()


@pytest.mark.parametrize("damage", ["flip bytes", "truncate", "not hdf5", "incomplete"])
def test_damaged_cache_is_rebuilt_not_read(
    tmp_path: Path,
    brain: npt.NDArray[np.bool_],
    damage: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    ensure_cache(path, brain)
    cache = CacheFile.of(path, brain)
    raw = bytearray(cache.path.read_bytes())
    if damage == "flip bytes":  # inside the chunks: caught by their checksums
        with h5py.File(cache.path) as f:
            offset = f["betas"].id.get_chunk_info(3).byte_offset
        raw[offset + 5 : offset + 9] = b"\x7f\x7f\x7f\x7f"
        cache.path.write_bytes(bytes(raw))
    elif damage == "truncate":
        cache.path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif damage == "not hdf5":
        cache.path.write_bytes(b"nonsense")
    else:
        with h5py.File(cache.path, "a") as f:
            f.attrs["complete"] = False
    assert not cache.valid() or damage == "flip bytes"
    selection = np.ones(int(brain.sum()), dtype=bool)
    with caplog.at_level(logging.WARNING, logger="laion_fmri_datalad.loaders"):
        got = load_betas(path, brain, selection, None)
    np.testing.assert_array_equal(got, expected(path, brain))
    assert "rebuilding" in caplog.text
    assert cache.valid()
    np.testing.assert_array_equal(cache.read(np.flatnonzero(selection), None), got)


def annexed(repo: Path, name: str, key: str, data: npt.NDArray[np.float32]) -> Path:
    """A file as git-annex has it: a symlink into .git/annex/objects/Xx/Yy/KEY/KEY."""
    obj = write_betas(repo / ".git" / "annex" / "objects" / "Ab" / "Cd" / key / key, data)
    link = repo / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.unlink(missing_ok=True)
    link.symlink_to(Path("..") / obj.relative_to(repo))
    return link


def test_new_annex_key_is_never_served_from_the_old_cache(
    tmp_path: Path, brain: npt.NDArray[np.bool_], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(config.CACHE_DIR)
    repo = tmp_path / "glm"
    old = annexed(repo, "sub-01/b.nii.gz", "MD5E-s1--aaaa.nii.gz", betas_data(0))
    first_object = old.resolve()
    selection = np.ones(int(brain.sum()), dtype=bool)
    np.testing.assert_array_equal(load_betas(old, brain, selection, None), expected(old, brain))
    first = CacheFile.of(old, brain)
    assert first.path.parent == repo / ".git" / "laion-fmri" / "betas"  # in the git dir
    assert "MD5E-s1--aaaa.nii.gz" in first.path.name
    new = annexed(repo, "sub-01/b.nii.gz", "MD5E-s1--bbbb.nii.gz", betas_data(1))
    got = load_betas(new, brain, selection, None)
    np.testing.assert_array_equal(got, expected(new, brain))
    assert not np.array_equal(got, expected(first_object, brain), equal_nan=True)
    assert CacheFile.of(new, brain).path != first.path and CacheFile.of(new, brain).valid()


def test_another_mask_has_its_own_cache(tmp_path: Path, brain: npt.NDArray[np.bool_]) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    other = brain.copy()
    other[2, 2, 2] = not other[2, 2, 2]
    assert CacheFile.of(path, brain).path != CacheFile.of(path, other).path
    load_betas(path, brain, np.ones(int(brain.sum()), dtype=bool), [0])
    got = load_betas(path, other, np.ones(int(other.sum()), dtype=bool), None)
    np.testing.assert_array_equal(got, expected(path, other))


def test_a_second_writer_reads_without_writing(
    tmp_path: Path, brain: npt.NDArray[np.bool_]
) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    cache = CacheFile.of(path, brain)
    selection = np.ones(int(brain.sum()), dtype=bool)
    killed = cache.path.with_name(f".{cache.path.name}.999999.partial")  # a killed writer's
    killed.parent.mkdir(parents=True)
    killed.write_bytes(b"half")
    with cache.writing() as writer:  # another writer holds the lock
        assert writer is not None
        np.testing.assert_array_equal(
            load_betas(path, brain, selection, None), expected(path, brain)
        )
        assert not cache.path.exists()
    assert not list(cache.path.parent.glob(".*partial"))  # the partials are gone


def zscored(full: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    values = full.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((values - values.mean(axis=0)) / values.std(axis=0), dtype=np.float64)


@pytest.mark.parametrize("cached", [False, True])
def test_zscore_is_per_voxel_over_the_whole_session_before_trials_are_picked(
    tmp_path: Path, brain: npt.NDArray[np.bool_], cached: bool
) -> None:
    data = betas_data()
    data[2, 3, 1] = 5.0  # a voxel that does not vary: NaN, as scipy.stats.zscore gives
    path = write_betas(tmp_path / "b.nii.gz", data)
    brain[2, 3, 1] = True
    if cached:
        ensure_cache(path, brain)
    full = expected(path, brain)
    direct = zscored(full)
    selection = np.random.default_rng(4).random(int(brain.sum())) > 0.4
    volumes = [3, 9, 3, 0]
    got = load_betas(path, brain, selection, volumes, zscore=True, use_cache=cached)
    np.testing.assert_allclose(got, direct[volumes][:, selection], rtol=1e-5, atol=1e-5)
    brain[2, 3, 1] = True
    constant = int(
        np.flatnonzero(brain.ravel()).searchsorted(np.ravel_multi_index((2, 3, 1), SHAPE))
    )
    every = np.ones(int(brain.sum()), dtype=bool)
    whole = load_betas(path, brain, every, None, zscore=True, use_cache=cached)
    assert np.isnan(whole[:, constant]).all()
    np.testing.assert_allclose(whole, direct, rtol=1e-5, atol=1e-5)


def test_cached_and_first_read_zscores_are_identical(
    tmp_path: Path, brain: npt.NDArray[np.bool_]
) -> None:
    path = write_betas(tmp_path / "b.nii.gz", betas_data())
    every = np.ones(int(brain.sum()), dtype=bool)
    uncached = load_betas(path, brain, every, None, zscore=True, use_cache=False)
    first = load_betas(path, brain, every, None, zscore=True)
    again = load_betas(path, brain, every, None, zscore=True)
    np.testing.assert_array_equal(first, uncached)
    np.testing.assert_array_equal(again, uncached)
    # what get_betas(streaming=False, zscore=True) does with nibabel's proxy reads
    np.testing.assert_array_equal(standardized(expected(path, brain)), uncached)


def test_average_repeats_is_the_mean_of_each_images_trials() -> None:
    rng = np.random.default_rng(5)
    labels = ["b.jpg", "a.jpg", "b.jpg", "c.jpg", "a.jpg", "b.jpg"]
    trials = pd.DataFrame({"session": "ses-01", "run": 1, "beta_index": range(6), "label": labels})
    values = rng.normal(size=(6, 9)).astype(np.float32)
    values[2, 4] = np.nan
    got, table = average_repeats(values, trials)
    assert table["label"].tolist() == ["b.jpg", "a.jpg", "c.jpg"]  # first appearance
    assert table["n_trials"].tolist() == [3, 2, 1]
    assert table["rows"].tolist() == [[0, 2, 5], [1, 4], [3]]
    # rows as the session's table numbers them (get_betas passes the rows it selected)
    _, later = average_repeats(values[:3], trials.iloc[3:], rows=[3, 4, 5])
    assert later["rows"].tolist() == [[3], [4], [5]]
    assert table["session"].tolist() == ["ses-01"] * 3
    for row, name in enumerate(table["label"]):
        picked = [i for i, label in enumerate(labels) if label == name]
        np.testing.assert_allclose(got[row], values[picked].astype(np.float64).mean(axis=0))
    assert np.isnan(got[0, 4]) and got.dtype == np.float32
