"""The published split format: parsing, import checks, the recorded copy, comparisons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.splits.api import (
    Split,
    SplitFormatError,
    SplitVariant,
    parse_split,
    read_split,
)
from laion_fmri_datalad.splits.compare import compare_sets, compare_split
from laion_fmri_datalad.splits.published import copy_command, scan_directory, url_target

OOD_TEST = ["shared_4rep_OOD_shape_x.png", "shared_4rep_OOD_gabor_y 1.2.png"]
OOD: dict[str, Any] = {
    "name": "ood",
    "pool": "sub-04 full pool (5833 images)",
    "splitter": "ood_holdout",
    "params": {"method": "ood_dataset_holdout", "ood_types": ["gabor", "shape"]},
    "n_train": 2,
    "n_test": 2,
    "variants": [
        {
            "variant_id": 0,
            "train_ids": ["a.jpg", "b.jpg"],
            "test_ids": OOD_TEST,
        }
    ],
}


@pytest.mark.parametrize("indent", [None, 2])
def test_a_published_file_reads_compact_or_indented(tmp_path: Path, indent: int | None) -> None:
    path = tmp_path / "sub-03" / "ood.json"
    path.parent.mkdir()
    path.write_text(json.dumps(OOD, indent=indent))
    split = read_split(path, "published")
    assert split.pool == "sub-03"  # the directory, not the label (which says sub-04)
    assert split.label == "sub-04 full pool (5833 images)"
    assert split.ood_types == ["gabor", "shape"] and split.source == "published"
    assert split.variants[0].all_ids() == ["a.jpg", "b.jpg", *OOD_TEST]


def test_older_regenerated_ood_files_give_their_types() -> None:
    older = {**OOD, "params": {"types": {"shape": 1, "gabor": 1}, "test_types": {}}}
    assert parse_split(older, "shared").ood_types == ["gabor", "shape"]
    bare = {**OOD, "params": {}}  # no list at all: the types in the test names
    assert parse_split(bare, "shared").ood_types == ["gabor", "shape"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "not a JSON object"),
        ({"name": "x"}, "no variants field"),
        ({"name": "x", "variants": []}, "no variants"),
        ({"name": "x", "variants": [{"train_ids": []}]}, "a variant without 'test_ids'"),
    ],
)
def test_a_malformed_split_is_a_format_error(data: object, message: str) -> None:
    with pytest.raises(SplitFormatError, match=message):
        parse_split(data, "shared")


def write(root: Path, pool: str, name: str, data: object) -> None:
    (root / pool).mkdir(parents=True, exist_ok=True)
    (root / pool / f"{name}.json").write_text(json.dumps(data))


def test_scan_directory_lists_pools_and_refuses_what_is_not_a_split(tmp_path: Path) -> None:
    write(tmp_path, "shared", "ood", OOD)
    write(tmp_path, "sub-03", "ood", OOD)
    assert {p: [f.name for f in fs] for p, fs in scan_directory(tmp_path).items()} == {
        "shared": ["ood.json"],
        "sub-03": ["ood.json"],
    }
    write(tmp_path, "shared", "tau", OOD)  # names split 'ood'
    write(tmp_path, "subject3", "ood", OOD)
    with pytest.raises(UsageError, match=r"names split 'ood', not 'tau'.*subject3/ is not a pool"):
        scan_directory(tmp_path)
    with pytest.raises(UsageError, match=r"has no <pool>/<split>\.json"):
        scan_directory(tmp_path / "shared")


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://example.org/splits/sub-03/random_0.json", ("sub-03", "random_0.json")),
        ("http://127.0.0.1:8000/data/pooled/tau.json?x=1", ("pooled", "tau.json")),
        ("https://h/a%20b/shared/cluster_k5_4.json", ("shared", "cluster_k5_4.json")),
    ],
)
def test_url_target_is_the_last_two_path_parts(url: str, target: tuple[str, str]) -> None:
    assert url_target(url) == target


@pytest.mark.parametrize(
    "url", ["https://h/tau.json", "https://h/sub-3/tau.json", "https://h/shared/tau.txt"]
)
def test_url_target_refuses_other_paths(url: str) -> None:
    with pytest.raises(UsageError, match=r"does not end in <pool>/<split>\.json"):
        url_target(url)


def test_copy_command_replaces_the_published_set_from_a_quoted_source() -> None:
    command = copy_command(Path("/data/up stream"), ["shared", "sub-01"])
    assert command == (
        "rm -f derivatives/splits/published/*/*.json"
        " && mkdir -p derivatives/splits/published/shared derivatives/splits/published/sub-01"
        " && cp -- '/data/up stream/shared'/*.json derivatives/splits/published/shared/"
        " && cp -- '/data/up stream/sub-01'/*.json derivatives/splits/published/sub-01/"
    )


def split_of(train: list[str], test: list[str], params: dict[str, object] | None = None) -> Split:
    variant = SplitVariant(0, train, test)
    return Split(
        "random_0", "sub-01", "random_kfold", params or {}, len(train), len(test), [variant]
    )


def test_compare_split_counts_moves_and_the_jaccard_of_the_test_sets() -> None:
    published = split_of(["a", "b", "c", "d"], ["e", "f", "g"])
    regenerated = split_of(["a", "b", "e", "g"], ["c", "d", "f"], {"revision": 2})
    got = compare_split(published, regenerated)
    assert got.status == "differs" and got.n_test == (3, 3)
    assert got.jaccard == pytest.approx(1 / 5)  # {f} of {c, d, e, f, g}
    assert (got.to_train, got.to_test, got.other_images) == (2, 2, 0)
    assert not got.same_params
    assert "differs: test-set Jaccard 0.200" in got.line()
    same = compare_split(split_of(["b", "a"], ["c"]), split_of(["a", "b"], ["c"]))
    assert same.status == "identical" and same.line().strip() == "random_0      identical"


def test_compare_sets_reports_splits_on_one_side_only(tmp_path: Path) -> None:
    write(tmp_path / "pub", "shared", "ood", OOD)
    write(tmp_path / "pub", "sub-03", "ood", OOD)
    write(tmp_path / "regen", "shared", "ood", {**OOD, "pool": "another label"})
    write(tmp_path / "regen", "pooled", "tau", {**OOD, "name": "tau"})
    report = compare_sets(tmp_path / "pub", tmp_path / "regen")
    assert [(c.pool, c.name, c.status) for c in report.items] == [
        ("pooled", "tau", "only regenerated"),
        ("shared", "ood", "identical"),
        ("sub-03", "ood", "only published"),
    ]
    assert report.ok and not compare_sets(tmp_path / "pub", tmp_path / "regen", strict=True).ok
    assert report.summary() == (
        "1 of 3 splits identical, 0 differ, 1 only published, 1 only regenerated"
    )
