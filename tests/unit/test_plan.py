"""Planning a build: routing the listing, and unchanged / work / removed per dataset."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from laion_fmri_datalad.builder.inventory import (
    ANNEX,
    GIT,
    WITHHELD_STORAGE,
    InventoryEntry,
)
from laion_fmri_datalad.builder.plan import plan_dataset, route_listing
from laion_fmri_datalad.s3.client import BucketLocation, S3Object

LOCATION = BucketLocation(bucket="laion-fmri", endpoint_url="http://127.0.0.1:9")
OTHER_ENDPOINT = BucketLocation(bucket="laion-fmri", endpoint_url="http://127.0.0.1:10")
ETAG = "0123456789abcdef0123456789abcdef"
BETAS = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_bold.nii.gz"
EVENTS = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"


def url_of(obj: S3Object) -> str:
    return LOCATION.object_url(obj.key, obj.version_id)


def obj(key: str, **changes: Any) -> S3Object:
    base = S3Object(key=key, version_id="v1", etag=ETAG, size=1000, last_modified="2024-01-01")
    return dataclasses.replace(base, **changes)


def entry_for(path: str, o: S3Object, storage: str = ANNEX, **changes: Any) -> InventoryEntry:
    base = InventoryEntry(
        path=path,
        s3_key=o.key,
        version_id=o.version_id or "",
        etag=o.etag,
        size=o.size,
        storage=storage,
        annex_key=f"MD5E-s{o.size}--{o.etag}.nii.gz" if storage == ANNEX else "",
        status=403 if storage == WITHHELD_STORAGE else 200,
        url=url_of(o),
        last_modified=o.last_modified,
    )
    return dataclasses.replace(base, **changes)


# ---------------------------------------------------------------------------- route_listing


def test_route_listing_groups_objects_by_subdataset_and_path() -> None:
    keys = [
        BETAS,
        "sub-02/anat/sub-02_T1w.nii.gz",
        "derivatives/rois/sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA-1_mask.nii.gz",
        "stimuli/task-images_metadata.csv",
        "participants.tsv",
        "dataset_description.json",
    ]
    latest = {k: obj(k) for k in keys}
    listing = route_listing(latest)
    routed, unrouted = listing.routed, listing.unrouted
    assert unrouted == []
    assert sorted(routed) == ["", "derivatives/rois", "stimuli", "sub-01", "sub-02"]
    assert routed["sub-01"] == {BETAS.removeprefix("sub-01/"): latest[BETAS]}
    assert routed["sub-02"] == {"anat/sub-02_T1w.nii.gz": latest[keys[1]]}
    assert routed["derivatives/rois"] == {
        "sub-01/face/sub-01_space-T1w_res-1pt8_label-FFA1_mask.nii.gz": latest[keys[2]]
    }
    assert routed["stimuli"] == {"task-images_metadata.csv": latest[keys[3]]}
    assert routed[""] == {
        "participants.tsv": latest["participants.tsv"],
        ".laion-fmri/bucket/dataset_description.json": latest["dataset_description.json"],
    }


def test_route_listing_returns_a_plain_dict() -> None:
    routed = route_listing({BETAS: obj(BETAS)}).routed
    assert type(routed) is dict
    assert list(routed) == ["sub-01"]


@pytest.mark.parametrize(
    ("keys", "expected_unrouted"),
    [
        ([], []),
        (["notes/todo.txt"], ["notes/todo.txt"]),
        (
            ["zzz/last.txt", BETAS, "aaa/first.txt", "derivatives/x.nii.gz"],
            ["aaa/first.txt", "derivatives/x.nii.gz", "zzz/last.txt"],
        ),
        ([BETAS, EVENTS], []),
    ],
)
def test_route_listing_reports_unrouted_keys_sorted(
    keys: list[str], expected_unrouted: list[str]
) -> None:
    listing = route_listing({k: obj(k) for k in keys})
    routed, unrouted = listing.routed, listing.unrouted
    assert unrouted == expected_unrouted
    routed_count = sum(len(paths) for paths in routed.values())
    assert routed_count == len(keys) - len(expected_unrouted)


def test_route_listing_keeps_the_object_values_not_copies() -> None:
    listed = obj(EVENTS, etag="f" * 32, size=7)
    routed = route_listing({EVENTS: listed}).routed
    assert routed["sub-01"]["ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"] is listed


def test_route_listing_never_drops_an_object_when_keys_differ_by_a_trailing_newline() -> None:
    keys = ["sub-01/a.json", "sub-01/a.json\n"]
    listing = route_listing({k: obj(k) for k in keys})
    routed, unrouted = listing.routed, listing.unrouted
    placed = sorted(o.key for paths in routed.values() for o in paths.values())
    refused = [r.key for r in listing.refused]
    assert sorted(placed + unrouted + refused) == sorted(keys)
    assert placed == ["sub-01/a.json"] and refused == ["sub-01/a.json\n"]


# ---------------------------------------------------------------------------- plan_dataset

PATH = "ses-01/func/sub-01_ses-01_task-images_run-01_bold.nii.gz"


def test_plan_keeps_identical_object_unchanged() -> None:
    current = obj(BETAS)
    old = {PATH: entry_for(PATH, current)}
    plan = plan_dataset("sub-01", {PATH: current}, old, url_of)
    assert plan.unchanged == old
    assert plan.work == {}
    assert plan.removed == []
    assert plan.name == "sub-01"
    assert plan.old is old


def test_plan_marks_new_path_as_work() -> None:
    current = obj(BETAS)
    plan = plan_dataset("sub-01", {PATH: current}, {}, url_of)
    assert plan.work == {PATH: current}
    assert plan.unchanged == {}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"etag": "f" * 32}, "changed ETag"),
        ({"etag": "0123456789abcdef0123456789abcdef-2"}, "multipart ETag"),
        ({"size": 1001}, "changed size"),
        ({"version_id": "v2"}, "new version"),
        ({"version_id": None}, "versioning turned off"),
        ({"key": "sub-01/ses-01/func/other-key.nii.gz"}, "different key at the same path"),
    ],
)
def test_plan_marks_changed_object_as_work(change: dict[str, Any], why: str) -> None:
    before = obj(BETAS)
    now = dataclasses.replace(before, **change)
    plan = plan_dataset("sub-01", {PATH: now}, {PATH: entry_for(PATH, before)}, url_of)
    assert plan.work == {PATH: now}, why
    assert plan.unchanged == {}, why
    assert plan.removed == [], why


def test_plan_marks_changed_url_as_work() -> None:
    current = obj(BETAS)
    old = {PATH: entry_for(PATH, current)}

    def elsewhere(o: S3Object) -> str:
        return OTHER_ENDPOINT.object_url(o.key, o.version_id)

    plan = plan_dataset("sub-01", {PATH: current}, old, elsewhere)
    assert plan.work == {PATH: current}
    assert plan.unchanged == {}


def test_plan_ignores_last_modified_and_annex_key_when_comparing() -> None:
    current = obj(BETAS, last_modified="2025-06-01T00:00:00Z")
    old = {PATH: entry_for(PATH, current, last_modified="2020-01-01", annex_key="OTHER")}
    plan = plan_dataset("sub-01", {PATH: current}, old, url_of)
    assert plan.unchanged == old
    assert plan.work == {}


def test_plan_treats_missing_version_as_empty_version() -> None:
    current = obj(BETAS, version_id=None)
    old = {PATH: entry_for(PATH, current)}
    assert old[PATH].version_id == ""
    plan = plan_dataset("sub-01", {PATH: current}, old, url_of)
    assert plan.unchanged == old


@pytest.mark.parametrize(
    ("old_paths", "listed_paths", "expected_removed"),
    [
        (["a.json", "b.json"], ["a.json", "b.json"], []),
        (["a.json", "b.json"], ["a.json"], ["b.json"]),
        (["z.json", "b.json", "m/x.json"], [], ["b.json", "m/x.json", "z.json"]),
        ([], ["a.json"], []),
    ],
)
def test_plan_lists_removed_paths_sorted(
    old_paths: list[str], listed_paths: list[str], expected_removed: list[str]
) -> None:
    objects = {p: obj(f"stimuli/{p}") for p in listed_paths}
    old = {p: entry_for(p, obj(f"stimuli/{p}"), storage=GIT) for p in old_paths}
    plan = plan_dataset("stimuli", objects, old, url_of)
    assert plan.removed == expected_removed
    assert set(plan.unchanged) == set(old_paths) & set(listed_paths)
    assert set(plan.work) == set(listed_paths) - set(old_paths)


def test_plan_removed_includes_withheld_entries() -> None:
    gone = obj(BETAS)
    old = {PATH: entry_for(PATH, gone, storage=WITHHELD_STORAGE)}
    plan = plan_dataset("sub-01", {}, old, url_of)
    assert plan.removed == [PATH]


@pytest.mark.parametrize(
    ("storage", "recheck", "is_work"),
    [
        (WITHHELD_STORAGE, False, False),
        (WITHHELD_STORAGE, True, True),
        (ANNEX, False, False),
        (ANNEX, True, False),
        (GIT, True, False),
    ],
)
def test_plan_rechecks_withheld_only_when_asked(storage: str, recheck: bool, is_work: bool) -> None:
    current = obj(BETAS)
    old = {PATH: entry_for(PATH, current, storage=storage)}
    plan = plan_dataset("sub-01", {PATH: current}, old, url_of, recheck_withheld=recheck)
    assert (PATH in plan.work) is is_work
    assert (PATH in plan.unchanged) is not is_work


def test_plan_splits_a_mixed_dataset() -> None:
    same, changed, new = obj(BETAS), obj(EVENTS), obj("sub-01/anat/sub-01_T1w.nii.gz")
    old = {
        "same.nii.gz": entry_for("same.nii.gz", same),
        "changed.tsv": entry_for("changed.tsv", changed, storage=GIT),
        "gone.nii.gz": entry_for("gone.nii.gz", obj("sub-01/gone.nii.gz")),
    }
    now = {
        "same.nii.gz": same,
        "changed.tsv": dataclasses.replace(changed, etag="e" * 32),
        "new.nii.gz": new,
    }
    plan = plan_dataset("sub-01", now, old, url_of)
    assert list(plan.unchanged) == ["same.nii.gz"]
    assert sorted(plan.work) == ["changed.tsv", "new.nii.gz"]
    assert plan.work["changed.tsv"].etag == "e" * 32
    assert plan.removed == ["gone.nii.gz"]
