"""The analysis dataset and the encoding analysis fanned out on a real Dask LocalCluster
(2 worker processes), in the FAIRly-big pattern, in two stages: the responses stage against
the loaders' own z-scored, repeat-averaged betas; the job lifecycle (success, a failing job
named with its log and not merged, a second run that runs only what is missing); grouped
jobs (one clone, one push and one branch per task, none left after the merge); job clones
that take their inputs from the run's one fetch, not from the bucket; the software pinned
and checked; ``datalad rerun`` of a job in a fresh clone reproducing its outputs byte for
byte, ``verify``; the whole brain; and the planted-signal check of the reference model."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from laion_fmri_datalad.analysis import plan_run, request, run_jobs
from laion_fmri_datalad.analysis import responses as stage
from laion_fmri_datalad.analysis.create import OUTPUT, STORAGE, create_analysis
from laion_fmri_datalad.analysis.encodejob import NC_DESC, fit
from laion_fmri_datalad.analysis.fetch import fetch_inputs
from laion_fmri_datalad.analysis.jobspec import STATS, JobSpec, ResponsesSpec
from laion_fmri_datalad.analysis.merge import merge_job_branches
from laion_fmri_datalad.analysis.sharing import default_shared, job_env, link_datasets
from laion_fmri_datalad.analysis.software import ENVIRONMENT
from laion_fmri_datalad.analysis.worker import run_task
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.cli import main
from laion_fmri_datalad.config import SOFTWARE_DRIFT
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.names import ANALYSIS_INPUTS
from laion_fmri_datalad.loaders.api.subject import Subject, load_subject
from laion_fmri_datalad.loaders.betas.reader import average_repeats
from laion_fmri_datalad.loaders.clone.content import human, is_present
from laion_fmri_datalad.provenance.rerun import verify_runs
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.runtime.locks import file_lock
from laion_fmri_datalad.runtime.progress import no_bar
from laion_fmri_fixtures import analysis_input

FAILING = "sub-03"  # the planted bug below makes this subject's job fail
BUG = f'import sys\nif "{FAILING}" in sys.argv:\n    sys.exit("planted failure for {FAILING}")\n'


@pytest.fixture(scope="module")
def superdataset(
    clone_of: Callable[[str, Path], Path],
    built: tuple[Path, BuildReport],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    return analysis_input(clone_of, built[0], tmp_path_factory.mktemp("analysis-input"))


@pytest.fixture(scope="module")
def analysis(superdataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("analysis") / "encoding"
    create_analysis(target, str(superdataset))
    return target


def summaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "results").rglob("*_summary.tsv"))


def store_branches(analysis: Path) -> list[str]:
    url = git(analysis, "remote", "get-url", OUTPUT).strip()
    return git(None, "ls-remote", "--heads", url, "refs/heads/job/*").split()[1::2]


def reference_responses(sub: Subject, rois: list[str]) -> tuple[list[str], np.ndarray]:
    """The loaders' own answer: every session's ``get_betas(zscore=True)``, then the mean
    over every show of an image across sessions, images in name order."""
    values, tables = [], []
    for session in sub.get_sessions():
        betas, trials = sub.get_betas(session, roi=rois, zscore=True, return_trials=True)
        values.append(betas)
        tables.append(trials)
    import pandas as pd

    means, images = average_repeats(np.concatenate(values), pd.concat(tables, ignore_index=True))
    order = np.argsort(images["label"].to_numpy(), kind="stable")
    return [str(n) for n in images["label"].to_numpy()[order]], means[order]


def test_create_makes_a_yoda_dataset_with_the_inputs_and_a_store(analysis: Path) -> None:
    assert (analysis / ANALYSIS_INPUTS / ".datalad" / "config").is_file()
    assert ANALYSIS_INPUTS in git(analysis, "config", "-f", ".gitmodules", "--get-regexp", "path")
    assert "laion_fmri_datalad.analysis.encodejob" in (analysis / "code/encode.py").read_text()
    assert "laion_fmri_datalad.analysis.responses" in (analysis / "code/responses.py").read_text()
    pin = (analysis / ENVIRONMENT).read_text()
    assert f"python=={sys.version.split()[0]}" in pin and "numpy==" in pin
    assert "laion-fmri-datalad-commit==" in pin
    assert "datalad rerun" in (analysis / "README.md").read_text()
    assert git(analysis, "status", "--porcelain") == ""
    remotes = git(analysis, "remote").split()
    assert "output" in remotes
    assert STORAGE in git(analysis, "annex", "info", "--fast")


def test_create_refuses_bad_targets_and_sources(analysis: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="exists and is not empty"):
        create_analysis(analysis, str(analysis / ANALYSIS_INPUTS))
    with pytest.raises(UsageError, match="is not a DataLad dataset"):
        create_analysis(tmp_path / "new", str(tmp_path))
    with pytest.raises(UsageError, match="is not an absolute path"):
        create_analysis(tmp_path / "new", str(analysis / ANALYSIS_INPUTS), "ria+file://relative")
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


def test_bad_request_is_one_line_before_any_job(analysis: Path) -> None:
    with pytest.raises(UsageError, match="no subject 'sub-99'"):
        request(analysis, ["sub-99"], ["random_0"], ["face"], ["CLIP"])
    jobs = request(analysis, ["sub-01"], ["no_such_split"], ["face"], ["CLIP"])
    with pytest.raises(UsageError, match="no split 'no_such_split'"):
        run_jobs(analysis, jobs, workers=1)
    with pytest.raises(UsageError, match="jobs per task"):
        run_jobs(analysis, jobs, workers=1, per_task=0)
    lock = analysis / ".git/laion-fmri/analysis-run.lock"
    with (
        file_lock(lock),
        pytest.raises(UsageError, match=r"another analysis run in .* is going on \(pid \d+\)"),
    ):
        run_jobs(analysis, jobs, workers=1)  # a second driver in the same dataset
    assert summaries(analysis) == []


def test_fan_out_failure_and_rerun_of_only_the_missing_job(
    analysis: Path, identities: Callable[..., set[str]], test_user: str
) -> None:
    good = git(analysis, "rev-parse", "HEAD").strip()
    script = analysis / "code/encode.py"
    original = script.read_text()
    script.write_text(original.replace("import sys\n", BUG, 1))
    datalad.call("save", dataset=str(analysis), path=[str(script)], message="a bug")
    jobs = request(analysis, ["sub-01", FAILING], ["random_0"], ["face"], ["CLIP"])

    said: list[str] = []
    first = run_jobs(analysis, jobs, workers=2, announce=said.append)
    assert not first.ok
    assert [o.job_id for o in first.failed] == [f"CLIP_random_0_{FAILING}_roi-face"]
    failed = first.failed[0]
    assert "datalad run failed" in failed.error
    assert f"planted failure for {FAILING}" in Path(failed.log).read_text()
    # the responses stage ran first, one job per subject; the encoding jobs read its files
    assert sorted(first.stages["responses"].merge.merged) == [
        f"responses_{s}_roi-face" for s in ("sub-01", FAILING)
    ]
    assert first.stages["encoding"].merge.merged == ["CLIP_random_0_sub-01_roi-face"]
    assert first.fetch.fetched > 0 and first.fetch.fetched_bytes > 0
    assert set(first.seconds) == {"plan", "fetch", "responses", "encoding"}
    # an ROI set's responses read each session's model.h5 rows by byte ranges: its row
    # cache in the shared directory, no 4D betas got or cached, none in the fetch
    cached = default_shared(analysis) / "cache/betas"
    rows = sorted(p.name.split("--")[0] for p in cached.glob("*--rows"))
    assert rows == sorted(f"{s}_{ses}" for s in ("sub-01", FAILING) for ses in ("ses-01", "ses-02"))
    assert list(cached.glob("*.h5")) == []
    inputs = analysis / ANALYSIS_INPUTS
    unread = [*inputs.rglob("*_desc-SingletrialBetas_statmap.nii.gz"), *inputs.rglob("*_model.h5")]
    assert unread and not any(is_present(p) for p in unread)
    record = git(analysis, "log", "-1", "--format=%B", "--grep", "Responses job responses_sub-01")
    assert "_desc-GLMsingle_model.h5" in record and "SingletrialBetas_statmap" not in record
    assert "Read by byte ranges: the 2 inputs ending _model.h5" in record
    # the plan names them, and once the masks are here, the bytes and requests they cost:
    # the face ROI's rows of every trial, as the reader coalesces them
    assert "2 read ROI sets from 4 model.h5 files by byte ranges" in said[0]
    expected = sum(stage.range_bytes(inputs, s, "face")[0] for s in ("sub-01", FAILING))
    sub = load_subject("sub-01", dataset=inputs, fetch=False)
    row = len(sub.get_trial_info("ses-01")) * 4  # the bytes of a voxel's trials
    ranged = stage.range_bytes(inputs, "sub-01", "face")[0] / 2  # per session
    assert int(sub.get_roi_mask("face").sum()) * row <= ranged < sub.get_n_voxels() * row
    assert f"range reads: {human(expected)} in " in said[1]
    assert store_branches(analysis) == []  # merged branches deleted; the failed task pushed none
    done = JobSpec("CLIP", "random_0", "sub-01", "face")
    assert summaries(analysis) == [done.summary]
    # every output of the merged job: its run record, its bytes in the store
    for path in done.outputs:
        log = git(analysis, "log", "--format=%s", "-1", "--", path)
        assert "Encoding job CLIP_random_0_sub-01_roi-face" in log, path
    for stat in STATS:
        whereis = git(analysis, "annex", "whereis", done.statmap(stat))
        assert STORAGE in whereis
    # the encoding job's record names the responses file, the embeddings, the split and
    # the noise ceiling as its inputs, never the betas
    record = git(analysis, "log", "-1", "--format=%B", "--grep", f"Encoding job {done.job_id}")
    assert "sub-01_roi-face_responses.h5" in record and "Noiseceiling" in record
    assert "SingletrialBetas" not in record and "Software: python" in record

    script.write_text(original)  # the bug fixed
    datalad.call("save", dataset=str(analysis), path=[str(script)], message="fixed")
    second = run_jobs(analysis, jobs, workers=2)
    assert second.ok, second.details()
    assert (second.already, len(second.outcomes)) == (1, 1)  # no responses job again
    assert second.fetch.fetched == 0  # everything it reads was fetched by the first run
    assert len(summaries(analysis)) == 2

    assert (
        main(
            [
                "analysis",
                "run",
                "encoding",
                "-d",
                str(analysis),
                "--subject",
                "sub-01",
                FAILING,
                "--split",
                "random_0",
                "--roi",
                "face",
                "-J",
                "1",
            ]
        )
        == 0
    )
    assert git(analysis, "rev-parse", "HEAD").strip() != good

    # results removed (and committed) are missing again: the job runs again and its branch
    # in the store, merged before, is replaced
    git(analysis, "rm", "-r", "-q", done.out_dir)
    git(analysis, "commit", "-q", "-m", "drop sub-01's results")
    third = run_jobs(analysis, jobs, workers=1)
    assert third.ok, third.details()
    assert (third.already, [o.job_id for o in third.outcomes]) == (1, [done.job_id])
    assert len(summaries(analysis)) == 2
    # the user's identity on every commit the analysis made: its creation, each job's
    # datalad run record (made in a Dask worker's clone), every merge
    assert identities(analysis) == {test_user}


def test_the_responses_file_holds_the_loaders_own_averaged_betas(analysis: Path) -> None:
    spec = ResponsesSpec("sub-01", "face")
    datalad.call("get", dataset=str(analysis), path=[str(analysis / spec.output)])
    sub = load_subject("sub-01", dataset=analysis / ANALYSIS_INPUTS)
    responses = stage.open_responses(analysis / spec.output, "face")
    names, expected = reference_responses(sub, list(responses.groups))
    assert responses.images == names
    np.testing.assert_array_equal(responses.values(), expected)
    assert responses.columns.size == int(sub.get_roi_mask("face").sum())
    np.testing.assert_array_equal(
        responses.voxels, sub.get_voxel_coordinates("face", units="voxel")
    )
    counts = dict(zip(names, responses.n_trials.tolist(), strict=True))
    assert set(counts.values()) <= {1, 2, 3, 4, 5, 6, 7, 8} and max(counts.values()) > 1


def test_grouped_jobs_one_clone_one_branch_per_task_each_job_its_own_record(
    analysis: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = git(analysis, "rev-parse", "HEAD").strip()
    argv = ["analysis", "run", "encoding", "-d", str(analysis), "--subject", "sub-01"]
    argv += ["--split", "tau", "cluster_k5_0", "ood", "--roi", "face", "-J", "1"]
    assert main([*argv, "--per-task", "3"]) == 0
    out = capsys.readouterr().out
    assert "plan: 3 encoding jobs requested, 0 done" in out
    assert "responses: 0 jobs" in out and "encoding: 3 jobs in 1 tasks of up to 3" in out
    assert "fetch once:" in out and "time per stage: plan" in out
    merge = git(analysis, "log", "-1", "--format=%P", f"{head}..HEAD", "--merges").split()
    assert len(merge) == 2  # HEAD and the one task branch
    chain = git(analysis, "log", "--format=%s", f"{head}..{merge[1]}").splitlines()
    assert sorted(chain) == sorted(
        f"[DATALAD RUNCMD] [laion-fmri] Encoding job CLIP_{s}_sub-01_roi-face"
        for s in ("tau", "cluster_k5_0", "ood")
    )
    assert store_branches(analysis) == []


def test_job_clones_get_their_inputs_from_the_run_not_from_the_bucket(
    analysis: Path, tmp_path: Path
) -> None:
    """After the run's one fetch, a task whose git-annex may not reach the development
    server at all (no loopback allowance) still gets every input: hard links from the
    analysis dataset's copies."""
    job = JobSpec("DINOv2", "random_0", "sub-01", "face")
    plan = plan_run(analysis, [job], None, 1)
    fetched = fetch_inputs(analysis, plan.inputs, 1, no_bar)
    assert fetched.fetched > 0  # the DINOv2 embeddings, which no job read before
    shared = default_shared(analysis)
    link_datasets(shared, analysis / ANALYSIS_INPUTS)
    store = git(analysis, "remote", "get-url", OUTPUT).strip()
    outcomes = run_task(str(analysis), plan.encoding, store, str(tmp_path), job_env(shared), False)
    assert [o.ok for o in outcomes] == [True], outcomes
    assert merge_job_branches(analysis, "merge").merged == [job.job_id]
    assert list(tmp_path.iterdir()) == []  # the task's clone is gone


