"""Fanning jobs out on Dask: a local cluster of worker processes, or a batch scheduler's
through dask-jobqueue, then one linear-cost merge.

The driver, in the analysis dataset: merge what an earlier run left finished in the store;
drop the jobs whose results are already committed; name each remaining job's inputs with
the loaders (subdatasets installed, no content fetched); submit one ``worker.run_job`` per
job; merge every job that succeeded. A failed job is reported with its log and not merged;
the others are unaffected; running again runs only what is missing.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import validate
from ..errors import UsageError
from ..layout.endpoint import serves_from_loopback
from ..layout.names import ANALYSIS_INPUTS
from ..locks import file_lock, holder
from ..repo.git import tracked_files
from .cluster import cluster_kind, dashboard_link, dask_client
from .create import output_url, require_analysis_dataset
from .encodejob import input_paths
from .jobspec import JobSpec, expand
from .merge import MergeReport, merge_job_branches
from .worker import JobOutcome, log_path, run_job


@dataclass
class FanoutReport:
    requested: int
    already: int = 0
    outcomes: list[JobOutcome] = field(default_factory=list)
    merge: MergeReport = field(default_factory=MergeReport)
    recovered: MergeReport = field(default_factory=MergeReport)
    dashboard: str | None = None

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.merge.ok and self.recovered.ok

    def details(self) -> str:
        lines = [f"  job {o.job_id} failed ({o.error}); log: {o.log}" for o in self.failed]
        if self.recovered.merged:
            lines.insert(0, f"  finished earlier and merged now: {self.recovered.summary()}")
        return "\n".join(lines)

    def summary(self) -> str:
        ran = len(self.outcomes)
        return (
            f"{self.requested} jobs: {self.already} already done, {ran} run, "
            f"{ran - len(self.failed)} succeeded, {len(self.failed)} failed; "
            + self.merge.summary()
        )


def request(
    analysis: Path, subjects: list[str], splits: list[str], rois: list[str], embeddings: list[str]
) -> list[JobSpec]:
    """The jobs of a request (``all`` subjects: every subject of the inputs)."""
    from ..layout.discovery import resolve_subjects

    analysis = require_analysis_dataset(analysis)
    chosen = resolve_subjects(analysis / ANALYSIS_INPUTS, subjects)
    return expand(chosen, splits, rois, embeddings)


def missing_jobs(analysis: Path, jobs: list[JobSpec]) -> list[JobSpec]:
    """The jobs whose summary is not committed in the analysis dataset."""
    done = set(tracked_files(analysis))
    return [job for job in jobs if job.summary not in done]


def job_inputs(analysis: Path, jobs: list[JobSpec]) -> dict[JobSpec, list[str]]:
    """Each job's input files relative to the analysis dataset (checks the request: an
    unknown subject, ROI or split is an error here, before any job runs)."""
    superdataset = analysis / ANALYSIS_INPUTS
    return {
        job: [os.path.relpath(p, analysis) for p in input_paths(superdataset, job)] for job in jobs
    }


def run_jobs(
    analysis: Path,
    jobs: list[JobSpec],
    *,
    workers: int,
    cluster: str = "local",
    scratch: Path | None = None,
    progress: Callable[[int], None] = lambda n: None,
    announce: Callable[[str], None] = lambda text: None,
) -> FanoutReport:
    """Run the ``jobs`` not yet done in ``analysis`` on ``workers`` Dask workers, merge."""
    analysis = require_analysis_dataset(analysis)
    workers = validate.jobs(workers, "workers")
    cluster = cluster_kind(cluster)
    where = validate.directory_to_write(scratch or Path(tempfile.gettempdir()), "scratch")
    lock = analysis / ".git" / "laion-fmri" / "analysis-run.lock"
    with file_lock(lock, wait=False) as held:
        if not held:
            raise UsageError(
                f"another analysis run in {analysis} is going on ({holder(lock)}); wait for it"
            )
        return _fan_out(analysis, jobs, workers, cluster, where, progress, announce)


def _fan_out(
    analysis: Path,
    jobs: list[JobSpec],
    workers: int,
    cluster: str,
    where: Path,
    progress: Callable[[int], None],
    announce: Callable[[str], None],
) -> FanoutReport:
    store = output_url(analysis)
    report = FanoutReport(len(jobs))
    report.recovered = merge_job_branches(analysis, merge_message("finished earlier"))
    todo = missing_jobs(analysis, jobs)
    report.already = len(jobs) - len(todo)
    if not todo:
        return report
    inputs = job_inputs(analysis, todo)
    loopback = serves_from_loopback(analysis / ANALYSIS_INPUTS)
    where.mkdir(parents=True, exist_ok=True)
    with dask_client(cluster, workers) as client:
        report.dashboard = dashboard_link(client)
        if report.dashboard:
            announce(f"Dask dashboard: {report.dashboard}")
        futures = {
            client.submit(
                run_job,
                str(analysis),
                job,
                inputs[job],
                store,
                str(where),
                loopback,
                key=f"job-{job.job_id}",
                pure=False,
            ): job
            for job in todo
        }
        completed = importlib.import_module("distributed").as_completed
        for future in completed(futures):
            try:
                report.outcomes.append(future.result())
            except Exception as error:  # the worker itself died: the job failed
                job = futures[future]
                reason = f"worker lost: {' '.join(str(error).split())[:200]}"
                log = str(log_path(analysis, job))
                report.outcomes.append(JobOutcome(job.job_id, False, 0.0, log, reason))
            progress(1)
    report.outcomes.sort(key=lambda o: o.job_id)
    report.merge = merge_job_branches(analysis, merge_message(f"{len(todo)} jobs"))
    return report


def merge_message(what: str) -> str:
    return f"[laion-fmri] Merge the job branches of the encoding analysis ({what})"
