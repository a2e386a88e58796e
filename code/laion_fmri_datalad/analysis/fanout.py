"""The driver of an analysis run: fanning its jobs out on Dask (a local cluster, or a batch
scheduler's through dask-jobqueue) in two stages, each merged at linear cost.

In the analysis dataset, holding its run lock: merge what an earlier run left finished in
the store; drop the encoding jobs whose results are committed; plan the responses jobs
their subjects need and every job's inputs (``plan``); print the plan; get every input of
the run once into ``inputs/laion-fmri`` (``fetch``, ``sharing``), but the ``model.h5`` files
the responses jobs of ROI sets read by byte ranges (their bytes printed then); run the
stages (``stages``). A failed job is reported with its log and not merged; the others are
unaffected; running again runs only what is missing.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..checks import validate
from ..errors import UsageError
from ..layout.endpoint import serves_from_loopback
from ..layout.names import ANALYSIS_INPUTS
from ..repo.dataset import dataset_id, remove_dataset
from ..runtime.locks import file_lock, holder
from ..runtime.progress import ProgressBar, no_bar
from . import software
from .cluster import cluster_kind, dashboard_link, dask_client
from .create import output_url, require_analysis_dataset
from .fetch import fetch_inputs
from .jobspec import JobSpec
from .merge import merge_job_branches, merge_message
from .plan import missing_jobs, plan_run
from .report import FanoutReport
from .sharing import default_shared, job_env, link_datasets
from .stages import RunContext, run_stages


def run_jobs(
    analysis: Path,
    jobs: list[JobSpec],
    *,
    workers: int,
    cluster: str = "local",
    scratch: Path | None = None,
    shared: Path | None = None,
    per_task: int | None = None,
    stage_bar: ProgressBar = no_bar,
    announce: Callable[[str], None] = lambda text: None,
) -> FanoutReport:
    """Run the ``jobs`` not yet done in ``analysis`` on ``workers`` Dask workers, merge."""
    analysis = require_analysis_dataset(analysis)
    workers = validate.jobs(workers, "workers")
    if per_task is not None:
        per_task = validate.jobs(per_task, "jobs per task")
    cluster = cluster_kind(cluster)
    where = validate.directory_to_write(scratch or Path(tempfile.gettempdir()), "scratch")
    place = validate.directory_to_write(shared or default_shared(analysis), "shared")
    software.check(analysis)  # the pin exists and names this software: one line if not
    lock = analysis / ".git" / "laion-fmri" / "analysis-run.lock"
    with file_lock(lock, wait=False) as held:
        if not held:
            raise UsageError(
                f"another analysis run in {analysis} is going on ({holder(lock)}); wait for it"
            )
        run_dir = where / f"laion-fmri-run-{dataset_id(analysis)[:8]}"
        remove_dataset(run_dir)  # clones a killed run left here (no other run is going on)
        run = RunContext(
            analysis,
            output_url(analysis),
            run_dir,
            place,
            job_env(place),
            serves_from_loopback(analysis / ANALYSIS_INPUTS),
            stage_bar,
            announce,
        )
        try:
            return _fan_out(run, jobs, workers, cluster, per_task)
        finally:
            remove_dataset(run_dir)


def _fan_out(
    run: RunContext, jobs: list[JobSpec], workers: int, cluster: str, per_task: int | None
) -> FanoutReport:
    started = time.monotonic()
    analysis = run.analysis
    report = FanoutReport(len(jobs), inputs=str(analysis / ANALYSIS_INPUTS))
    report.recovered = merge_job_branches(analysis, merge_message("finished earlier"))
    todo = missing_jobs(analysis, jobs)
    report.already = len(jobs) - len(todo)
    if not todo:
        return report
    plan = plan_run(analysis, todo, per_task, workers)
    run.announce(plan.text(report, run.where, run.shared, workers))
    report.seconds["plan"] = time.monotonic() - started
    began = time.monotonic()
    report.fetch = fetch_inputs(analysis, plan.inputs, workers, run.bar)
    if plan.ranged:
        run.announce(plan.range_text(analysis / ANALYSIS_INPUTS))
    link_datasets(run.shared, analysis / ANALYSIS_INPUTS)
    report.seconds["fetch"] = time.monotonic() - began
    with dask_client(cluster, workers) as client:
        report.dashboard = dashboard_link(client)
        if report.dashboard:
            run.announce(f"Dask dashboard: {report.dashboard}")
        run_stages(client, plan, run, report)
    return report
