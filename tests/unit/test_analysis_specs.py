"""The analysis's pure values: the responses file a run's ROI sets need, the runnable jobs,
and the software pin (parsed, compared, checked, allowed to drift only when asked)."""

from __future__ import annotations

from pathlib import Path

import pytest

from laion_fmri_datalad import config
from laion_fmri_datalad.analysis import software
from laion_fmri_datalad.analysis.jobspec import JobSpec, ResponsesSpec, ranged_inputs
from laion_fmri_datalad.errors import UsageError

pytestmark = pytest.mark.unit


def test_one_responses_file_covers_every_roi_set_of_a_subject() -> None:
    spec = ResponsesSpec.covering("sub-01", ["face", "body+face", "FFA1"])
    assert spec.voxel_set == "FFA1+body+face"
    assert spec.covers("face") and spec.covers("body+FFA1") and not spec.covers("place")
    assert spec.output == "responses/sub-01/sub-01_roi-FFA1+body+face_responses.h5"
    whole = ResponsesSpec.covering("sub-01", ["face", "all"])
    assert whole.voxel_set == "all" and whole.covers("anything+else")


def test_an_encoding_job_reads_the_responses_file_never_the_betas() -> None:
    responses = ResponsesSpec("sub-01", "face")
    job = JobSpec("CLIP", "tau", "sub-01", "face").job(responses, [responses.output], "nc.nii.gz")
    assert job.inputs[0] == responses.output
    assert job.argv[-4:] == ("--responses", responses.output, "--noise-ceiling", "nc.nii.gz")
    assert job.message == "[laion-fmri] Encoding job CLIP_tau_sub-01_roi-face"
    assert responses.job([], []).message == "[laion-fmri] Responses job responses_sub-01_roi-face"


def test_a_responses_job_declares_its_ranged_inputs_and_its_record_says_which() -> None:
    model = "inputs/x/sub-01_ses-01_task-images_space-T1w_desc-GLMsingle_model.h5"
    job = ResponsesSpec("sub-01", "face").job(["mask.nii.gz", "trials.tsv"], [model])
    assert job.inputs == ("mask.nii.gz", "trials.tsv", model)  # the record names all three
    assert job.got == ("mask.nii.gz", "trials.tsv") and job.ranged == (model,)
    lines = job.record_lines()
    assert ranged_inputs(lines, list(job.inputs)) == [model]
    assert ranged_inputs("a record without the line", list(job.inputs)) == []
    assert ResponsesSpec("sub-01", "all").job(["betas.nii.gz"], []).record_lines() == ""


def test_the_pin_names_python_this_package_its_commit_and_its_dependencies() -> None:
    running = software.current()
    assert {"python", "laion-fmri-datalad", "laion-fmri-datalad-commit"} <= set(running)
    assert {"numpy", "h5py", "datalad", "nibabel"} <= set(running)
    assert software.parse(software.render(running)) == running
    assert software.differences(running, dict(running)) == []
    drifted = {**running, "numpy": "0.1"}
    assert software.differences(drifted, running) == [f"numpy {running['numpy']} here, 0.1 pinned"]


def test_other_software_stops_a_job_unless_allowed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(UsageError, match=r"has no code/environment\.txt; pin its software"):
        software.check(tmp_path)
    software.write_pin(tmp_path)
    assert software.check(tmp_path) == []
    pin = tmp_path / software.ENVIRONMENT
    pin.write_text(pin.read_text().replace("numpy==", "numpy==0.1+", 1))
    with pytest.raises(UsageError, match=r"software differs .*: numpy .* here, 0\.1\+.* pinned"):
        software.check(tmp_path)
    monkeypatch.setenv(config.SOFTWARE_DRIFT, "allow")
    assert [d.split()[0] for d in software.check(tmp_path)] == ["numpy"]
