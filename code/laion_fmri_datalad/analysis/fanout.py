"""Fanning an analysis out on Dask (a local cluster, or a batch scheduler's through
dask-jobqueue) in two stages, each merged at linear cost.

The driver, in the analysis dataset, holding its run lock: merge what an earlier run left
finished in the store; drop the encoding jobs whose results are committed; plan the
responses jobs their subjects need (one per subject and voxel set, unless a committed
responses file covers it) and name every job's inputs with the loaders (subdatasets
installed, no content fetched); print the plan; get every input of the run once into
``inputs/laion-fmri`` (``sharing``), but the ``model.h5`` files the responses jobs of ROI
sets read by byte ranges (their bytes printed then); run the responses jobs, merge them and get their files
here; run the encoding jobs, several to a worker task; merge. A failed job is reported with
its log and not merged; the others are unaffected; running again runs only what is missing.
"""

from __future__ import annotations

import importlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import LaionFmriError, UsageError
from ..layout.endpoint import serves_from_loopback
from ..layout.names import ANALYSIS_INPUTS
from ..loaders.clone.content import annexed_size, human, is_present
from ..loaders.clone.fetching import FetchSummary
from ..locks import file_lock, holder
from ..repo import datalad
from ..repo.dataset import dataset_id, remove_dataset
from ..repo.git import tracked_files
from . import encodejob, responses, software
from .cluster import cluster_kind, dashboard_link, dask_client
from .create import output_url, require_analysis_dataset
from .jobspec import RESPONSES, STAGES, Job, JobSpec, ResponsesSpec, expand
from .merge import MergeReport, merge_job_branches
from .sharing import build_session_cache, default_shared, job_env, link_datasets
from .worker import JobOutcome, log_path, run_task

StageBar = Callable[[str, int, str], AbstractContextManager[Callable[[int], None]]]
MAX_PER_TASK = 50


@contextmanager
def _no_bar(name: str, total: int, unit: str) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


@dataclass
class StageReport:
    name: str
    jobs: int = 0
    tasks: int = 0
    outcomes: list[JobOutcome] = field(default_factory=list)
    merge: MergeReport = field(default_factory=MergeReport)

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]


@dataclass
class FanoutReport:
    requested: int
    already: int = 0
    stages: dict[str, StageReport] = field(default_factory=dict)
    recovered: MergeReport = field(default_factory=MergeReport)
    fetch: FetchSummary = field(default_factory=FetchSummary)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage of the run
    dashboard: str | None = None
    inputs: str = ""  # where the inputs are fetched to

    @property
    def outcomes(self) -> list[JobOutcome]:
        return [o for s in self.stages.values() for o in s.outcomes]

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        merges = [s.merge for s in self.stages.values()] + [self.recovered]
        return not self.failed and all(m.ok for m in merges)

    def details(self) -> str:
        lines = [f"  job {o.job_id} failed ({o.error}); log: {o.log}" for o in self.failed]
        if self.recovered.merged:
            lines.insert(0, f"  finished earlier and merged now: {self.recovered.summary()}")
        return "\n".join(lines)

    def summary(self) -> str:
        encoding = self.stages.get("encoding", StageReport("encoding"))
        ran = len(encoding.outcomes)
        parts = [
            f"{self.requested} jobs: {self.already} already done, {ran} run, "
            f"{ran - len(encoding.failed)} succeeded, {len(encoding.failed)} failed"
        ]
        for stage in self.stages.values():
            if stage.jobs:
                parts.append(f"{stage.name}: {stage.merge.summary()}")
        if self.seconds:
            parts.append(
                "time per stage: "
                + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.seconds.items())
            )
        return "; ".join(parts)


def request(
    analysis: Path, subjects: list[str], splits: list[str], rois: list[str], embeddings: list[str]
) -> list[JobSpec]:
    """The encoding jobs of a request (``all`` subjects: every subject of the inputs)."""
    from ..layout.discovery import resolve_subjects

    analysis = require_analysis_dataset(analysis)
    chosen = resolve_subjects(analysis / ANALYSIS_INPUTS, subjects)
    return expand(chosen, splits, rois, embeddings)


