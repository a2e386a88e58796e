"""Analyses on the dataset: the reference encoding analysis in an analysis dataset, fanned
out on Dask in two stages (responses, then encoding).

>>> from laion_fmri_datalad.analysis import create_analysis, request, run_jobs
>>> create_analysis(Path("my-analysis"), "laion-fmri")
>>> report = run_jobs(Path("my-analysis"), request(Path("my-analysis"), ["sub-01"],
...                   ["tau"], ["face"], ["CLIP"]), workers=2)

The modules, in a run's order: ``create`` (the dataset), ``jobspec`` (what the jobs are),
``plan``, ``fetch``, ``stages`` (per stage on Dask, ``cluster``), ``worker`` (one task:
clone, ``datalad run`` each job, push), ``merge``, ``report``; ``fanout`` drives them. The
jobs' own code: ``responses`` and ``encodejob`` (with ``encoding``, the ridge fit).

The names are imported on first use, so the command line does not pay for Dask.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..runtime.lazy import lazy_exports

if TYPE_CHECKING:  # the names as mypy and editors see them; imported on first use
    from .create import create_analysis
    from .fanout import run_jobs
    from .jobspec import JobSpec, ResponsesSpec
    from .plan import missing_jobs, plan_run, request
    from .report import FanoutReport

_WHERE = {
    "create_analysis": "create",
    "run_jobs": "fanout",
    "JobSpec": "jobspec",
    "ResponsesSpec": "jobspec",
    "missing_jobs": "plan",
    "plan_run": "plan",
    "request": "plan",
    "FanoutReport": "report",
}

__all__ = [
    "FanoutReport",
    "JobSpec",
    "ResponsesSpec",
    "create_analysis",
    "missing_jobs",
    "plan_run",
    "request",
    "run_jobs",
]


__getattr__ = lazy_exports(__name__, _WHERE)
