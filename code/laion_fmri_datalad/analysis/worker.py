"""One worker task in the FAIRly-big pattern, as a Dask worker runs it: a temporary clone of
the analysis dataset, then for each of the task's jobs a ``datalad run`` of its command
with its inputs and outputs declared (one run record each, so each job reruns on its own),
then one push of the task's branch to the output store and of the jobs' annexed outputs to
its storage, and removal of the clone. Inputs come as hard links from the analysis
dataset's copies (``sharing``). Nothing is written to the analysis dataset itself but the
jobs' logs."""

from __future__ import annotations

import hashlib
import shlex
import tempfile
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..repo import datalad
from ..repo.annex import annex, trust_special_remote
from ..repo.dataset import remove_dataset
from ..repo.git import config_get, git
from . import software
from .create import OUTPUT, STORAGE
from .jobspec import Job

LOGS = ".git/laion-fmri/logs"
BRANCH_PREFIX = "job/"


@dataclass(frozen=True)
class JobOutcome:
    job_id: str
    ok: bool
    seconds: float
    log: str
    error: str = ""
    compute_seconds: float = 0.0  # the datalad run step alone
    task: str = ""
    stage: str = ""


def log_path(analysis: Path, job_id: str) -> Path:
    return analysis / LOGS / f"{job_id}.log"


def command(job: Job) -> str:
    return shlex.join(["python", job.script, *job.argv])


def task_name(jobs: list[Job]) -> str:
    """A task's branch name: its stage and a digest of its jobs."""
    digest = hashlib.sha1("\n".join(sorted(j.job_id for j in jobs)).encode()).hexdigest()
    return f"{jobs[0].stage}-{digest[:12]}"


def _message(job: Job) -> str:
    lines = [software.record_lines(), job.record_lines()]
    return f"{job.message}\n\n" + "\n".join(line for line in lines if line)


def _ready_inputs(
    clone: Path, job: Job, log: Path, extra: Mapping[str, str], loopback: bool
) -> int:
    """For a job that reads some inputs by byte ranges: install the subdatasets those lie
    in (no content) and get every other input whole, so that ``datalad run`` may be told
    ``--assume-ready inputs`` and declare the ranged ones without getting them."""
    status = datalad.run_logged(
        ["get", "--no-data", *job.ranged], clone, log, loopback=loopback, extra_env=extra
    )
    if status == 0:
        got = [*job.got, software.ENVIRONMENT]
        status = datalad.run_logged(["get", *got], clone, log, loopback=loopback, extra_env=extra)
    return status


def _run_one(
    clone: Path, job: Job, analysis: Path, extra: Mapping[str, str], loopback: bool
) -> tuple[bool, float, str]:
    """``datalad run`` one job in the task's clone: (ok, seconds, error)."""
    log = log_path(analysis, job.job_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"job {job.job_id}: {command(job)}\n")
    argv = ["run", "--explicit", "-m", _message(job)]
    if job.ranged:
        argv += ["--assume-ready", "inputs"]
    for path in (*job.inputs, software.ENVIRONMENT):
        argv += ["-i", path]
    for path in job.outputs:
        argv += ["-o", path]
    began = time.monotonic()
    status = _ready_inputs(clone, job, log, extra, loopback) if job.ranged else 0
    if status == 0:
        status = datalad.run_logged(
            [*argv, command(job)], clone, log, loopback=loopback, extra_env=extra
        )
    seconds = time.monotonic() - began
    if status == 0:
        with log.open("a") as out:
            out.write("done\n")
        return True, seconds, ""
    # a failed run leaves its partial outputs: back to the last job's commit for the next
    git(clone, "reset", "-q", "--hard", "HEAD")
    git(clone, "clean", "-q", "-f", "-d", "-x", "--", *job.outputs)
    with log.open("a") as out:
        out.write(f"\nfailed at datalad run: exit status {status}\n")
    return False, seconds, f"datalad run failed: exit status {status}"


def run_task(
    analysis: str,
    jobs: list[Job],
    output_url: str,
    scratch: str,
    extra: Mapping[str, str],
    loopback: bool = False,
) -> list[JobOutcome]:
    """Run ``jobs`` in sequence in one clone under ``scratch`` and push the ones that
    succeeded once; never raises: a failure is an outcome naming the step and the log.
    ``extra``: the sharing environment; ``loopback``: the inputs' URLs are on the
    development server, and getting them needs git-annex's allowance."""
    root = Path(analysis)
    task = task_name(jobs)
    started = time.monotonic()
    clone = Path(tempfile.mkdtemp(prefix=f"{task}.", dir=scratch)) / "ds"
    results: list[tuple[Job, bool, float, str]] = []
    step = "clone"
    try:
        datalad.call("clone", source=analysis, path=str(clone), extra_env=extra)
        branch = BRANCH_PREFIX + task
        git(clone, "checkout", "-q", "-b", branch)
        for job in jobs:
            step = f"job {job.job_id}"
            ok, seconds, error = _run_one(clone, job, root, extra, loopback)
            results.append((job, ok, seconds, error))
        done = [job for job, ok, _, _ in results if ok]
        if done:
            step = "push"
            outputs = [path for job in done for path in job.outputs]
            if not config_get(clone, f"remote.{STORAGE}.annex-uuid"):
                # the clone's git annex init enables it (autoenable); each start of the
                # store's special remote costs a DataLad import
                annex(clone, "enableremote", STORAGE)
            trust_special_remote(clone, STORAGE)
            annex(clone, "copy", "--quiet", "--to", STORAGE, "--", *outputs, extra_env=extra)
            git(clone, "remote", "add", OUTPUT, output_url)
            # forced: a job run again after its results were removed replaces its old branch
            git(clone, "push", "-q", OUTPUT, f"+{branch}:refs/heads/{branch}")
    except Exception as error:  # nothing of the task is pushed: each job failed
        reason = f"{step} failed: {' '.join(str(error).split())[:300]}"
        trace = traceback.format_exc()
        own = {job.job_id: (seconds, err) for job, ok, seconds, err in results if not ok}
        outcomes = []
        for job in jobs:
            log = log_path(root, job.job_id)
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as out:
                out.write(f"\nfailed at {step}:\n{trace}")
            seconds, err = own.get(job.job_id, (0.0, reason))
            outcomes.append(
                JobOutcome(job.job_id, False, 0.0, str(log), err, seconds, task, job.stage)
            )
        return outcomes
    finally:
        remove_dataset(clone.parent)
    wall = time.monotonic() - started
    return [
        JobOutcome(
            job.job_id,
            ok,
            wall / len(jobs),
            str(log_path(root, job.job_id)),
            error,
            seconds,
            task,
            job.stage,
        )
        for job, ok, seconds, error in results
    ]