def missing_jobs(analysis: Path, jobs: list[JobSpec]) -> list[JobSpec]:
    """The jobs whose summary is not committed in the analysis dataset."""
    done = set(tracked_files(analysis))
    return [job for job in jobs if job.summary not in done]


def responses_for(analysis: Path, jobs: list[JobSpec]) -> dict[str, ResponsesSpec]:
    """Per subject, the responses file its jobs read: a committed one covering every ROI set
    asked for (the whole brain covers all), else a new one over their union."""
    committed: dict[str, list[ResponsesSpec]] = {}
    for path in tracked_files(analysis, RESPONSES):
        name = Path(path).name
        if name.endswith("_responses.h5") and "_roi-" in name:
            subject, _, rest = name.partition("_roi-")
            committed.setdefault(subject, []).append(
                ResponsesSpec(subject, rest.removesuffix("_responses.h5"))
            )
    chosen: dict[str, ResponsesSpec] = {}
    for subject in sorted({j.subject for j in jobs}):
        sets = [j.roi for j in jobs if j.subject == subject]
        covering = [s for s in committed.get(subject, []) if all(s.covers(r) for r in sets)]
        chosen[subject] = (
            min(covering, key=lambda s: len(s.voxel_set))
            if covering
            else ResponsesSpec.covering(subject, sets)
        )
    return chosen


@dataclass
class Plan:
    responses: list[Job]
    encoding: list[Job]
    inputs: list[Path]  # of the superdataset, absolute: fetched once
    per_task: int
    reads: dict[str, ResponsesSpec]  # encoding job id -> the responses file it reads
    betas: list[tuple[str, Path]]  # (subject, betas file) the responses jobs read whole
    ranged: dict[ResponsesSpec, list[Path]]  # the model.h5 files an ROI set reads by ranges

    def range_text(self, superdataset: Path) -> str:
        """What the responses jobs of ROI sets will read by byte ranges (the masks and
        trial tables present: after the fetch)."""
        counted = [responses.range_bytes(superdataset, s.subject, s.voxel_set) for s in self.ranged]
        files = sum(len(paths) for paths in self.ranged.values())
        return (
            f"  range reads: {human(sum(b for b, _ in counted))} in "
            f"{sum(r for _, r in counted)} requests from {files} model.h5 files "
            "(plus each file's header, a few small ranges, once)"
        )

    def text(self, report: FanoutReport, where: Path, shared: Path, workers: int) -> str:
        missing = [p for p in self.inputs if not is_present(p)]
        size = sum(annexed_size(p) or 0 for p in self.inputs)
        to_get = sum(annexed_size(p) or 0 for p in missing)
        tasks = math.ceil(len(self.encoding) / self.per_task) if self.encoding else 0
        ranged = sum(len(paths) for paths in self.ranged.values())
        return "\n".join(
            [
                f"plan: {report.requested} encoding jobs requested, {report.already} done",
                f"  fetch once: {len(missing)} of {len(self.inputs)} input files, "
                f"{human(to_get)} of {human(size)}, into {report.inputs}",
                f"  responses: {len(self.responses)} jobs (one per subject and voxel set); "
                f"{len(self.ranged)} read ROI sets from {ranged} model.h5 files by byte ranges",
                f"  encoding: {len(self.encoding)} jobs in {tasks} tasks of up to "
                f"{self.per_task}, on {workers} workers",
                f"  clones under {where}; shared content links and caches in {shared}",
            ]
        )


def _relative(analysis: Path, paths: list[Path]) -> list[str]:
    return [os.path.relpath(p, analysis) for p in paths]


