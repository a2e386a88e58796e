"""The recorded build state: inventory.tsv and withheld.tsv, written and read back."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.builder.inventory import (
    ANNEX,
    GIT,
    WITHHELD_STORAGE,
    InventoryEntry,
    format_inventory,
    format_withheld,
    load_inventory,
    parse_inventory,
)
from laion_fmri_datalad.errors import BuildError
from laion_fmri_datalad.layout.names import INVENTORY

HEADER = "path\ts3_key\tversion_id\tetag\tsize\tstorage\tannex_key\tstatus\turl\tlast_modified"


def entry(path: str = "a.nii.gz", **changes: Any) -> InventoryEntry:
    base = InventoryEntry(
        path=path,
        s3_key=f"sub-01/{path}",
        version_id="3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        etag="0123456789abcdef0123456789abcdef",
        size=1234,
        storage=ANNEX,
        annex_key="MD5E-s1234--0123456789abcdef0123456789abcdef.nii.gz",
        status=200,
        url=f"http://127.0.0.1:9/laion-fmri/sub-01/{path}?versionId=v1",
        last_modified="2024-05-01T12:00:00.000Z",
    )
    return dataclasses.replace(base, **changes)


AWKWARD_PATHS = [
    "ses-01/func/sub-01_ses-01_bold.nii.gz",
    "with space/and more spaces.json",
    " leading and trailing ",
    'double "quoted" name',
    '"starts with a quote',
    "single 'quote'",
    "unicode/Bücher_日本語_é.json",
    "emoji_🧠.nii.gz",
    "comma,semicolon;pipe|.csv",
    "back\\slash",
]


@pytest.mark.parametrize("path", AWKWARD_PATHS)
def test_inventory_round_trips_awkward_paths(path: str) -> None:
    entries = {path: entry(path)}
    assert parse_inventory(format_inventory(entries)) == entries


@pytest.mark.parametrize("path", ["carriage\rreturn.json", "new\nline.json", "tab\t.json"])
def test_inventory_refuses_a_path_with_a_control_character(path: str) -> None:
    """A control character would break the TSV (csv leaves a carriage return unquoted);
    the listing refuses such keys, and the inventory says so rather than write a bad row."""
    with pytest.raises(BuildError, match="control character"):
        format_inventory({path: entry(path)})


@pytest.mark.parametrize(
    "changes",
    [
        {"version_id": ""},
        {"storage": GIT, "annex_key": ""},
        {"storage": WITHHELD_STORAGE, "annex_key": "", "status": 403},
        {"size": 0},
        {"size": 12_345_678_901},
        {"last_modified": ""},
        {"url": "https://laion-fmri.s3.us-west-2.amazonaws.com/a%20b.json?versionId=x%2By"},
    ],
)
def test_inventory_round_trips_field_values(changes: dict[str, Any]) -> None:
    entries = {"x.json": entry("x.json", **changes)}
    parsed = parse_inventory(format_inventory(entries))
    assert parsed == entries
    assert isinstance(parsed["x.json"].size, int)
    assert isinstance(parsed["x.json"].status, int)


def test_inventory_round_trips_many_entries() -> None:
    entries = {p: entry(p, size=i) for i, p in enumerate(AWKWARD_PATHS)}
    assert parse_inventory(format_inventory(entries)) == entries


def test_format_inventory_writes_header_then_rows_sorted_by_path() -> None:
    entries = {p: entry(p) for p in ["c.json", "a.json", "b/z.json"]}
    lines = format_inventory(entries).splitlines()
    assert lines[0] == HEADER
    assert [line.split("\t", 1)[0] for line in lines[1:]] == ["a.json", "b/z.json", "c.json"]
    assert format_inventory(entries).endswith("\n")


def test_format_inventory_of_nothing_is_only_the_header() -> None:
    assert format_inventory({}) == HEADER + "\n"
    assert parse_inventory(format_inventory({})) == {}


def test_format_inventory_row_holds_every_field_in_order() -> None:
    e = entry("a.json", version_id="", storage=GIT, annex_key="", size=5)
    row = format_inventory({"a.json": e}).splitlines()[1].split("\t")
    assert row == [
        "a.json",
        "sub-01/a.json",
        "",
        "0123456789abcdef0123456789abcdef",
        "5",
        "git",
        "",
        "200",
        "http://127.0.0.1:9/laion-fmri/sub-01/a.json?versionId=v1",
        "2024-05-01T12:00:00.000Z",
    ]


def test_parse_inventory_keys_entries_by_their_path_column() -> None:
    text = HEADER + "\n" + "\t".join(["p.json", "k", "", "e", "3", "git", "", "200", "u", "t"])
    parsed = parse_inventory(text + "\n")
    assert parsed == {"p.json": InventoryEntry("p.json", "k", "", "e", 3, "git", "", 200, "u", "t")}


@pytest.mark.parametrize(
    ("storages", "expected_paths"),
    [
        ({"a": ANNEX, "b": GIT}, []),
        ({"a": WITHHELD_STORAGE}, ["a"]),
        ({"c": WITHHELD_STORAGE, "b": ANNEX, "a": WITHHELD_STORAGE, "d": GIT}, ["a", "c"]),
        ({}, []),
    ],
)
def test_format_withheld_lists_only_withheld_rows_sorted(
    storages: dict[str, str], expected_paths: list[str]
) -> None:
    entries = {
        p: entry(p, storage=s, status=403 if s == WITHHELD_STORAGE else 200)
        for p, s in storages.items()
    }
    lines = format_withheld(entries).splitlines()
    assert lines[0] == "path\ts3_key\tversion_id\tsize\thttp_status"
    assert [line.split("\t")[0] for line in lines[1:]] == expected_paths


def test_format_withheld_row_has_key_version_size_and_status() -> None:
    e = entry("ses-31/x.nii.gz", storage=WITHHELD_STORAGE, annex_key="", status=403, size=77)
    rows = format_withheld({e.path: e}).splitlines()
    assert rows[1].split("\t") == [
        "ses-31/x.nii.gz",
        "sub-01/ses-31/x.nii.gz",
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "77",
        "403",
    ]


SAME = entry()


@pytest.mark.parametrize(
    ("version_id", "etag", "size", "url", "same"),
    [
        (SAME.version_id, SAME.etag, SAME.size, SAME.url, True),
        ("other", SAME.etag, SAME.size, SAME.url, False),
        ("", SAME.etag, SAME.size, SAME.url, False),
        (SAME.version_id, "f" * 32, SAME.size, SAME.url, False),
        (SAME.version_id, SAME.etag.upper(), SAME.size, SAME.url, False),
        (SAME.version_id, SAME.etag, SAME.size + 1, SAME.url, False),
        (SAME.version_id, SAME.etag, SAME.size, "http://elsewhere/x", False),
    ],
)
def test_same_object_compares_version_etag_size_and_url(
    version_id: str, etag: str, size: int, url: str, same: bool
) -> None:
    assert SAME.same_object(version_id, etag, size, url) is same


def test_same_object_ignores_path_key_storage_and_time() -> None:
    other = dataclasses.replace(
        SAME, path="elsewhere", s3_key="k", storage=GIT, annex_key="", last_modified=""
    )
    assert other.same_object(SAME.version_id, SAME.etag, SAME.size, SAME.url)


def test_load_inventory_without_a_file_is_empty(tmp_path: Path) -> None:
    assert load_inventory(tmp_path) == {}


def test_load_inventory_reads_what_format_inventory_wrote(tmp_path: Path) -> None:
    entries = {p: entry(p) for p in AWKWARD_PATHS}
    (tmp_path / INVENTORY).parent.mkdir(parents=True)
    (tmp_path / INVENTORY).write_bytes(format_inventory(entries).encode())
    assert load_inventory(tmp_path) == entries