def test_rerun_of_a_job_in_a_fresh_clone_is_byte_identical_and_checks_its_software(
    clone_of: Callable[[str, Path], Path],
    analysis: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = JobSpec("CLIP", "ood", "sub-01", "face")  # the second of its task's three
    if job.summary not in summaries(analysis):
        pytest.skip("needs the grouped test's results")
    commit = git(analysis, "log", "--format=%H", "-1", "--grep", f"Encoding job {job.job_id}")
    fresh = clone_of(str(analysis), tmp_path / "fresh")
    datalad.call("get", dataset=str(fresh), path=[str(fresh / p) for p in job.outputs])
    held = {p: (fresh / p).read_bytes() for p in job.outputs}
    head = git(fresh, "rev-parse", "HEAD")
    datalad.call("rerun", dataset=str(fresh), revision=commit.strip())
    assert git(fresh, "rev-parse", "HEAD") == head  # nothing changed: no new commit
    assert {p: (fresh / p).read_bytes() for p in job.outputs} == held

    # the responses job reruns bit-identically too
    responses = ResponsesSpec("sub-01", "face")
    record = git(
        analysis, "log", "--format=%H", "-1", "--grep", f"Responses job {responses.job_id}"
    )
    datalad.call("get", dataset=str(fresh), path=[str(fresh / responses.output)])
    before = (fresh / responses.output).read_bytes()
    datalad.call("rerun", dataset=str(fresh), revision=record.strip())
    assert git(fresh, "rev-parse", "HEAD") == head
    assert (fresh / responses.output).read_bytes() == before
    # verify reruns it as its record says: the other inputs got, model.h5 read by ranges
    checked = verify_runs(analysis, revision=record.strip(), since=f"{record.strip()}~1")
    assert checked.ok and [c.identical for c in checked.checks] == [[responses.output]]

    # verify the grouped task's three jobs and what came after (--since, as a user checks
    # the newest jobs): each rerun in a fresh clone, byte for byte
    pattern = "Encoding job CLIP_(tau|cluster_k5_0|ood)_sub-01"
    grouped = git(analysis, "log", "--format=%H %P", "-E", "--grep", pattern).splitlines()
    assert len(grouped) == 3
    first = [c for c in grouped if c.split()[1] not in {g.split()[0] for g in grouped}]
    since = first[0].split()[1]  # the task's fork point: all three jobs come after it
    report = verify_runs(analysis, workdir=tmp_path, since=since)
    assert report.ok, report.details()
    assert len(report.checks) >= 4 and commit.strip() in {c.commit for c in report.checks}
    assert all(c.identical for c in report.checks)
    with pytest.raises(UsageError, match="--since 'no-such-rev' is not a commit"):
        verify_runs(analysis, since="no-such-rev")

    # other software than the pin: verify and datalad rerun say so in one line, before
    # running; allowed, the job runs and says what differs
    pin = fresh / ENVIRONMENT
    pin.write_text(pin.read_text().replace("numpy==", "numpy==0.0.0+", 1))
    datalad.call("save", dataset=str(fresh), path=[str(pin)], message="another numpy")
    drifted = verify_runs(fresh, workdir=tmp_path, since=since)
    assert not drifted.ok
    assert all(
        "software differs from code/environment.txt: numpy" in c.error for c in drifted.checks
    )
    log = tmp_path / "rerun.log"
    status = datalad.run_logged(["rerun", commit.strip()], fresh, log)
    assert status != 0
    assert "error: the software differs from code/environment.txt: numpy" in log.read_text()
    git(fresh, "checkout", "HEAD", "--", ".")  # DataLad unlocked the outputs before the script ran
    monkeypatch.setenv(SOFTWARE_DRIFT, "allow")
    assert datalad.run_logged(["rerun", commit.strip()], fresh, log) == 0
    assert "running with other software than code/environment.txt: numpy" in log.read_text()
    assert {p: (fresh / p).read_bytes() for p in job.outputs} == held


def test_the_whole_brain(analysis: Path) -> None:
    """``--roi all``: every voxel of the brain mask, its responses and per-voxel maps."""
    jobs = request(analysis, ["sub-05"], ["tau"], ["all"], ["CLIP"])
    report = run_jobs(analysis, jobs, workers=1)
    assert report.ok, report.details()
    assert report.stages["responses"].merge.merged == ["responses_sub-05_roi-all"]
    sub = load_subject("sub-05", dataset=analysis / ANALYSIS_INPUTS)
    job = jobs[0]
    datalad.call("get", dataset=str(analysis), path=[str(analysis / p) for p in job.outputs])
    import nibabel as nib

    r2 = np.asarray(nib.load(analysis / job.statmap("r2")).dataobj)
    brain = sub.get_brain_mask().reshape(sub.shape)
    assert r2.shape == sub.shape and not r2[~brain].any()
    assert np.count_nonzero(r2[brain]) > 0.9 * brain.sum()
    import pandas as pd

    table = pd.read_csv(analysis / job.summary, sep="\t")
    assert table.set_index("roi")["n_voxels"].to_dict()["all"] == sub.n_voxels


def test_planted_signal_is_recovered(analysis: Path, superdataset: Path, tmp_path: Path) -> None:
    """The tiny bucket plants, per voxel, a single-trial signal-to-noise ratio ``snr``
    (selective ROIs 0.7-2.0, other ROIs 0-1.3): the ceiling of an image's mean over its 4
    shows is ``snr**2 / (snr**2 + 1/4)``. Across the voxels of every ROI, the test R² of
    the reference model on ``random_0`` correlates with that ceiling at r >= 0.7 (0.73
    measured), and the tenth of voxels with the highest ceilings reach at least half of it
    (median R²/ceiling 0.96 measured)."""
    design = SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())
    sub = load_subject("sub-01", dataset=superdataset)
    rois = stage.voxel_names(sub, "all")[0]
    target = stage.write(sub, "+".join(rois), tmp_path / "responses.h5")
    nc = sub.files.subject_noise_ceiling(NC_DESC)
    embeddings = superdataset / "stimuli/task-images_desc-CLIP_embeddings.h5"
    datalad.call("get", dataset=str(superdataset), path=[str(nc), str(embeddings)])
    fitted = fit(superdataset, JobSpec("CLIP", "random_0", "sub-01", "+".join(rois)), target, nc)
    snr = design.model.snr[sub.get_roi_mask(rois)][fitted.fitted]
    ceiling = snr**2 / (snr**2 + 1 / 4)
    r2 = fitted.r2[fitted.fitted]
    assert len(ceiling) > 100
    assert np.corrcoef(r2, ceiling)[0, 1] >= 0.7
    best = ceiling >= np.quantile(ceiling, 0.9)
    assert np.median(r2[best] / ceiling[best]) >= 0.5