def plan_run(analysis: Path, todo: list[JobSpec], per_task: int | None, workers: int) -> Plan:
    """The jobs of both stages with their inputs (a ``UsageError`` for an unknown subject,
    ROI or split, before anything runs)."""
    superdataset = analysis / ANALYSIS_INPUTS
    chosen = responses_for(analysis, todo)
    done = set(tracked_files(analysis, RESPONSES))
    stage_one: list[Job] = []
    inputs: dict[Path, None] = {}
    betas: list[tuple[str, Path]] = []
    ranged: dict[ResponsesSpec, list[Path]] = {}
    for subject, spec in chosen.items():
        if spec.output not in done:
            found = responses.input_paths(superdataset, subject, spec.voxel_set)
            stage_one.append(
                spec.job(_relative(analysis, found.got), _relative(analysis, found.ranged))
            )
            inputs.update(dict.fromkeys(found.got))
            betas += [(subject, path) for path in found.betas]
            if found.ranged:
                ranged[spec] = found.ranged
    stage_two: list[Job] = []
    for job in todo:
        paths, noise_ceiling = encodejob.input_paths(superdataset, job)
        inputs.update(dict.fromkeys(paths))
        spec = chosen[job.subject]
        stage_two.append(
            job.job(
                spec,
                [spec.output, *_relative(analysis, paths)],
                os.path.relpath(noise_ceiling, analysis),
            )
        )
    size = per_task or max(1, min(MAX_PER_TASK, math.ceil(len(stage_two) / (2 * workers))))
    reads = {job.job_id: chosen[job.subject] for job in todo}
    return Plan(stage_one, stage_two, list(inputs), size, reads, betas, ranged)


def run_jobs(
    analysis: Path,
    jobs: list[JobSpec],
    *,
    workers: int,
    cluster: str = "local",
    scratch: Path | None = None,
    shared: Path | None = None,
    per_task: int | None = None,
    stage_bar: StageBar = _no_bar,
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
        try:
            return _fan_out(
                analysis, jobs, workers, cluster, run_dir, place, per_task, stage_bar, announce
            )
        finally:
            remove_dataset(run_dir)


def _fetch_once(
    analysis: Path, inputs: list[Path], workers: int, loopback: bool, bar: StageBar
) -> FetchSummary:
    """``datalad get`` every input not present, once, into the analysis dataset; a
    ``LaionFmriError`` naming what failed (run again to retry) before any job runs."""
    report = FetchSummary(files=len(inputs), bytes=sum(annexed_size(p) or 0 for p in inputs))
    missing = [p for p in inputs if not is_present(p)]
    report.present = len(inputs) - len(missing)
    report.present_bytes = report.bytes - sum(annexed_size(p) or 0 for p in missing)
    if not missing:
        return report
    sizes = {str(p): annexed_size(p) or 0 for p in missing}
    with bar("fetch", sum(sizes.values()), "B") as advance:
        for result in datalad.iter_results(
            "get",
            dataset=str(analysis),
            path=[str(p) for p in missing],
            jobs=workers,
            loopback=loopback,
        ):
            if result.get("type") != "file":
                continue
            path = str(result.get("path", ""))
            if result.get("status") in ("ok", "notneeded") and path in sizes:
                report.fetched += 1
                report.fetched_bytes += sizes[path]
                advance(sizes[path])
            elif result.get("status") not in ("ok", "notneeded"):
                report.failed.append(
                    (os.path.relpath(path, analysis), datalad.result_message(result))
                )
    still = [p for p in missing if not is_present(p)]
    if still:
        first = (
            ": ".join(report.failed[0]) if report.failed else os.path.relpath(still[0], analysis)
        )
        raise LaionFmriError(
            f"could not get {len(still)} of {len(missing)} inputs (first: {first[:200]}); "
            "run the same command again to retry"
        )
    return report


def _run_stage(
    client: Any,
    name: str,
    tasks: list[list[Job]],
    context: tuple[Path, str, Path, dict[str, str], bool],
    bar: StageBar,
) -> list[JobOutcome]:
    analysis, store, where, extra, loopback = context
    where.mkdir(parents=True, exist_ok=True)
    outcomes: list[JobOutcome] = []
    futures = {
        client.submit(
            run_task,
            str(analysis),
            task,
            store,
            str(where),
            extra,
            loopback,
            key=f"{name}-{i}-{task[0].job_id}",
            pure=False,
        ): task
        for i, task in enumerate(tasks)
    }
    completed = importlib.import_module("distributed").as_completed
    with bar(name, sum(len(t) for t in tasks), "job") as advance:
        for future in completed(futures):
            task = futures[future]
            try:
                outcomes += future.result()
            except Exception as error:  # the worker itself died: the task's jobs failed
                reason = f"worker lost: {' '.join(str(error).split())[:200]}"
                outcomes += [
                    JobOutcome(j.job_id, False, 0.0, str(log_path(analysis, j.job_id)), reason)
                    for j in task
                ]
            advance(len(task))
    return sorted(outcomes, key=lambda o: o.job_id)


def _fan_out(
    analysis: Path,
    jobs: list[JobSpec],
    workers: int,
    cluster: str,
    where: Path,
    shared: Path,
    per_task: int | None,
    bar: StageBar,
    announce: Callable[[str], None],
) -> FanoutReport:
    started = time.monotonic()
    store = output_url(analysis)
    report = FanoutReport(len(jobs), inputs=str(analysis / ANALYSIS_INPUTS))
    report.recovered = merge_job_branches(analysis, merge_message("finished earlier"))
    todo = missing_jobs(analysis, jobs)
    report.already = len(jobs) - len(todo)
    if not todo:
        return report
    plan = plan_run(analysis, todo, per_task, workers)
    announce(plan.text(report, where, shared, workers))
    report.seconds["plan"] = time.monotonic() - started
    loopback = serves_from_loopback(analysis / ANALYSIS_INPUTS)
    began = time.monotonic()
    report.fetch = _fetch_once(analysis, plan.inputs, workers, loopback, bar)
    if plan.ranged:
        announce(plan.range_text(analysis / ANALYSIS_INPUTS))
    link_datasets(shared, analysis / ANALYSIS_INPUTS)
    report.seconds["fetch"] = time.monotonic() - began
    context = (analysis, store, where, job_env(shared), loopback)
    with dask_client(cluster, workers) as client:
        report.dashboard = dashboard_link(client)
        if report.dashboard:
            announce(f"Dask dashboard: {report.dashboard}")
        for name in STAGES:
            began = time.monotonic()
            stage = report.stages.setdefault(name, StageReport(name))
            if name == "responses":
                stage_jobs = plan.responses
                tasks = [[job] for job in stage_jobs]  # each reads a subject's betas: alone
                unbuilt = _build_caches(client, analysis, plan.betas, shared, bar)
                if unbuilt:
                    announce(
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
                        str(log_path(analysis, j.job_id)),
                        f"its responses job {plan.reads[j.job_id].job_id} failed",
                    )
                    for j in blocked
                ]
                stage_jobs = [j for j in plan.encoding if j not in blocked]
                tasks = [
                    stage_jobs[i : i + plan.per_task]
                    for i in range(0, len(stage_jobs), plan.per_task)
                ]
            stage.jobs, stage.tasks = len(stage_jobs), len(tasks)
            if tasks:
                stage.outcomes += _run_stage(client, name, tasks, context, bar)
                stage.merge = merge_job_branches(
                    analysis, merge_message(f"{name}: {len(stage_jobs)} jobs")
                )
            if name == "responses":
                _get_responses(analysis, plan)
            report.seconds[name] = time.monotonic() - began
    return report


