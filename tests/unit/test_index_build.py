"""The pybids index: rebuilt for a moved or copied clone; a failed build leaves nothing."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.errors import LaionFmriError
from laion_fmri_datalad.loaders.clone import index


def dataset(root: Path) -> Path:
    (root / "sub-01/anat").mkdir(parents=True)
    (root / "dataset_description.json").write_text('{"Name": "x", "BIDSVersion": "1.8.0"}')
    (root / "sub-01/anat/sub-01_T1w.nii.gz").write_bytes(b"")
    return root


def test_index_is_current_only_for_its_root(tmp_path: Path) -> None:
    root = dataset(tmp_path / "clone")
    where = tmp_path / "index" / "abc"
    where.parent.mkdir()
    assert not index.is_current(where, root)
    index._build(root, where)
    assert index.is_current(where, root)
    assert (where / index.ROOT_FILE).read_text() == str(root)
    assert not index.is_current(where, tmp_path / "moved")
    index._build(tmp_path / "clone", where)  # rebuilt in place: one index, no scratch left
    assert sorted(p.name for p in where.parent.iterdir()) == ["abc"]


def test_a_full_disk_fails_in_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bids

    def full(root: str, database_path: str, **kwargs: Any) -> None:
        (Path(database_path) / index.DATABASE).write_bytes(b"half an index")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(bids, "BIDSLayout", full)
    root = dataset(tmp_path / "clone")
    where = tmp_path / "index" / "abc"
    where.parent.mkdir()
    with pytest.raises(LaionFmriError) as caught:
        index._build(root, where)
    message = str(caught.value)
    assert "\n" not in message and "No space left on device" in message
    assert message.startswith(f"could not build the pybids index of {root} in {where.parent}")
    assert list(where.parent.iterdir()) == []


def test_a_database_error_is_one_line_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import bids

    def full(root: str, database_path: str, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(bids, "BIDSLayout", full)
    where = tmp_path / "index" / "abc"
    where.parent.mkdir()
    with pytest.raises(LaionFmriError, match=r"database or disk is full$"):
        index._build(dataset(tmp_path / "clone"), where)
    assert list(where.parent.iterdir()) == []
