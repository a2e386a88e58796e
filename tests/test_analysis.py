"""The analysis dataset and the encoding analysis fanned out on a real Dask LocalCluster
(2 worker processes), in the FAIRly-big pattern: the job lifecycle (success, a failing
job named with its log and not merged, a second run that runs only what is missing),
``datalad rerun`` of a job in a fresh clone reproducing its outputs byte for byte, ``verify``
on the analysis dataset, and the planted-signal check of the reference model."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from laion_fmri_datalad.analysis.create import STORAGE, create_analysis
from laion_fmri_datalad.analysis.encodejob import fit
from laion_fmri_datalad.analysis.fanout import request, run_jobs
from laion_fmri_datalad.analysis.jobspec import STATS, JobSpec
from laion_fmri_datalad.builder.report import BuildReport
from laion_fmri_datalad.cli import main
from laion_fmri_datalad.devserver.fixture.catalogue import build_catalogue
from laion_fmri_datalad.devserver.fixture.design import SubjectDesign
from laion_fmri_datalad.devserver.fixture.spec import get_spec
from laion_fmri_datalad.errors import UsageError
from laion_fmri_datalad.layout.names import ANALYSIS_INPUTS
from laion_fmri_datalad.locks import file_lock
from laion_fmri_datalad.provenance.rerun import verify_runs
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.splits.run import make_splits

REPOSITORY = Path(__file__).resolve().parents[1]
NEEDED = ["derivatives/anatomical", "derivatives/rois", "derivatives/glmsingle-tedana", "stimuli"]
FAILING = "sub-03"  # the planted bug below makes this subject's job fail
BUG = f'import sys\nif "{FAILING}" in sys.argv:\n    sys.exit("planted failure for {FAILING}")\n'


@pytest.fixture(scope="module")
def superdataset(
    clone_of: Callable[[str, Path], Path],
    built: tuple[Path, BuildReport],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A clone of the built superdataset with this repository's code and regenerated splits,
    its subdatasets the analysis reads installed (where the analysis's clones find them)."""
    root = clone_of(str(built[0]), tmp_path_factory.mktemp("analysis-input") / "laion-fmri")
    shutil.copytree(
        REPOSITORY / "code",
        root / "code",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    datalad.call("save", dataset=str(root), path=[str(root / "code")], message="add code")
    assert make_splits(root).commit is not None
    datalad.call("get", dataset=str(root), path=[str(root / p) for p in NEEDED], get_data=False)
    return root


@pytest.fixture(scope="module")
def analysis(superdataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("analysis") / "encoding"
    create_analysis(target, str(superdataset))
    return target


def summaries(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in (root / "results").rglob("*_summary.tsv"))


def test_create_makes_a_yoda_dataset_with_the_inputs_and_a_store(analysis: Path) -> None:
    assert (analysis / ANALYSIS_INPUTS / ".datalad" / "config").is_file()
    assert ANALYSIS_INPUTS in git(analysis, "config", "-f", ".gitmodules", "--get-regexp", "path")
    assert "laion_fmri_datalad.analysis.encodejob" in (analysis / "code/encode.py").read_text()
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

    first = run_jobs(analysis, jobs, workers=2)
    assert not first.ok
    assert [o.job_id for o in first.failed] == [f"CLIP_random_0_{FAILING}_roi-face"]
    failed = first.failed[0]
    assert "datalad run failed" in failed.error
    assert f"planted failure for {FAILING}" in Path(failed.log).read_text()
    assert first.merge.merged == ["CLIP_random_0_sub-01_roi-face"]
    done = JobSpec("CLIP", "random_0", "sub-01", "face")
    assert summaries(analysis) == [done.summary]
    # every output of the merged job: its run record, its bytes in the store
    for path in done.outputs:
        log = git(analysis, "log", "--format=%s", "-1", "--", path)
        assert "Encoding job CLIP_random_0_sub-01_roi-face" in log, path
    for stat in STATS:
        whereis = git(analysis, "annex", "whereis", done.statmap(stat))
        assert STORAGE in whereis

    script.write_text(original)  # the bug fixed
    datalad.call("save", dataset=str(analysis), path=[str(script)], message="fixed")
    second = run_jobs(analysis, jobs, workers=2)
    assert second.ok, second.details()
    assert (second.already, len(second.outcomes)) == (1, 1)
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


def test_rerun_of_a_job_in_a_fresh_clone_is_byte_identical(
    clone_of: Callable[[str, Path], Path], analysis: Path, tmp_path: Path
) -> None:
    job = JobSpec("CLIP", "random_0", "sub-01", "face")
    if job.summary not in summaries(analysis):
        pytest.skip("needs the fan-out test's results")
    commit = git(analysis, "log", "--format=%H", "-1", "--grep", f"Encoding job {job.job_id}")
    fresh = clone_of(str(analysis), tmp_path / "fresh")
    datalad.call("get", dataset=str(fresh), path=[str(fresh / p) for p in job.outputs])
    held = {p: (fresh / p).read_bytes() for p in job.outputs}
    head = git(fresh, "rev-parse", "HEAD")
    datalad.call("rerun", dataset=str(fresh), revision=commit.strip())
    assert git(fresh, "rev-parse", "HEAD") == head  # nothing changed: no new commit
    assert {p: (fresh / p).read_bytes() for p in job.outputs} == held

    report = verify_runs(analysis, workdir=tmp_path)
    assert report.ok, report.details()
    assert len(report.checks) >= 2
    assert all(len(c.identical) == len(job.outputs) for c in report.checks)


def test_planted_signal_is_recovered(superdataset: Path) -> None:
    """The tiny bucket plants, per voxel, a single-trial signal-to-noise ratio ``snr``
    (selective ROIs 0.7-2.0, other ROIs 0-1.3): the ceiling of an image's mean over its 4
    shows is ``snr**2 / (snr**2 + 1/4)``. Across the voxels of every ROI, the test R² of
    the reference model on ``random_0`` correlates with that ceiling at r >= 0.7 (0.73
    measured), and the tenth of voxels with the highest ceilings reach at least half of it
    (median R²/ceiling 0.96 measured)."""
    design = SubjectDesign(0, "sub-01", get_spec("tiny"), build_catalogue())
    sub, rois, result, _, fitted = fit(
        superdataset, JobSpec("CLIP", "random_0", "sub-01", "all"), fetch=True
    )
    snr = design.model.snr[sub.get_roi_mask(rois)][fitted]
    ceiling = snr**2 / (snr**2 + 1 / 4)
    assert len(ceiling) > 100
    assert np.corrcoef(result.r2, ceiling)[0, 1] >= 0.7
    best = ceiling >= np.quantile(ceiling, 0.9)
    assert np.median(result.r2[best] / ceiling[best]) >= 0.5


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
    assert sorted(report.merge.merged) == sorted(j.job_id for j in jobs)
    assert all(j.summary in summaries(analysis) for j in jobs)
    assert list(logs.glob("dask-worker-*.out")), "no worker ran as a SLURM batch job"
