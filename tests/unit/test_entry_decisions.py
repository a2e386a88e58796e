"""From what reading the work objects found to inventory entries, tree changes and counts."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from laion_fmri_datalad.builder.annexkeys import symlink_target
from laion_fmri_datalad.builder.builder import Reads, decide, entry_for
from laion_fmri_datalad.builder.content import Fetched
from laion_fmri_datalad.builder.gitplumbing import REGULAR, SYMLINK
from laion_fmri_datalad.builder.inventory import ANNEX, GIT, WITHHELD_STORAGE, InventoryEntry
from laion_fmri_datalad.builder.plan import DatasetPlan
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.s3.client import BucketLocation, S3Object

LOCATION = BucketLocation(bucket="laion-fmri", endpoint_url="http://127.0.0.1:9")
TEXT = b"onset\tduration\ttrial_type\n0.0\t3.0\timage\n"
TEXT_MD5 = hashlib.md5(TEXT).hexdigest()
BLOB_MD5 = "0123456789abcdef0123456789abcdef"
SHA = "ab" * 32
MULTIPART_ETAG = "0123456789abcdef0123456789abcdef-3"

EVENTS_PATH = "ses-01/func/sub-01_ses-01_task-images_run-01_events.tsv"
BOLD_PATH = "ses-01/func/sub-01_ses-01_task-images_run-01_bold.nii.gz"
BETAS_PATH = "ses-01/func/sub-01_ses-01_desc-SingletrialBetas_statmap.nii.gz"


def s3(path: str, etag: str, size: int, version: str | None = "v1") -> S3Object:
    return S3Object(f"sub-01/{path}", version, etag, size, last_modified="2024-05-01T00:00:00Z")


def reads(
    texts: dict[str, Fetched] | None = None,
    hashes: dict[str, Fetched] | None = None,
    status: dict[str, int] | None = None,
) -> Reads:
    return Reads(texts or {}, hashes or {}, status or {})


def url(obj: S3Object) -> str:
    return LOCATION.object_url(obj.key, obj.version_id)


TEXT_OBJ = s3(EVENTS_PATH, TEXT_MD5, len(TEXT))
BOLD_OBJ = s3(BOLD_PATH, BLOB_MD5, 5_000_000)
BETAS_OBJ = s3(BETAS_PATH, MULTIPART_ETAG, 40_000_000)

TEXT_READ = reads(texts={TEXT_OBJ.key: Fetched(TEXT_OBJ.key, 200, data=TEXT, size=len(TEXT))})
BOLD_READ = reads(status={BOLD_OBJ.key: 200})
BETAS_READ = reads(
    hashes={BETAS_OBJ.key: Fetched(BETAS_OBJ.key, 200, sha256=SHA, size=BETAS_OBJ.size)}
)

# ---------------------------------------------------------------------------- entry_for


def test_small_text_file_goes_to_git_with_its_bytes() -> None:
    entry, data, failure = entry_for(LOCATION, EVENTS_PATH, TEXT_OBJ, TEXT_READ)
    assert failure == ""
    assert data == TEXT
    assert entry == InventoryEntry(
        path=EVENTS_PATH,
        s3_key=TEXT_OBJ.key,
        version_id="v1",
        etag=TEXT_MD5,
        size=len(TEXT),
        storage=GIT,
        annex_key="",
        status=200,
        url="http://127.0.0.1:9/laion-fmri/sub-01/" + EVENTS_PATH + "?versionId=v1",
        last_modified="2024-05-01T00:00:00Z",
    )


def test_text_whose_content_does_not_match_the_etag_is_a_failure() -> None:
    listed = dataclasses.replace(TEXT_OBJ, etag="f" * 32)
    entry, data, failure = entry_for(LOCATION, EVENTS_PATH, listed, TEXT_READ)
    assert entry is None
    assert data == b""
    assert failure == "content read does not match the listed ETag"


def test_text_etag_is_compared_case_insensitively() -> None:
    listed = dataclasses.replace(TEXT_OBJ, etag=TEXT_MD5.upper())
    entry, data, failure = entry_for(LOCATION, EVENTS_PATH, listed, TEXT_READ)
    assert failure == ""
    assert entry is not None and entry.storage == GIT
    assert data == TEXT


def test_text_with_a_multipart_etag_is_not_checked_against_it() -> None:
    listed = dataclasses.replace(TEXT_OBJ, etag=MULTIPART_ETAG)
    entry, data, failure = entry_for(LOCATION, EVENTS_PATH, listed, TEXT_READ)
    assert (failure, data) == ("", TEXT)
    assert entry is not None and entry.storage == GIT and entry.etag == MULTIPART_ETAG


def test_unversioned_object_has_an_empty_version_and_a_plain_url() -> None:
    listed = dataclasses.replace(TEXT_OBJ, version_id=None)
    entry, _, _ = entry_for(LOCATION, EVENTS_PATH, listed, TEXT_READ)
    assert entry is not None
    assert entry.version_id == ""
    assert entry.url == "http://127.0.0.1:9/laion-fmri/sub-01/" + EVENTS_PATH


def test_single_part_object_is_annexed_under_an_md5e_key() -> None:
    entry, data, failure = entry_for(LOCATION, BOLD_PATH, BOLD_OBJ, BOLD_READ)
    assert (data, failure) == (b"", "")
    assert entry is not None
    assert entry.storage == ANNEX
    assert entry.annex_key == f"MD5E-s5000000--{BLOB_MD5}.nii.gz"
    assert entry.status == 200
    assert entry.url == url(BOLD_OBJ)


def test_md5e_key_uses_the_lower_case_md5() -> None:
    listed = dataclasses.replace(BOLD_OBJ, etag=BLOB_MD5.upper())
    entry, _, _ = entry_for(LOCATION, BOLD_PATH, listed, BOLD_READ)
    assert entry is not None and entry.annex_key == f"MD5E-s5000000--{BLOB_MD5}.nii.gz"


def test_large_json_is_annexed_not_read_as_text() -> None:
    path = "ses-01/func/big.json"
    listed = s3(path, BLOB_MD5, 2 * 1024 * 1024)
    entry, data, failure = entry_for(LOCATION, path, listed, reads(status={listed.key: 200}))
    assert (data, failure) == (b"", "")
    assert entry is not None and entry.annex_key == f"MD5E-s{2 * 1024 * 1024}--{BLOB_MD5}.json"


def test_multipart_object_is_annexed_under_a_sha256e_key_from_the_hash_read() -> None:
    entry, data, failure = entry_for(LOCATION, BETAS_PATH, BETAS_OBJ, BETAS_READ)
    assert (data, failure) == (b"", "")
    assert entry is not None
    assert entry.storage == ANNEX
    assert entry.annex_key == f"SHA256E-s40000000--{SHA}.nii.gz"
    assert entry.etag == MULTIPART_ETAG


def test_multipart_object_whose_size_differs_after_hashing_is_a_failure() -> None:
    short = reads(hashes={BETAS_OBJ.key: Fetched(BETAS_OBJ.key, 200, sha256=SHA, size=39)})
    entry, data, failure = entry_for(LOCATION, BETAS_PATH, BETAS_OBJ, short)
    assert entry is None
    assert data == b""
    assert failure == "read 39 bytes, the listing says 40000000"


CASES: list[tuple[str, S3Object, Reads]] = [
    (
        EVENTS_PATH,
        TEXT_OBJ,
        reads(texts={TEXT_OBJ.key: Fetched(TEXT_OBJ.key, 403)}),
    ),
    (BOLD_PATH, BOLD_OBJ, reads(status={BOLD_OBJ.key: 403})),
    (BETAS_PATH, BETAS_OBJ, reads(hashes={BETAS_OBJ.key: Fetched(BETAS_OBJ.key, 403)})),
]


@pytest.mark.parametrize(("path", "obj", "found"), CASES, ids=["text", "single-part", "multipart"])
def test_denied_object_gives_a_withheld_entry(path: str, obj: S3Object, found: Reads) -> None:
    entry, data, failure = entry_for(LOCATION, path, obj, found)
    assert (data, failure) == (b"", "")
    assert entry is not None
    assert entry.storage == WITHHELD_STORAGE
    assert entry.annex_key == ""
    assert entry.status == 403
    assert (entry.etag, entry.size, entry.url) == (obj.etag, obj.size, url(obj))


def with_status(path: str, obj: S3Object, status: int) -> Reads:
    if path == EVENTS_PATH:
        return reads(texts={obj.key: Fetched(obj.key, status)})
    if path == BOLD_PATH:
        return reads(status={obj.key: status})
    return reads(hashes={obj.key: Fetched(obj.key, status)})


@pytest.mark.parametrize("status", [404, 500, 503])
@pytest.mark.parametrize(
    ("path", "obj"),
    [(EVENTS_PATH, TEXT_OBJ), (BOLD_PATH, BOLD_OBJ), (BETAS_PATH, BETAS_OBJ)],
    ids=["text", "single-part", "multipart"],
)
def test_other_status_is_a_failure_naming_the_url(path: str, obj: S3Object, status: int) -> None:
    entry, data, failure = entry_for(LOCATION, path, obj, with_status(path, obj, status))
    assert entry is None
    assert data == b""
    assert failure == f"HTTP status {status} for {url(obj)}"


def test_no_answer_is_a_failure_saying_so() -> None:
    entry, _, failure = entry_for(LOCATION, BOLD_PATH, BOLD_OBJ, reads(status={BOLD_OBJ.key: 0}))
    assert entry is None
    assert failure == f"HTTP status none (no answer) for {url(BOLD_OBJ)}"


# ---------------------------------------------------------------------------- decide


def old_entry(path: str, obj: S3Object, storage: str, **changes: Any) -> InventoryEntry:
    base = InventoryEntry(
        path,
        obj.key,
        obj.version_id or "",
        obj.etag,
        obj.size,
        storage,
        f"MD5E-s{obj.size}--{obj.etag}.nii.gz" if storage == ANNEX else "",
        403 if storage == WITHHELD_STORAGE else 200,
        url(obj),
        obj.last_modified,
    )
    return dataclasses.replace(base, **changes)


def merge(*parts: Reads) -> Reads:
    out = reads()
    for p in parts:
        out.texts.update(p.texts)
        out.hashes.update(p.hashes)
        out.status.update(p.status)
    return out


ALL_READ = merge(TEXT_READ, BOLD_READ, BETAS_READ)


def test_decide_adds_new_objects_to_git_and_annex() -> None:
    plan = DatasetPlan(
        "sub-01", {}, work={EVENTS_PATH: TEXT_OBJ, BOLD_PATH: BOLD_OBJ, BETAS_PATH: BETAS_OBJ}
    )
    report = BuildReport()
    outcome = decide(LOCATION, plan, ALL_READ, report)
    bold_key = f"MD5E-s5000000--{BLOB_MD5}.nii.gz"
    betas_key = f"SHA256E-s40000000--{SHA}.nii.gz"
    assert outcome.changes.writes == {
        EVENTS_PATH: (REGULAR, TEXT),
        BOLD_PATH: (SYMLINK, symlink_target(BOLD_PATH, bold_key).encode()),
        BETAS_PATH: (SYMLINK, symlink_target(BETAS_PATH, betas_key).encode()),
    }
    assert outcome.changes.deletes == set()
    assert outcome.urls == {bold_key: [url(BOLD_OBJ)], betas_key: [url(BETAS_OBJ)]}
    assert sorted(outcome.inventory) == sorted([EVENTS_PATH, BOLD_PATH, BETAS_PATH])
    counts = report.counts("sub-01")
    assert (counts.added, counts.changed, counts.removed, counts.withheld) == (3, 0, 0, 0)
    assert counts.unchanged == 0
    assert counts.bytes == len(TEXT) + 5_000_000 + 40_000_000
    assert report.failures == []


def test_decide_symlink_points_into_the_annex_object_store() -> None:
    plan = DatasetPlan("sub-01", {}, work={BOLD_PATH: BOLD_OBJ})
    outcome = decide(LOCATION, plan, BOLD_READ, BuildReport())
    mode, target = outcome.changes.writes[BOLD_PATH]
    key = f"MD5E-s5000000--{BLOB_MD5}.nii.gz"
    assert mode == SYMLINK
    assert target.startswith(b"../../.git/annex/objects/")
    assert target.endswith(f"/{key}/{key}".encode())


def test_decide_counts_a_replaced_object_as_changed() -> None:
    before = dataclasses.replace(BOLD_OBJ, etag="e" * 32, version_id="v0")
    plan = DatasetPlan(
        "sub-01", {BOLD_PATH: old_entry(BOLD_PATH, before, ANNEX)}, work={BOLD_PATH: BOLD_OBJ}
    )
    report = BuildReport()
    outcome = decide(LOCATION, plan, BOLD_READ, report)
    counts = report.counts("sub-01")
    assert (counts.added, counts.changed, counts.removed) == (0, 1, 0)
    assert outcome.inventory[BOLD_PATH].etag == BLOB_MD5
    assert BOLD_PATH in outcome.changes.writes


def test_decide_keeps_unchanged_entries_and_counts_them() -> None:
    kept = old_entry(BOLD_PATH, BOLD_OBJ, ANNEX)
    hidden = old_entry("ses-31/x.nii.gz", s3("ses-31/x.nii.gz", BLOB_MD5, 9), WITHHELD_STORAGE)
    plan = DatasetPlan(
        "sub-01",
        {BOLD_PATH: kept, hidden.path: hidden},
        unchanged={BOLD_PATH: kept, hidden.path: hidden},
    )
    report = BuildReport()
    outcome = decide(LOCATION, plan, reads(), report)
    assert outcome.inventory == {BOLD_PATH: kept, hidden.path: hidden}
    assert not outcome.changes
    assert outcome.urls == {}
    counts = report.counts("sub-01")
    assert (counts.unchanged, counts.withheld, counts.added, counts.removed) == (2, 1, 0, 0)
    assert counts.bytes == 5_000_000  # withheld objects are not counted


@pytest.mark.parametrize(
    ("old_storage", "deleted", "removed"),
    [(ANNEX, True, 1), (GIT, True, 1), (WITHHELD_STORAGE, False, 0), (None, False, 0)],
)
def test_decide_deletes_a_path_that_became_withheld(
    old_storage: str | None, deleted: bool, removed: int
) -> None:
    old = {} if old_storage is None else {BOLD_PATH: old_entry(BOLD_PATH, BOLD_OBJ, old_storage)}
    plan = DatasetPlan("sub-01", old, work={BOLD_PATH: BOLD_OBJ})
    report = BuildReport()
    outcome = decide(LOCATION, plan, reads(status={BOLD_OBJ.key: 403}), report)
    assert (BOLD_PATH in outcome.changes.deletes) is deleted
    assert BOLD_PATH not in outcome.changes.writes
    assert outcome.inventory[BOLD_PATH].storage == WITHHELD_STORAGE
    assert outcome.urls == {}
    counts = report.counts("sub-01")
    assert (counts.withheld, counts.removed, counts.added, counts.changed) == (1, removed, 0, 0)
    assert counts.bytes == 0


def test_decide_counts_a_formerly_withheld_object_as_added() -> None:
    old = {BOLD_PATH: old_entry(BOLD_PATH, BOLD_OBJ, WITHHELD_STORAGE)}
    plan = DatasetPlan("sub-01", old, work={BOLD_PATH: BOLD_OBJ})
    report = BuildReport()
    outcome = decide(LOCATION, plan, BOLD_READ, report)
    counts = report.counts("sub-01")
    assert (counts.added, counts.changed, counts.withheld) == (1, 0, 0)
    assert outcome.inventory[BOLD_PATH].storage == ANNEX


@pytest.mark.parametrize(
    ("storage", "deleted"), [(ANNEX, True), (GIT, True), (WITHHELD_STORAGE, False)]
)
def test_decide_deletes_removed_paths_that_were_in_the_tree(storage: str, deleted: bool) -> None:
    gone = old_entry(BOLD_PATH, BOLD_OBJ, storage)
    plan = DatasetPlan("sub-01", {BOLD_PATH: gone}, removed=[BOLD_PATH])
    report = BuildReport()
    outcome = decide(LOCATION, plan, reads(), report)
    assert (BOLD_PATH in outcome.changes.deletes) is deleted
    assert BOLD_PATH not in outcome.inventory
    assert report.counts("sub-01").removed == int(deleted)


def test_decide_keeps_the_old_entry_when_an_item_fails() -> None:
    before = dataclasses.replace(BOLD_OBJ, etag="e" * 32)
    previous = old_entry(BOLD_PATH, before, ANNEX)
    plan = DatasetPlan("sub-01", {BOLD_PATH: previous}, work={BOLD_PATH: BOLD_OBJ})
    report = BuildReport()
    outcome = decide(LOCATION, plan, reads(status={BOLD_OBJ.key: 500}), report)
    assert outcome.inventory == {BOLD_PATH: previous}
    assert not outcome.changes
    assert report.failures == [f"{BOLD_OBJ.key}: HTTP status 500 for {url(BOLD_OBJ)}"]
    counts = report.counts("sub-01")
    assert (counts.added, counts.changed, counts.removed) == (0, 0, 0)
    assert counts.bytes == previous.size


def test_decide_leaves_a_new_item_that_fails_out_of_the_inventory() -> None:
    listed = dataclasses.replace(TEXT_OBJ, etag="f" * 32)
    plan = DatasetPlan("sub-01", {}, work={EVENTS_PATH: listed, BOLD_PATH: BOLD_OBJ})
    report = BuildReport()
    outcome = decide(LOCATION, plan, merge(TEXT_READ, BOLD_READ), report)
    assert list(outcome.inventory) == [BOLD_PATH]
    assert EVENTS_PATH not in outcome.changes.writes
    assert report.failures == [f"{listed.key}: content read does not match the listed ETag"]
    assert report.counts("sub-01").added == 1
    assert not report.ok


def test_decide_gives_each_annex_key_all_its_urls() -> None:
    twin_path = "ses-02/func/sub-01_ses-02_task-images_run-01_bold.nii.gz"
    twin = s3(twin_path, BLOB_MD5, 5_000_000, version="v9")
    plan = DatasetPlan("sub-01", {}, work={BOLD_PATH: BOLD_OBJ, twin_path: twin})
    outcome = decide(LOCATION, plan, merge(BOLD_READ, reads(status={twin.key: 200})), BuildReport())
    key = f"MD5E-s5000000--{BLOB_MD5}.nii.gz"
    assert outcome.urls == {key: [url(BOLD_OBJ), url(twin)]}
    assert type(outcome.urls) is dict


def test_decide_reports_counts_under_the_plan_name() -> None:
    plan = DatasetPlan("derivatives/glmsingle-tedana", {}, work={BETAS_PATH: BETAS_OBJ})
    report = BuildReport()
    decide(LOCATION, plan, BETAS_READ, report)
    assert list(report.datasets) == ["derivatives/glmsingle-tedana"]
    assert report.counts("derivatives/glmsingle-tedana").added == 1
