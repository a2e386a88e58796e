"""The synthetic catalogue has the real image names and counts (DESIGN §2.7, rev 2)."""

from __future__ import annotations

import io
import re
from collections import Counter

import pandas as pd
import pytest

from laion_fmri_datalad.devserver.fixture.catalogue import Image, build_catalogue
from laion_fmri_datalad.devserver.fixture.stimuli import metadata_csv
from laion_fmri_datalad.layout.imagenames import ood_type as ood_type_of
from laion_fmri_datalad.layout.imagenames import owner_of

# The facts of §2.7, written out here rather than imported from the generator.
CODES = {"sub-01": "p01", "sub-06": "p02", "sub-05": "p03", "sub-03": "p04", "sub-07": "p05"}
OOD_COUNTS = {
    "shape": 82, "relations": 72, "unusual": 64, "cropped": 60, "selfmade": 30, "gaudy": 24,
    "illusion-classic": 21, "gabor": 10, "illusion-natural": 8,
}  # fmt: skip
SHARED_KINDS = {
    "LAION": (r"^shared_12rep_LAION_cluster_\d+(_sorted-out)?_i\d+\.jpg$", 641, 12),
    "THINGSplus": (r"^shared_12rep_THINGS\+_kmeans_\d+_[a-z]+(_[a-z]+)*\d*\.jpg$", 240, 12),
    "NSD100": (r"^shared_4rep_NSD_special100_\d+\.jpg$", 100, 4),
    "NSD1000": (r"^shared_4rep_NSD_special1000_\d+\.jpg$", 140, 4),
    "OOD": (r"^shared_4rep_OOD_[a-z-]+_.+\.(png|jpg)$", 371, 4),
}
UNIQUE_KINDS = {
    ("LAION", "initial"): 3166,
    ("LAION", "fillup"): 725,
    ("LAION", "new"): 355,
    ("THINGSplus", ""): 322,
    ("THINGS", ""): 144,
}
_UNIQUE = re.compile(
    r"^unique_(?:LAION_(?P<batch>initial|fillup|new)_cluster_\d+_i\d+"
    r"|(?P<things>THINGS\+?)_(?P<concept>[a-z0-9_]+))_(?P<code>p\d\d)\.jpg$"
)


@pytest.fixture(scope="module")
def catalogue() -> list[Image]:
    return build_catalogue()


def test_total_and_every_name_is_unique(catalogue: list[Image]) -> None:
    names = [im.name for im in catalogue]
    assert len(names) == 25_052
    assert len(set(names)) == 25_052
    assert sum(im.unique_or_shared == "shared" for im in catalogue) == 1_492


@pytest.mark.parametrize("kind", sorted(SHARED_KINDS))
def test_shared_name_kinds_have_the_real_counts(catalogue: list[Image], kind: str) -> None:
    pattern, count, reps = SHARED_KINDS[kind]
    matched = [im for im in catalogue if re.match(pattern, im.name)]
    assert len(matched) == count
    assert all(im.participant == "shared" and im.n_reps == reps for im in matched)
    dataset = {"NSD100": "NSD", "NSD1000": "NSD"}.get(kind, kind)
    assert {im.dataset for im in matched} == {dataset}


def test_shared_names_are_exactly_the_five_kinds(catalogue: list[Image]) -> None:
    shared = [im.name for im in catalogue if im.participant == "shared"]
    kinds = [[k for k, (p, _, _) in SHARED_KINDS.items() if re.match(p, n)] for n in shared]
    assert all(len(k) == 1 for k in kinds)
    laion = [n for n in shared if n.startswith("shared_12rep_LAION_")]
    assert any("_sorted-out_" in n for n in laion) and not all("_sorted-out_" in n for n in laion)


def test_ood_types_counts_and_awkward_names(catalogue: list[Image]) -> None:
    ood = [im.name for im in catalogue if im.dataset == "OOD"]
    assert Counter(ood_type_of(n) for n in ood) == OOD_COUNTS
    assert {n.rsplit(".", 1)[1] for n in ood} == {"png", "jpg"}
    assert any(" " in n for n in ood)
    assert any(n.count(".") > 1 for n in ood)
    assert any(
        re.match(r"^shared_4rep_OOD_unusual_Screenshot .+ at \d+\.\d+\.\d+\.jpg$", n) for n in ood
    )
    for im in catalogue:
        if im.dataset == "OOD":
            assert im.ood_type == ood_type_of(im.name)


@pytest.mark.parametrize("subject", sorted(CODES))
def test_unique_names_carry_the_participant_code(catalogue: list[Image], subject: str) -> None:
    own = [im for im in catalogue if im.participant == subject]
    assert len(own) == 4_712
    kinds: Counter[tuple[str, str]] = Counter()
    for im in own:
        found = _UNIQUE.match(im.name)
        assert found is not None, im.name
        assert found["code"] == CODES[subject]
        assert owner_of(im.name) == subject
        dataset = (
            "LAION"
            if found["batch"]
            else {"THINGS+": "THINGSplus"}.get(found["things"], found["things"])
        )
        assert im.dataset == dataset and im.n_reps == 4
        kinds[(dataset, found["batch"] or "")] += 1
    assert dict(kinds) == UNIQUE_KINDS


def test_codes_are_not_the_subject_digits(catalogue: list[Image]) -> None:
    for subject, code in CODES.items():
        if code[1:] != subject[4:]:
            digits = f"_p{subject[4:]}.jpg"
            own = [im.name for im in catalogue if im.participant == subject]
            assert not any(n.endswith(digits) for n in own)


def test_things_concepts_have_underscores_and_trailing_digits(catalogue: list[Image]) -> None:
    concepts = [m["concept"] for im in catalogue if (m := _UNIQUE.match(im.name)) and m["things"]]
    assert any("_" in c for c in concepts)
    assert any(c[-1].isdigit() for c in concepts)
    assert any(c.isalpha() for c in concepts)


def test_shared_names_have_no_owner(catalogue: list[Image]) -> None:
    assert all(owner_of(im.name) is None for im in catalogue if im.participant == "shared")


def test_metadata_table_reads_back_with_the_awkward_names(catalogue: list[Image]) -> None:
    table = pd.read_csv(io.BytesIO(metadata_csv(catalogue)))
    assert list(table.columns) == [
        "image_name",
        "dataset",
        "participant",
        "unique_or_shared",
        "n_reps",
    ]
    assert table["image_name"].tolist() == [im.name for im in catalogue]
    assert set(table["dataset"]) == {"LAION", "THINGSplus", "THINGS", "NSD", "OOD"}
    assert (table["n_reps"] == 12).sum() == 881 and (table["n_reps"] == 4).sum() == 24_171
