"""Running the stages of a planned run on a Dask client: the responses jobs (each subject's
voxel set alone in a task; the whole brain's session caches built ahead, one Dask task a
session), their merge and their files got here; then the encoding jobs, several to a task,
those whose responses job failed reported and not run; each stage merged at linear cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..layout.names import ANALYSIS_INPUTS
from ..repo import datalad
from ..runtime.progress import ProgressBar
from .cluster import completed
from .jobspec import STAGES, Job
from .merge import merge_job_branches, merge_message
from .plan import Plan
from .report import FanoutReport, StageReport
from .sharing import build_session_cache
from .worker import JobOutcome, log_path, run_task


@dataclass(frozen=True)
class RunContext:
    """What every task of a run is given, and where the run reports."""

    analysis: Path
    store: str  # the output store's URL
    where: Path  # the directory the task clones go under
    shared: Path  # content links and caches shared by the tasks
    env: dict[str, str]  # the sharing environment of every job
    loopback: bool  # the inputs' URLs are on the development server
    bar: ProgressBar
    announce: Callable[[str], None]


def run_stages(client: Any, plan: Plan, run: RunContext, report: FanoutReport) -> None:
    """Run both stages of ``plan``, in order, into ``report``."""
    for name in STAGES:
        began = time.monotonic()
        stage = report.stages.setdefault(name, StageReport(name))
        if name == "responses":
            stage_jobs = plan.responses
            tasks = [[job] for job in stage_jobs]  # each reads a subject's betas: alone
            unbuilt = build_caches(client, plan.betas, run)
            if unbuilt:
                run.announce(
                    f"{len(unbuilt)} session caches not built ahead ({unbuilt[0]}); "
                    "their responses jobs build them"
                )
        else:
            failed = {o.job_id for o in report.stages["responses"].failed}
            blocked = [j for j in plan.encoding if plan.reads[j.job_id].job_id in failed]
            stage.outcomes += [
                JobOutcome(
                    j.job_id,
                    False,
                    0.0,
                    str(log_path(run.analysis, j.job_id)),
                    f"its responses job {plan.reads[j.job_id].job_id} failed",
                )
                for j in blocked
            ]
            stage_jobs = [j for j in plan.encoding if j not in blocked]
            tasks = [
                stage_jobs[i : i + plan.per_task] for i in range(0, len(stage_jobs), plan.per_task)
            ]
        stage.jobs, stage.tasks = len(stage_jobs), len(tasks)
        if tasks:
            stage.outcomes += run_stage(client, name, tasks, run)
            stage.merge = merge_job_branches(
                run.analysis, merge_message(f"{name}: {len(stage_jobs)} jobs")
            )
        if name == "responses":
            get_responses(run.analysis, plan)
        report.seconds[name] = time.monotonic() - began


def run_stage(client: Any, name: str, tasks: list[list[Job]], run: RunContext) -> list[JobOutcome]:
    """Each task on a worker (``worker.run_task``); a worker that died fails its task's jobs."""
    run.where.mkdir(parents=True, exist_ok=True)
    outcomes: list[JobOutcome] = []
    futures = {
        client.submit(
            run_task,
            str(run.analysis),
            task,
            run.store,
            str(run.where),
            run.env,
            run.loopback,
            key=f"{name}-{i}-{task[0].job_id}",
            pure=False,
        ): task
        for i, task in enumerate(tasks)
    }
    with run.bar(name, sum(len(t) for t in tasks), "job") as advance:
        for future in completed(futures):
            task = futures[future]
            try:
                outcomes += future.result()
            except Exception as error:  # the worker itself died: the task's jobs failed
                reason = f"worker lost: {' '.join(str(error).split())[:200]}"
                outcomes += [
                    JobOutcome(j.job_id, False, 0.0, str(log_path(run.analysis, j.job_id)), reason)
                    for j in task
                ]
            advance(len(task))
    return sorted(outcomes, key=lambda o: o.job_id)


def build_caches(client: Any, betas: list[tuple[str, Path]], run: RunContext) -> list[str]:
    """The voxel-major cache of every session the responses jobs read whole, one Dask task
    a session (in parallel; a session whose cache is valid costs a check). A task that fails
    leaves its session to the responses job, which builds what it lacks itself; the
    failures are returned, to be said."""
    superdataset = str(run.analysis / ANALYSIS_INPUTS)
    futures = [
        client.submit(
            build_session_cache, superdataset, subject, str(path), str(run.shared), pure=False
        )
        for subject, path in betas
    ]
    unbuilt: list[str] = []
    with run.bar("betas cache", len(futures), "session") as advance:
        for future in completed(futures):
            error = future.exception()
            if error is not None:
                unbuilt.append(f"{' '.join(str(error).split())[:200]}")
            advance(1)
    return unbuilt


def get_responses(analysis: Path, plan: Plan) -> None:
    """Get the responses files the encoding jobs read into the analysis dataset (from the
    store), so that their clones hard-link them from here."""
    paths = sorted({spec.output for spec in plan.reads.values()})
    wanted = [str(analysis / p) for p in paths if (analysis / p).is_symlink()]
    if wanted:
        datalad.call("get", dataset=str(analysis), path=wanted, check=False)
