"""One-line errors for unknown values, with the closest known value."""

from __future__ import annotations

import pytest

from laion_fmri_datalad.checks.choices import MAX_LISTED, closest, unknown
from laion_fmri_datalad.errors import UsageError

SESSIONS = ["ses-01", "ses-02", "ses-10"]
ROIS = ["FFA1", "FFA2", "OFA", "pSTSfaces", "PPA", "V1d", "V1v", "hV4"]


@pytest.mark.parametrize(
    ("value", "known", "expected"),
    [
        ("ses-01", SESSIONS, "ses-01"),
        ("SES-01", SESSIONS, "ses-01"),
        ("ses-100", SESSIONS, "ses-10"),
        ("ses-001", SESSIONS, "ses-01"),
        ("ffa1", ROIS, "FFA1"),
        ("pstsfaces", ROIS, "pSTSfaces"),
        ("pSTS-faces", ROIS, "pSTSfaces"),
        ("hv4", ROIS, "hV4"),
        ("FFA-1", ROIS, "FFA1"),
        ("PPa", ROIS, "PPA"),
        ("xyzzy", ROIS, None),
        ("anything", [], None),
        ("", SESSIONS, None),
    ],
)
def test_closest(value: str, known: list[str], expected: str | None) -> None:
    assert closest(value, known) == expected


def test_closest_prefers_the_first_spelling_of_a_case_insensitive_duplicate() -> None:
    assert closest("abc", ["ABC", "abc", "Abc"]) == "ABC"


def test_closest_accepts_any_iterable() -> None:
    assert closest("ses-02", iter(SESSIONS)) == "ses-02"


def test_unknown_is_a_usage_error() -> None:
    error = unknown("session", "ses-99", SESSIONS)
    assert isinstance(error, UsageError)
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("kind", "value", "known", "where", "message"),
    [
        (
            "session",
            "ses-100",
            SESSIONS,
            "for sub-01",
            "no session 'ses-100' for sub-01; known: ses-01, ses-02, ses-10; "
            "did you mean 'ses-10'?",
        ),
        (
            "session",
            "ses-001",
            SESSIONS,
            "",
            "no session 'ses-001'; known: ses-01, ses-02, ses-10; did you mean 'ses-01'?",
        ),
        ("stream", "xyzzy", ["raw", "rois"], "", "no stream 'xyzzy'; known: raw, rois"),
        ("subject", "sub-01", [], "", "no subject 'sub-01'; known: (none)"),
        (
            "ROI or category",
            "ffa1",
            ROIS,
            "for sub-02",
            "no ROI or category 'ffa1' for sub-02; known: FFA1, FFA2, OFA, pSTSfaces, PPA, "
            "V1d, V1v, hV4; did you mean 'FFA1'?",
        ),
        # an exact match is not suggested again
        ("stream", "raw", ["raw", "rois"], "", "no stream 'raw'; known: raw, rois"),
        # duplicates are listed once, in first-seen order
        ("stream", "zzz", ["b", "a", "b", "a"], "", "no stream 'zzz'; known: b, a"),
        # the value is shown with repr: an int stays unquoted
        ("session", 99, SESSIONS, "", "no session 99; known: ses-01, ses-02, ses-10"),
    ],
)
def test_unknown_message(
    kind: str, value: object, known: list[str], where: str, message: str
) -> None:
    assert str(unknown(kind, value, known, where)) == message


@pytest.mark.parametrize(
    ("count", "truncated"),
    [(MAX_LISTED - 1, False), (MAX_LISTED, False), (MAX_LISTED + 1, True), (40, True)],
)
def test_unknown_lists_at_most_twelve_names_then_the_count(count: int, truncated: bool) -> None:
    known = [f"name{i:02d}" for i in range(count)]
    message = str(unknown("thing", "zzzzzz", known))
    listed = message.split("; known: ", 1)[1].split("; did you mean", 1)[0]
    names = listed.split(", ")
    if truncated:
        assert names[:MAX_LISTED] == known[:MAX_LISTED]
        assert names[MAX_LISTED:] == [f"... ({count} in all)"]
        assert known[MAX_LISTED] not in message
    else:
        assert names == known
        assert "in all" not in message


def test_unknown_counts_distinct_names_when_truncating() -> None:
    known = [f"n{i}" for i in range(MAX_LISTED + 3)] * 2
    assert str(unknown("thing", "zzzzzz", known)).endswith(f"... ({MAX_LISTED + 3} in all)")


def test_unknown_suggests_a_name_beyond_the_listed_ones() -> None:
    known = [f"name{i:02d}" for i in range(MAX_LISTED)] + ["hV4"]
    message = str(unknown("ROI", "hv4", known))
    assert "hV4, " not in message.split("; did you mean")[0]
    assert message.endswith("did you mean 'hV4'?")


def test_unknown_suggests_the_known_spelling_of_a_different_case() -> None:
    assert str(unknown("ROI", "PSTSFACES", ROIS)).endswith("did you mean 'pSTSfaces'?")