def _build_caches(
    client: Any, analysis: Path, betas: list[tuple[str, Path]], shared: Path, bar: StageBar
) -> list[str]:
    """The voxel-major cache of every session the responses jobs read, one Dask task a
    session (in parallel; a session whose cache is valid costs a check). A task that fails
    leaves its session to the responses job, which builds what it lacks itself; the
    failures are returned, to be said."""
    superdataset = str(analysis / ANALYSIS_INPUTS)
    futures = [
        client.submit(
            build_session_cache, superdataset, subject, str(path), str(shared), pure=False
        )
        for subject, path in betas
    ]
    completed = importlib.import_module("distributed").as_completed
    unbuilt: list[str] = []
    with bar("betas cache", len(futures), "session") as advance:
        for future in completed(futures):
            error = future.exception()
            if error is not None:
                unbuilt.append(f"{' '.join(str(error).split())[:200]}")
            advance(1)
    return unbuilt


def _get_responses(analysis: Path, plan: Plan) -> None:
    """Get the responses files the encoding jobs read into the analysis dataset (from the
    store), so that their clones hard-link them from here."""
    paths = sorted({spec.output for spec in plan.reads.values()})
    wanted = [str(analysis / p) for p in paths if (analysis / p).is_symlink()]
    if wanted:
        datalad.call("get", dataset=str(analysis), path=wanted, check=False)


def merge_message(what: str) -> str:
    return f"[laion-fmri] Merge the job branches of the encoding analysis ({what})"
