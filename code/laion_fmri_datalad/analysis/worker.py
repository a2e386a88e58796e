"""One job in the FAIRly-big pattern, as a Dask worker runs it: an ephemeral clone of the
analysis dataset, ``datalad run`` of the job's command with its inputs and outputs
declared (DataLad gets exactly the inputs), a push of the job branch to the output store and
of the annexed outputs to its storage, and removal of the clone. Nothing is written to the
analysis dataset itself but the job's log."""

from __future__ import annotations

import shlex
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from ..repo import datalad
from ..repo.annex import annex, trust_special_remote
from ..repo.dataset import remove_dataset
from ..repo.git import git
from .create import OUTPUT, STORAGE
from .jobspec import SCRIPT, JobSpec

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


def log_path(analysis: Path, spec: JobSpec) -> Path:
    return analysis / LOGS / f"{spec.job_id}.log"


def command(spec: JobSpec) -> str:
    return shlex.join(["python", SCRIPT, *spec.arguments()])


def run_job(
    analysis: str,
    spec: JobSpec,
    inputs: list[str],
    output_url: str,
    scratch: str,
    loopback: bool = False,
) -> JobOutcome:
    """Run ``spec`` in a clone under ``scratch``; never raises: a failure is an outcome
    naming the step and the log. ``loopback``: the inputs' URLs are on the development
    server, and getting them needs git-annex's allowance."""
    started = time.monotonic()
    root = Path(analysis)
    log = log_path(root, spec)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"job {spec.job_id}: {command(spec)}\n")
    clone = Path(tempfile.mkdtemp(prefix=f"{spec.job_id}.", dir=scratch)) / "ds"
    compute = 0.0
    step = "clone"
    try:
        datalad.call("clone", source=analysis, path=str(clone))
        branch = BRANCH_PREFIX + spec.job_id
        git(clone, "checkout", "-q", "-b", branch)
        step = "datalad run"
        argv = ["run", "--explicit", "-m", f"[laion-fmri] Encoding job {spec.job_id}"]
        for path in inputs:
            argv += ["-i", path]
        for path in spec.outputs:
            argv += ["-o", path]
        began = time.monotonic()
        status = datalad.run_logged([*argv, command(spec)], clone, log, loopback=loopback)
        compute = time.monotonic() - began
        if status != 0:
            raise RuntimeError(f"datalad run exited with {status}")
        step = "push"
        annex(clone, "enableremote", STORAGE)
        trust_special_remote(clone, STORAGE)
        annex(clone, "copy", "--quiet", "--to", STORAGE, "--", *spec.outputs)
        git(clone, "remote", "add", OUTPUT, output_url)
        # forced: a job run again after its results were removed replaces its old (merged) branch
        git(clone, "push", "-q", OUTPUT, f"+{branch}:refs/heads/{branch}")
    except Exception as error:  # a job's failure is its outcome, named with its log
        with log.open("a") as out:
            out.write(f"\nfailed at {step}:\n{traceback.format_exc()}")
        message = f"{step} failed: {' '.join(str(error).split())[:300]}"
        return JobOutcome(
            spec.job_id, False, time.monotonic() - started, str(log), message, compute
        )
    finally:
        remove_dataset(clone.parent)
    with log.open("a") as out:
        out.write("done\n")
    return JobOutcome(spec.job_id, True, time.monotonic() - started, str(log), "", compute)
