"""Stimulus files of the synthetic bucket: embeddings, captions, segmentations, history."""

from __future__ import annotations

import io

import h5py
import numpy as np
import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.catalogue import Image, build_catalogue
from laion_fmri_datalad.devserver.fixture.history import changes_since_launch
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.devserver.fixture.stimuli import (
    captions_csv,
    embeddings,
    segmentations,
)
from laion_fmri_datalad.errors import UsageError

MODELS = ("CLIP", "DINOv2", "PEcore", "SigLIP2")


@pytest.fixture(scope="module")
def catalogue() -> list[Image]:
    return build_catalogue()


def test_real_scale_embedding_sizes_and_small_tiny_ones(catalogue: list[Image]) -> None:
    real = get_spec("real").embedding_dims
    assert real == {"CLIP": 1024, "DINOv2": 1024, "PEcore": 1024, "SigLIP2": 1152}
    tiny = get_spec("tiny").embedding_dims
    assert set(tiny) == set(MODELS) and max(tiny.values()) < 64
    values = embeddings(0, catalogue, "SigLIP2", dim=real["SigLIP2"])
    assert values.shape == (25_052, 1152) and values.dtype == np.float16
    default = embeddings(0, catalogue, "CLIP")
    assert default.shape == (25_052, tiny["CLIP"])  # no dim: the tiny bucket's size


def test_current_embeddings_differ_from_launch_in_116_transparent_ood_rows(
    catalogue: list[Image],
) -> None:
    for model in MODELS:
        launch = embeddings(3, catalogue, model, state="launch")
        current = embeddings(3, catalogue, model)
        assert launch.dtype == current.dtype == np.float16
        changed = np.flatnonzero((launch != current).any(axis=1))
        assert len(changed) == 116
        assert {catalogue[i].dataset for i in changed} == {"OOD"}
        assert all(catalogue[i].name.endswith(".png") for i in changed)
    with pytest.raises(UsageError, match="unknown state 'v1'"):
        embeddings(3, catalogue, "CLIP", state="v1")


def _h5(data: bytes) -> dict[str, np.ndarray]:
    with h5py.File(io.BytesIO(data), "r") as handle:
        return {name: handle[name][()] for name in handle}


def test_changes_since_launch_are_the_archive_and_the_recomputed_files(
    catalogue: list[Image],
) -> None:
    changes = changes_since_launch(0, "tiny")
    keys = [o.key for o in changes]
    archive = [f"archive/embeddings/v1/task-images_desc-{m}_embeddings.h5" for m in MODELS]
    stimuli = [f"stimuli/task-images_desc-{m}_embeddings.h5" for m in MODELS]
    assert keys == archive + stimuli
    assert all(o.previous is None for o in changes)
    names = [im.name for im in catalogue]
    for model, old_obj, new_obj in zip(MODELS, changes[:4], changes[4:], strict=True):
        old, new = _h5(old_obj.data), _h5(new_obj.data)
        assert [n.decode() for n in old["image_ids"]] == names
        assert [n.decode() for n in new["image_ids"]] == names
        for name in ("embedding", "image_ids", "valid"):
            assert old[name].dtype == new[name].dtype and old[name].shape == new[name].shape
        np.testing.assert_array_equal(old["valid"], new["valid"])
        assert (old["embedding"] != new["embedding"]).any(axis=1).sum() == 116
        np.testing.assert_array_equal(
            old["embedding"], embeddings(0, catalogue, model, state="launch")
        )


def test_captions_are_long_form_with_ranks(catalogue: list[Image]) -> None:
    table = pd.read_csv(io.BytesIO(captions_csv(catalogue)), keep_default_na=False)
    assert list(table.columns) == [
        "image_name",
        "caption_idx",
        "source",
        "caption",
        "origin_collection",
        "participant_id",
        "ai_model",
    ]
    assert table["caption"].str.contains(",").any()  # quoted cells survive
    shared = {im.name for im in catalogue if im.participant == "shared"}
    assert set(table["image_name"]) == {im.name for im in catalogue}
    ai = table[table["source"] == "ai"]
    human = table[table["source"] == "human"]
    assert len(ai) + len(human) == len(table)
    assert ai["image_name"].is_unique and (ai["caption_idx"] == 0).all()
    assert len(ai) == 25_052
    ranks = {
        str(name): sorted(int(r) for r in group)
        for name, group in human.groupby("image_name")["caption_idx"]
    }
    assert ranks == {n: list(range(1, 6 if n in shared else 4)) for n in ranks}
    assert (ai["ai_model"] != "").all() and (ai["participant_id"] == "").all()
    assert (human["participant_id"] != "").all() and (human["ai_model"] == "").all()
    assert not table.duplicated(["image_name", "caption"]).any()


def test_segmentations_one_mask_per_image_noun_instance(catalogue: list[Image]) -> None:
    masks, rows = segmentations(0, catalogue, 8)
    table = pd.DataFrame(rows)
    assert masks.dtype == np.uint8 and masks.shape == (len(table), 8, 8)
    assert table["mask_row"].tolist() == list(range(len(table)))
    shared = {im.name for im in catalogue if im.participant == "shared"}
    assert set(table["image_name"]) == shared
    assert not table.duplicated(["image_name", "noun", "instance_id"]).any()
    for _, group in table.groupby(["image_name", "noun"]):
        assert sorted(group["instance_id"]) == list(range(len(group)))
        best = group.sort_values("instance_id")["score"].tolist()
        assert best == sorted(best, reverse=True)  # instance 0 is the best
    assert table["localized"].any() and not table["localized"].all()
    for row in rows:
        mask = masks[int(str(row["mask_row"]))]
        if not row["localized"]:
            assert not mask.any() and row["score"] == 0.0
            continue
        ys, xs = np.nonzero(mask)
        box = (row["box_x0"], row["box_y0"], row["box_x1"], row["box_y1"])
        assert box == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert table["mask_file"].is_unique
