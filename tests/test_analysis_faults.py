"""An analysis run through faults, each followed by running the same ``analysis run``
again: S3 faults while the run fetches its inputs (the fault proxy), a Dask worker killed in
the middle of a job, the driver killed between jobs (with its local workers, as a lost
login session takes them) and during a merge (the kill-point harness). After the rerun every
job's results are there, each job has exactly one run record, and no clone or branch is
left behind."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from laion_fmri_datalad.analysis import request, run_jobs
from laion_fmri_datalad.analysis.create import OUTPUT, create_analysis
from laion_fmri_datalad.analysis.jobspec import JobSpec
from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.devserver.killpoints import interrupted_command
from laion_fmri_datalad.devserver.localbucket import ServedBucket
from laion_fmri_datalad.errors import LaionFmriError
from laion_fmri_datalad.repo import datalad
from laion_fmri_datalad.repo.git import git
from laion_fmri_datalad.s3.client import BucketLocation
from laion_fmri_fixtures import analysis_input

# the planted kill: the first job that finds the marker kills the Dask worker running it
KILL_WORKER = """import os, signal
from pathlib import Path
_marker = Path({marker!r})
if _marker.exists():
    _marker.unlink()
    _pid = os.getppid()
    while _pid > 1:
        if b"multiprocessing" in Path(f"/proc/{{_pid}}/cmdline").read_bytes():
            os.kill(_pid, signal.SIGKILL)  # the worker process, mid-job
            break
        _pid = int(Path(f"/proc/{{_pid}}/stat").read_text().rsplit(")", 1)[1].split()[1])
import sys
"""


@pytest.fixture(scope="module")
def proxy(served: ServedBucket) -> Iterator[FaultProxy]:
    with FaultProxy(served.server.endpoint_url, Schedule(rate=0.35, seed=11)) as running:
        running.schedule.enabled = False
        yield running


@pytest.fixture(scope="module")
def analysis(
    clone_of: Callable[[str, Path], Path],
    proxy: FaultProxy,
    served: ServedBucket,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """An analysis dataset whose inputs' URLs go through the proxy (faults off)."""
    built = tmp_path_factory.mktemp("through-proxy") / "superdataset"
    location = BucketLocation(served.location.bucket, endpoint_url=proxy.url)
    assert build(built, location).ok
    inputs = analysis_input(clone_of, built, tmp_path_factory.mktemp("inputs"))
    target = tmp_path_factory.mktemp("analysis") / "encoding"
    create_analysis(target, str(inputs))
    return target


def run_records(analysis: Path) -> Counter[str]:
    subjects = git(analysis, "log", "--format=%s", "--grep", "DATALAD RUNCMD").splitlines()
    return Counter(s.split(" job ", 1)[1] for s in subjects if " job " in s)


def store_branches(analysis: Path) -> list[str]:
    url = git(analysis, "remote", "get-url", OUTPUT).strip()
    return git(None, "ls-remote", "--heads", url, "refs/heads/job/*").split()[1::2]


def assert_complete(analysis: Path, jobs: list[JobSpec], scratch: Path) -> None:
    tracked = set(git(analysis, "ls-files").splitlines())
    assert all(job.summary in tracked for job in jobs)
    records = run_records(analysis)
    assert all(records[job.job_id] == 1 for job in jobs), records  # none lost, none twice
    assert all(n == 1 for n in records.values()), records
    assert store_branches(analysis) == []
    assert list(scratch.iterdir()) == []  # no clone left
    assert git(analysis, "status", "--porcelain", "--untracked-files=no") == ""


def cli_run(analysis: Path, jobs: list[JobSpec], scratch: Path, *extra: str) -> list[str]:
    subjects = sorted({j.subject for j in jobs})
    splits = sorted({j.split for j in jobs})
    argv = [str(Path(sys.executable).parent / "laion-fmri-datalad"), "analysis", "run", "encoding"]
    argv += ["-d", str(analysis), "--subject", *subjects, "--split", *splits, "--roi", "face"]
    return [*argv, "--scratch", str(scratch), *extra]


def test_s3_faults_while_the_inputs_are_fetched(
    analysis: Path, proxy: FaultProxy, tmp_path: Path
) -> None:
    jobs = request(analysis, ["sub-01"], ["random_0", "tau"], ["face"], ["CLIP"])
    before = sum(proxy.schedule.counts[k] for k in ("503", "reset", "truncate"))
    proxy.schedule.enabled = True
    try:
        try:
            report = run_jobs(analysis, jobs, workers=2, scratch=tmp_path)
        except LaionFmriError as error:  # a fault that outlasted every retry: named
            assert "run the same command again" in str(error)
            report = run_jobs(analysis, jobs, workers=2, scratch=tmp_path)
    finally:
        proxy.schedule.enabled = False
    injected = sum(proxy.schedule.counts[k] for k in ("503", "reset", "truncate")) - before
    assert injected > 0
    if not report.ok:  # a job's own get met a fault: the rerun completes it
        report = run_jobs(analysis, jobs, workers=2, scratch=tmp_path)
    assert report.ok, report.details()
    assert_complete(analysis, jobs, tmp_path)
    fsck = git(
        analysis / "inputs/laion-fmri/derivatives/glmsingle-tedana", "annex", "fsck", "--quiet"
    )
    assert "failed" not in fsck


def test_a_worker_killed_in_the_middle_of_a_job(analysis: Path, tmp_path: Path) -> None:
    script = analysis / "code/encode.py"
    original = script.read_text()
    marker = tmp_path / "kill-once"
    marker.touch()
    script.write_text(original.replace("import sys\n", KILL_WORKER.format(marker=str(marker)), 1))
    datalad.call("save", dataset=str(analysis), path=[str(script)], message="planted kill")
    jobs = request(analysis, ["sub-01", "sub-03"], ["cluster_k5_0"], ["face"], ["CLIP"])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    try:
        first = run_jobs(analysis, jobs, workers=2, scratch=scratch, per_task=1)
        assert not marker.exists()  # a worker was killed mid-job
        report = first if first.ok else run_jobs(analysis, jobs, workers=2, scratch=scratch)
    finally:
        script.write_text(original)
        datalad.call("save", dataset=str(analysis), path=[str(script)], message="no kill")
    assert report.ok, report.details()
    assert_complete(analysis, jobs, scratch)


def test_the_driver_killed_between_jobs_and_during_the_merge(
    analysis: Path, tmp_path: Path
) -> None:
    jobs = request(analysis, ["sub-05"], ["random_0", "tau", "ood"], ["face"], ["CLIP"])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # between jobs: the driver and its workers killed once the first task has pushed
    argv = cli_run(analysis, jobs, scratch, "-J", "1", "--per-task", "1")
    driver = subprocess.Popen(argv, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and driver.poll() is None:
        if any("encoding-" in b for b in store_branches(analysis)):
            break
        time.sleep(0.2)
    import os
    import signal

    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    assert any("encoding-" in b for b in store_branches(analysis)), "no task finished first"
    assert not all(j.summary in git(analysis, "ls-files") for j in jobs)

    # during the merge of the rerun (at its first commit-tree): a third run completes
    code, reached = interrupted_command(
        cli_run(analysis, jobs, scratch, "-J", "1"), tmp_path / "kp", "commit-tree", 1
    )
    assert reached == 1 and code != 0
    report = run_jobs(analysis, jobs, workers=1, scratch=scratch)
    assert report.ok, report.details()
    assert_complete(analysis, jobs, scratch)
