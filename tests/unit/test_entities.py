"""Normalising what users type: subjects, sessions, entity filters, ROI names and labels."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from bids.layout import Query

from laion_fmri_datalad.builder.routing import route, strip_label_hyphens
from laion_fmri_datalad.devserver.fixture.rois import (
    BUCKET_LABELS,
    ROI_CATEGORIES,
    all_rois,
    bucket_label,
)
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.discovery import as_list
from laion_fmri_datalad.layout.ids import session_id, subject_id
from laion_fmri_datalad.layout.names import DEFAULT_STREAMS, STREAMS
from laion_fmri_datalad.loaders.api.roiselect import resolve_rois
from laion_fmri_datalad.loaders.api.trials import trial_rows
from laion_fmri_datalad.loaders.clone.selection import (
    AVERAGES,
    ENTITIES,
    Filters,
    _bare,
    _session_queries,
)

# ---------------------------------------------------------------------------- subjects, sessions


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sub-01", "sub-01"),
        ("01", "sub-01"),
        ("1", "sub-01"),
        (1, "sub-01"),
        (7, "sub-07"),
        (12, "sub-12"),
        ("sub-1", "sub-01"),
        ("sub-007", "sub-07"),
        ("123", "sub-123"),
        ("sub-pilot", "sub-pilot"),
        ("pilot", "sub-pilot"),
    ],
)
def test_subject_id_accepts_prefixed_and_bare_labels(value: object, expected: str) -> None:
    assert subject_id(value) == expected


@pytest.mark.parametrize("value", [None, 1.0, True, False, ["sub-01"], b"01"])
def test_subject_id_rejects_values_that_are_not_str_or_int(value: object) -> None:
    with pytest.raises(UsageError, match="is not a subject id like 'sub-01'"):
        subject_id(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ses-01", "ses-01"),
        ("01", "ses-01"),
        ("1", "ses-01"),
        (1, "ses-01"),
        (34, "ses-34"),
        ("ses-3", "ses-03"),
        ("ses-003", "ses-03"),
        ("ses-PrismaAnat", "ses-PrismaAnat"),
        ("PrismaAnat", "ses-PrismaAnat"),
    ],
)
def test_session_id_accepts_prefixed_and_bare_labels(value: object, expected: str) -> None:
    assert session_id(value) == expected


@pytest.mark.parametrize("value", [None, 1.5, True, ("ses-01",), {"ses": 1}])
def test_session_id_rejects_values_that_are_not_str_or_int(value: object) -> None:
    with pytest.raises(UsageError, match="is not a session id like 'ses-01'"):
        session_id(value)


# ---------------------------------------------------------------------------- entity filters


@pytest.mark.parametrize(
    ("flag", "value", "bare"),
    [
        ("ses", "ses-01", "01"),
        ("ses", "01", "01"),
        ("ses", "1", "01"),
        ("ses", "ses-3", "03"),
        ("ses", "ses-PrismaAnat", "PrismaAnat"),
        ("ses", AVERAGES, AVERAGES),
        ("ses", f"ses-{AVERAGES}", AVERAGES),
        ("task", "task-images", "images"),
        ("task", "images", "images"),
        ("space", "space-T1w", "T1w"),
        ("desc", "desc-SingletrialBetas", "SingletrialBetas"),
        ("desc", "SingletrialBetas", "SingletrialBetas"),
        ("stat", "stat-effect", "effect"),
        ("suffix", "statmap", "statmap"),
        ("extension", "nii.gz", ".nii.gz"),
        ("extension", ".nii.gz", ".nii.gz"),
        ("extension", "tsv", ".tsv"),
        # only the flag's own prefix is removed, and digits are padded for sessions only
        ("task", "ses-01", "ses-01"),
        ("desc", "1", "1"),
    ],
)
def test_bare_removes_the_entity_prefix(flag: str, value: str, bare: str) -> None:
    assert _bare(flag, value) == bare


@pytest.mark.parametrize(
    ("entities", "values"),
    [
        ({}, {}),
        ({"ses": "ses-01"}, {"ses": ["01"]}),
        ({"ses": 1}, {"ses": ["01"]}),
        ({"ses": ["ses-1", "2", 3, AVERAGES]}, {"ses": ["01", "02", "03", AVERAGES]}),
        ({"ses": ("ses-01", "ses-02")}, {"ses": ["01", "02"]}),
        (
            {"desc": ["desc-A", "B"], "stat": "stat-effect"},
            {"desc": ["A", "B"], "stat": ["effect"]},
        ),
        ({"extension": ["nii.gz", ".tsv"]}, {"extension": [".nii.gz", ".tsv"]}),
        ({"ses": None, "task": "task-images"}, {"task": ["images"]}),
    ],
)
def test_filters_of_normalises_each_entity(
    entities: dict[str, Any], values: dict[str, list[str]]
) -> None:
    filters = Filters.of("sub-01", **entities)
    assert filters.values == values
    assert filters.subjects == "sub-01"


def test_filters_of_defaults() -> None:
    filters = Filters.of(None)
    assert filters.subjects == "all"
    assert tuple(filters.streams) == DEFAULT_STREAMS
    assert filters.values == {}


@pytest.mark.parametrize(
    ("streams", "chosen"),
    [
        (None, DEFAULT_STREAMS),
        ("raw", ("raw",)),
        (["rois", "raw"], ("rois", "raw")),
        ("all", tuple(STREAMS)),
        (["rois", "all"], tuple(STREAMS)),
    ],
)
def test_filters_of_chooses_streams(streams: Any, chosen: tuple[str, ...]) -> None:
    assert Filters.of(["sub-01", "sub-02"], streams).streams == chosen


def test_filters_of_rejects_an_unknown_stream_with_a_suggestion() -> None:
    with pytest.raises(UsageError, match=r"no stream 'roi'; known: .*did you mean 'rois'\?"):
        Filters.of("sub-01", ["roi"])


def test_filters_of_rejects_an_unknown_filter() -> None:
    with pytest.raises(UsageError, match="no filter 'run'; known: " + ", ".join(ENTITIES)):
        Filters.of("sub-01", run="01")


@pytest.mark.parametrize("flag", ["ses", "desc", "extension"])
def test_filters_of_rejects_an_empty_list(flag: str) -> None:
    with pytest.raises(UsageError, match=f"--{flag} is empty"):
        Filters.of("sub-01", **{flag: []})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sessions", "queries"),
    [
        (None, [{}]),
        (["01", "02"], [{"session": ["01", "02"]}]),
        ([AVERAGES], [{"session": Query.NONE}]),
        (["01", AVERAGES], [{"session": ["01"]}, {"session": Query.NONE}]),
    ],
)
def test_session_queries(sessions: list[str] | None, queries: list[dict[str, Any]]) -> None:
    assert _session_queries(sessions) == queries


@pytest.mark.parametrize(
    ("value", "listed"),
    [("sub-01", ["sub-01"]), (["a", "b"], ["a", "b"]), ((1, 2), ["1", "2"]), ("", [""])],
)
def test_as_list_wraps_a_string_and_stringifies_items(value: Any, listed: list[str]) -> None:
    assert as_list(value) == listed


# ---------------------------------------------------------------------------- ROI grammar

AVAILABLE: dict[str, list[str]] = {
    "face": ["FFA1", "FFA2", "OFA"],
    "place": ["OPA", "PPA"],
    "retinotopy": ["V1d", "V1v"],
}


@pytest.mark.parametrize(
    ("spec", "names"),
    [
        ("FFA1", ["FFA1"]),
        ("face", ["FFA1", "FFA2", "OFA"]),
        ("all", ["FFA1", "FFA2", "OFA", "OPA", "PPA", "V1d", "V1v"]),
        (["PPA", "FFA1"], ["PPA", "FFA1"]),
        (["FFA2", "face"], ["FFA2", "FFA1", "OFA"]),
        (("place", "PPA", "place"), ["OPA", "PPA"]),
        (["V1v", "all"], ["V1v", "FFA1", "FFA2", "OFA", "OPA", "PPA", "V1d"]),
    ],
)
def test_resolve_rois_unions_names_and_categories_in_order(
    spec: str | list[str] | tuple[str, ...], names: list[str]
) -> None:
    assert resolve_rois(spec, AVAILABLE, "sub-01") == names


def test_resolve_rois_prefers_a_category_over_a_roi_of_the_same_name() -> None:
    available = {"MT": ["MT", "MST"], "other": ["X"]}
    assert resolve_rois("MT", available, "sub-01") == ["MT", "MST"]


def test_resolve_rois_rejects_an_empty_list() -> None:
    with pytest.raises(UsageError, match="roi is an empty list"):
        resolve_rois([], AVAILABLE, "sub-01")


def test_resolve_rois_rejects_a_non_string_item() -> None:
    with pytest.raises(UsageError, match="roi 3 is not a string"):
        resolve_rois(["FFA1", 3], AVAILABLE, "sub-01")  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("item", "suggestion"),
    [("FFA-1", "FFA1"), ("ffa1", "FFA1"), ("faces", "face"), ("al", "all")],
)
def test_resolve_rois_names_the_subject_and_suggests_for_an_unknown_item(
    item: str, suggestion: str
) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_rois(["PPA", item], AVAILABLE, "sub-03")
    message = str(caught.value)
    assert message.startswith(f"no ROI or category {item!r} for sub-03; known: ")
    assert message.endswith(f"did you mean {suggestion!r}?")
    assert "retinotopy" in message and "V1d" in message


# ---------------------------------------------------------------------------- ROI labels


@pytest.mark.parametrize(
    ("roi", "label"),
    [
        ("FFA1", "FFA-1"),
        ("FFA2", "FFA-2"),
        ("pSTSfaces", "pSTS-faces"),
        ("VWFA1", "VWFA-1"),
        ("mfswords", "mfs-words"),
        ("PPA", "PPA"),
        ("hV4", "hV4"),
        ("unknownROI", "unknownROI"),
    ],
)
def test_bucket_label_restores_the_bucket_spelling(roi: str, label: str) -> None:
    assert bucket_label(roi) == label


@pytest.mark.parametrize("roi", all_rois())
def test_strip_label_hyphens_inverts_bucket_label_for_every_roi(roi: str) -> None:
    assert strip_label_hyphens(f"x_label-{bucket_label(roi)}_mask") == f"x_label-{roi}_mask"


@pytest.mark.parametrize("roi", sorted(BUCKET_LABELS))
def test_routing_maps_the_bucket_label_to_the_dataset_label(roi: str) -> None:
    key = (
        f"derivatives/rois/sub-01/x/sub-01_space-T1w_res-1pt8_label-{bucket_label(roi)}_mask.nii.gz"
    )
    routed = route(key)
    assert routed is not None
    assert routed.path == f"sub-01/x/sub-01_space-T1w_res-1pt8_label-{roi}_mask.nii.gz"
    assert strip_label_hyphens(f"_label-{bucket_label(roi)}_") == f"_label-{roi}_"


def test_all_rois_lists_every_category_member_once() -> None:
    rois = all_rois()
    assert len(rois) == len(set(rois)) == sum(len(v) for v in ROI_CATEGORIES.values())
    assert rois[:2] == list(ROI_CATEGORIES["body"])
    assert set(BUCKET_LABELS) <= set(rois)
    assert all("-" not in roi for roi in rois)


# ---------------------------------------------------------------------------- trial selection

TRIALS = pd.DataFrame(
    {"label": ["shared_a", "unique_b", "shared_c", "shared_4rep_OOD_x", "unique_d", "blank"]}
)


@pytest.mark.parametrize(
    ("stimuli", "rows"),
    [
        (None, [0, 1, 2, 3, 4, 5]),
        ("shared", [0, 2, 3]),
        ("unique", [1, 4]),
        (["unique_d", "shared_a"], [0, 4]),
        (("blank",), [5]),
        ([], []),
        (["missing"], []),
    ],
)
def test_trial_rows_picks_shared_unique_or_named_images(
    stimuli: str | list[str] | tuple[str, ...] | None, rows: list[int]
) -> None:
    assert trial_rows(TRIALS, stimuli) == rows


def test_trial_rows_rejects_another_string() -> None:
    with pytest.raises(UsageError, match="stimuli 'shared_a' is not allowed"):
        trial_rows(TRIALS, "shared_a")