def test_fan_out_on_a_single_node_slurm(analysis: Path, tmp_path: Path) -> None:
    """Two jobs through dask-jobqueue's SLURMCluster on a real slurmctld/slurmd (Debian's
    slurm-wlm, which .ci/run installs); skipped, with the reason, where SLURM cannot run."""
    import dask

    from laion_fmri_datalad.devserver.slurm import local_slurm, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    jobs = request(analysis, ["sub-05", "sub-06"], ["tau"], ["face"], ["CLIP"])
    logs = tmp_path / "dask-logs"
    settings = {
        "jobqueue.slurm.cores": 1,
        "jobqueue.slurm.processes": 1,
        "jobqueue.slurm.memory": "1GB",
        "jobqueue.slurm.walltime": "00:20:00",
        "jobqueue.slurm.python": sys.executable,
        "jobqueue.slurm.scheduler-options": {"host": "127.0.0.1"},
        "jobqueue.slurm.log-directory": str(logs),
        "jobqueue.slurm.local-directory": str(tmp_path / "dask-tmp"),
    }
    with local_slurm(tmp_path / "slurm") as env, dask.config.set(settings):
        saved = os.environ.get("SLURM_CONF")
        os.environ["SLURM_CONF"] = env["SLURM_CONF"]
        try:
            report = run_jobs(analysis, jobs, workers=2, cluster="slurm")
        finally:
            if saved is None:
                del os.environ["SLURM_CONF"]
            else:
                os.environ["SLURM_CONF"] = saved
    assert report.ok, report.details()
    assert sorted(report.stages["encoding"].merge.merged) == sorted(j.job_id for j in jobs)
    assert all(j.summary in summaries(analysis) for j in jobs)
    assert list(logs.glob("dask-worker-*.out")), "no worker ran as a SLURM batch job"
