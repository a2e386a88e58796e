"""The superdataset's layout in one place: ids, entities from paths, stream names."""

from __future__ import annotations

import pytest

from laion_fmri_datalad.builder.routing import route
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.entities import name_entities, suffix_and_extension, values_in
from laion_fmri_datalad.layout.ids import label, run_number
from laion_fmri_datalad.layout.names import DERIVATIVE_STREAMS, STREAMS, derivative

BOLD = "sub-01/ses-01/func/sub-01_ses-01_task-images_run-02_echo-1_part-mag_bold.nii.gz"


@pytest.mark.parametrize(
    ("entity", "value", "bare"),
    [
        ("ses", "ses-1", "01"), ("ses", 3, "03"), ("ses", "PrismaAnat", "PrismaAnat"),
        ("run", "run-7", "07"), ("sub", "1", "01"), ("desc", "desc-X", "X"),
        ("echo", "1", "1"),  # not padded: echo-1 in the names
    ],
)  # fmt: skip
def test_label_strips_the_prefix_and_pads_ids(entity: str, value: object, bare: str) -> None:
    assert label(entity, value) == bare


@pytest.mark.parametrize(("value", "number"), [("run-03", 3), ("3", 3), (12, 12)])
def test_run_numbers(value: object, number: int) -> None:
    assert run_number(value) == number


def test_a_run_that_is_no_number_is_refused() -> None:
    with pytest.raises(UsageError, match="run 'run-x' is not a run number like 'run-01'"):
        run_number("run-x")


def test_entities_of_a_name_and_of_a_whole_path() -> None:
    assert name_entities(BOLD) == {
        "sub": "01",
        "ses": "01",
        "task": "images",
        "run": "02",
        "echo": "1",
        "part": "mag",
    }
    assert values_in(BOLD, "ses") == {"01"} and values_in(BOLD, "desc") == set()
    assert values_in("sub-01/ses-02/anat/x_T1w.nii.gz", "ses") == {"02"}  # from the folder
    assert suffix_and_extension(BOLD) == ("bold", "nii.gz")
    assert name_entities("sub-01_ses-02") == {"sub": "01", "ses": "02"}  # a cache label


def test_every_derivative_stream_is_routed_to_its_subdataset() -> None:
    for stream in DERIVATIVE_STREAMS:
        routed = route(f"derivatives/{stream}/sub-01/x.tsv")
        assert routed is not None and routed.subdataset == derivative(stream) == STREAMS[stream]
