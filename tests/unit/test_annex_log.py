"""Merging git-annex log lines (location log, web URL log) when registering keys."""

from __future__ import annotations

import re

import pytest

from laion_fmri_datalad.builder.annexbranch import WEB_UUID, _merge_log, _stamp

NOW = "1700000500.000000000s"
URL_A = "http://127.0.0.1:9/laion-fmri/sub-01/a.nii.gz?versionId=v1"
URL_B = "http://127.0.0.1:9/laion-fmri/sub-01/b.nii.gz?versionId=v2"


def merged(existing: str, info: list[str], stamp: str = NOW) -> list[str]:
    out = _merge_log(existing.encode(), info, stamp).decode()
    assert out.endswith("\n")
    return out.splitlines()


CASES = [
    # (existing log, info, lines appended) — existing lines are always kept in order
    ("", [WEB_UUID], [f"{NOW} 1 {WEB_UUID}"]),
    ("", [URL_A, URL_B], [f"{NOW} 1 {URL_A}", f"{NOW} 1 {URL_B}"]),
    (f"1700000000.000000000s 1 {WEB_UUID}\n", [WEB_UUID], []),
    (f"1700000000.000000000s 1 {URL_A}\n", [URL_A, URL_B], [f"{NOW} 1 {URL_B}"]),
    # the value is recorded as absent (status 0): a new present line is needed
    (f"1700000000.000000000s 0 {WEB_UUID}\n", [WEB_UUID], [f"{NOW} 1 {WEB_UUID}"]),
    # present, then later absent: the later line wins, so it is marked present again
    (
        f"1700000000.000000000s 1 {URL_A}\n1700000100.000000000s 0 {URL_A}\n",
        [URL_A],
        [f"{NOW} 1 {URL_A}"],
    ),
    # absent, then later present: already present
    (f"1700000000.000000000s 0 {URL_A}\n1700000100.000000000s 1 {URL_A}\n", [URL_A], []),
    # the later time stamp wins whatever the line order
    (f"1700000100.000000000s 1 {URL_A}\n1700000000.000000000s 0 {URL_A}\n", [URL_A], []),
    (
        f"1700000100.000000000s 0 {URL_A}\n1700000000.000000000s 1 {URL_A}\n",
        [URL_A],
        [f"{NOW} 1 {URL_A}"],
    ),
    # equal time stamps: the line written last counts
    (
        f"1700000000.000000000s 1 {URL_A}\n1700000000.000000000s 0 {URL_A}\n",
        [URL_A],
        [f"{NOW} 1 {URL_A}"],
    ),
    (f"1700000000.000000000s 0 {URL_A}\n1700000000.000000000s 1 {URL_A}\n", [URL_A], []),
    # lines about other values do not count for this one
    (f"1700000000.000000000s 1 {URL_B}\n", [URL_A], [f"{NOW} 1 {URL_A}"]),
    # a stamp without the trailing "s" is read too
    (f"1700000000.5 1 {URL_A}\n", [URL_A], []),
    # nothing to add
    (f"1700000000.000000000s 0 {URL_A}\n", [], []),
]


@pytest.mark.parametrize(("existing", "info", "appended"), CASES)
def test_merge_log_keeps_existing_lines_and_appends_missing_values(
    existing: str, info: list[str], appended: list[str]
) -> None:
    assert merged(existing, info) == existing.splitlines() + appended


def test_merge_log_accepts_an_existing_log_without_final_newline() -> None:
    existing = f"1700000000.000000000s 1 {URL_A}"
    assert merged(existing, [URL_A, URL_B]) == [existing, f"{NOW} 1 {URL_B}"]


def test_merge_log_keeps_lines_it_cannot_read() -> None:
    existing = f"garbage\n1700000000.000000000s 1 {URL_A}\n"
    assert merged(existing, [URL_A]) == ["garbage", f"1700000000.000000000s 1 {URL_A}"]


def test_merge_log_treats_the_value_as_everything_after_the_status() -> None:
    with_space = "http://example.org/a b"
    existing = f"1700000000.000000000s 1 {with_space}\n"
    assert merged(existing, [with_space, "http://example.org/a"]) == [
        existing.rstrip("\n"),
        f"{NOW} 1 http://example.org/a",
    ]


def test_merge_log_is_idempotent_for_its_own_output() -> None:
    once = _merge_log(b"", [URL_A, URL_B], NOW)
    assert _merge_log(once, [URL_A, URL_B], "1700000999.000000000s") == once


def test_merge_log_writes_the_given_stamp() -> None:
    lines = merged("", [URL_A], stamp="1234.500000000s")
    assert lines == [f"1234.500000000s 1 {URL_A}"]


def test_stamp_is_seconds_with_nine_decimals_and_an_s() -> None:
    stamp = _stamp()
    assert re.fullmatch(r"[0-9]+\.[0-9]{9}s", stamp)
    assert float(stamp[:-1]) > 1.6e9  # after 2020
