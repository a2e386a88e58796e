"""``analysis``: an analysis dataset the YODA way, and the encoding analysis fanned out.

``analysis create DIR [--source URL] [--store RIA_URL]`` makes a DataLad dataset with the
superdataset installed as ``inputs/laion-fmri`` and the reference analysis in ``code/``;
``analysis run encoding -d DIR --subject all --roi face --split random_0 tau --embedding
CLIP -J 2`` runs one job per subject, split, ROI set and embedding on Dask (``--cluster
local``, or ``slurm``/``pbs``/``sge``/``lsf`` through dask-jobqueue), grouped into tasks that
each run their jobs under ``datalad run`` in one clone of their own (its content hard-linked
from one fetched copy), and merges the results; again, it runs only what is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..repo.annex import require_git_annex
from ..runtime.reports import Report
from .options import OneLineParser, add_dataset, add_jobs, dataset_from


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..analysis.cluster import CLUSTERS
    from ..analysis.jobspec import EMBEDDINGS

    analysis = sub.add_parser(
        "analysis",
        help="make an analysis dataset and run the encoding analysis in it",
        description=__doc__.split("\n\n")[1].replace("``", "`"),
    )
    commands = analysis.add_subparsers(
        dest="analysis_command", required=True, parser_class=OneLineParser
    )
    create = commands.add_parser("create", help="make an analysis dataset (YODA layout)")
    create.add_argument("path", type=Path, metavar="DIR", help="where (absent or empty)")
    create.add_argument(
        "--source",
        default=None,
        help="the superdataset to install as inputs/laion-fmri: a clone's path, a URL or a "
        "ria+ URL (default: the superdataset here)",
    )
    create.add_argument(
        "--store",
        default=None,
        help="RIA store for the jobs' outputs (default: ria+file://DIR-outputs beside DIR)",
    )
    create.set_defaults(func=run_create)

    run = commands.add_parser("run", help="run an analysis's jobs on Dask and merge them")
    run.add_argument("analysis", choices=["encoding"], help="the analysis (encoding)")
    add_dataset(run, "the analysis dataset")
    run.add_argument("--subject", nargs="+", default=["all"], help="subjects, or all")
    run.add_argument("--split", nargs="+", required=True, help="split names, e.g. random_0")
    run.add_argument(
        "--roi",
        nargs="+",
        required=True,
        help="ROI sets: an ROI, a category, or several joined by '+'",
    )
    run.add_argument("--embedding", nargs="+", default=["CLIP"], choices=EMBEDDINGS)
    add_jobs(run, 2, "Dask workers")
    run.add_argument(
        "--cluster",
        choices=CLUSTERS,
        default="local",
        help="local worker processes, or a batch scheduler through "
        "dask-jobqueue (configured in Dask's jobqueue.yaml)",
    )
    run.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where jobs make their temporary clones: node-local disk (default: $TMPDIR)",
    )
    run.add_argument(
        "--shared",
        type=Path,
        default=None,
        help="a directory every worker reaches, for the links to the fetched inputs and "
        "the betas cache (default: .git/laion-fmri/shared in the analysis dataset)",
    )
    run.add_argument(
        "--per-task",
        type=int,
        default=None,
        metavar="N",
        help="encoding jobs per worker task, one clone and one push each (default: the "
        "jobs spread over twice as many tasks as workers, at most 50 a task)",
    )
    run.set_defaults(func=run_run)

    pin = commands.add_parser(
        "pin", help="record the running software in code/environment.txt (the jobs check it)"
    )
    add_dataset(pin, "the analysis dataset")
    pin.set_defaults(func=run_pin)


def run_create(args: argparse.Namespace) -> Report:
    from ..analysis.create import create_analysis
    from ..layout.discovery import find_superdataset

    require_git_annex()
    source = args.source or str(find_superdataset(None))
    return create_analysis(args.path, source, args.store)


def run_run(args: argparse.Namespace) -> Report:
    from ..analysis import request, run_jobs
    from ..runtime.progress import progress_bar

    require_git_annex()
    analysis = dataset_from(args).absolute()
    jobs = request(analysis, args.subject, args.split, args.roi, args.embedding)
    return run_jobs(
        analysis,
        jobs,
        workers=args.jobs,
        cluster=args.cluster,
        scratch=args.scratch,
        shared=args.shared,
        per_task=args.per_task,
        stage_bar=progress_bar,
        announce=print,
    )


def run_pin(args: argparse.Namespace) -> Report:
    from ..analysis.create import pin_software
    from ..runtime.reports import Done

    return Done(pin_software(dataset_from(args).absolute()))
