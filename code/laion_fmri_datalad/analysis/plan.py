"""Planning a run: the encoding jobs of a request, those not done yet, the responses file
each subject's jobs read, and every job's exact inputs from the loaders' queries
(subdatasets installed, no content fetched). An unknown subject, ROI or split is a
``UsageError`` here, before anything runs."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..layout.names import ANALYSIS_INPUTS
from ..loaders.clone.content import annexed_size, human, is_present
from ..repo.git import tracked_files
from . import encodejob, responses
from .create import require_analysis_dataset
from .jobspec import RESPONSES, Job, JobSpec, ResponsesSpec, expand
from .report import FanoutReport

MAX_PER_TASK = 50


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
        spec = ResponsesSpec.from_output(path)
        if spec is not None:
            committed.setdefault(spec.subject, []).append(spec)
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

    @property
    def ranged_files(self) -> int:
        return sum(len(paths) for paths in self.ranged.values())

    def text(self, report: FanoutReport, where: Path, shared: Path, workers: int) -> str:
        missing = [p for p in self.inputs if not is_present(p)]
        size = sum(annexed_size(p) or 0 for p in self.inputs)
        to_get = sum(annexed_size(p) or 0 for p in missing)
        tasks = math.ceil(len(self.encoding) / self.per_task) if self.encoding else 0
        return "\n".join(
            [
                f"plan: {report.requested} encoding jobs requested, {report.already} done",
                f"  fetch once: {len(missing)} of {len(self.inputs)} input files, "
                f"{human(to_get)} of {human(size)}, into {report.inputs}",
                f"  responses: {len(self.responses)} jobs (one per subject and voxel set); "
                f"{len(self.ranged)} read ROI sets from {self.ranged_files} model.h5 files by byte ranges",
                f"  encoding: {len(self.encoding)} jobs in {tasks} tasks of up to "
                f"{self.per_task}, on {workers} workers",
                f"  clones under {where}; shared content links and caches in {shared}",
            ]
        )

    def range_text(self, superdataset: Path) -> str:
        """What the responses jobs of ROI sets will read by byte ranges (the masks and
        trial tables present: after the fetch)."""
        counted = [responses.range_bytes(superdataset, s.subject, s.voxel_set) for s in self.ranged]
        return (
            f"  range reads: {human(sum(b for b, _ in counted))} in "
            f"{sum(r for _, r in counted)} requests from {self.ranged_files} model.h5 files "
            "(plus each file's header, a few small ranges, once)"
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
