"""Bytes from the S3 server per analysis run, against the distinct bytes of its inputs
(target of issue 22: <= 1.05), for 1 and for 16 encoding jobs of one subject (4 splits x 4
ROI sets), each run into a fresh analysis dataset of the demo's superdataset.

The bytes are counted by the fault proxy (faults off) put in front of the demo's S3 server
on the port the demo's URLs name (the server itself moves to a free port). The distinct
bytes are the sizes, from their git-annex keys, of the files the run's plan names as inputs
(each counted once), and the rows of ``model.h5`` the responses stage reads by byte ranges for
an ROI set (issue 36). Before issue 22's change, every job fetched its own copy of every
input, betas included: the ratio was about the number of jobs; before issue 36's, the
responses stage got every session's 4D betas whole.

    make demo   # once: the superdataset, its RIA store and the S3 server data in .demo
    .venv/bin/python benchmarks/bench_analysis_bytes.py --demo .demo --workdir /tmp/bench-bytes
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from demoproxy import behind_proxy, checked_demo
from laion_fmri_datalad.analysis import missing_jobs, plan_run, request, run_jobs
from laion_fmri_datalad.analysis.create import create_analysis
from laion_fmri_datalad.analysis.responses import range_bytes
from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.layout.names import ANALYSIS_INPUTS
from laion_fmri_datalad.loaders.clone.content import annexed_size, human

SPLITS = ["random_0", "tau", "cluster_k5_0", "ood"]
ROI_SETS = ["face", "body", "place", "FFA1+PPA"]


def one_run(
    source: str, workdir: Path, name: str, jobs_args: tuple[list[str], list[str]], proxy: FaultProxy
) -> None:
    analysis = workdir / name
    shutil.rmtree(analysis, ignore_errors=True)
    shutil.rmtree(workdir / f"{name}-outputs", ignore_errors=True)
    create_analysis(analysis, source)
    splits, rois = jobs_args
    jobs = request(analysis, ["sub-01"], splits, rois, ["CLIP"])
    plan = plan_run(analysis, missing_jobs(analysis, jobs), None, 2)
    distinct = sum(annexed_size(p) or 0 for p in plan.inputs)
    before = proxy.schedule.body_bytes
    started = time.perf_counter()
    report = run_jobs(analysis, jobs, workers=2, scratch=workdir / "scratch")
    seconds = time.perf_counter() - started
    assert report.ok, report.details()
    sent = proxy.schedule.body_bytes - before
    inputs = analysis / ANALYSIS_INPUTS
    rows = sum(range_bytes(inputs, s.subject, s.voxel_set)[0] for s in plan.ranged)
    ranged = [p for paths in plan.ranged.values() for p in paths]
    whole = sum(annexed_size(betas_of(p)) or 0 for p in ranged)  # the NIfTIs, got whole before
    print(
        f"{len(jobs):2d} encoding jobs (+{report.stages['responses'].jobs} responses) of sub-01: "
        f"{human(sent)} from the server for {human(distinct)} of whole inputs "
        f"({len(plan.inputs)} files) and {human(rows)} of model.h5 rows ({len(ranged)} files): "
        f"ratio {sent / (distinct + rows):.3f} (target <= 1.05; the rest is each model.h5's "
        f"header); the 4D betas the responses stage got whole before: {human(whole)}; "
        f"{seconds:.1f} s"
    )


def betas_of(model: Path) -> Path:
    """The session's 4D betas beside its ``model.h5``."""
    stem = model.name.removesuffix("_space-T1w_desc-GLMsingle_model.h5")
    return model.with_name(f"{stem}_space-T1w_stat-effect_desc-SingletrialBetas_statmap.nii.gz")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=Path(".demo"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-bytes"))
    args = parser.parse_args()
    demo, workdir = checked_demo(args.demo), args.workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    with behind_proxy(demo, Schedule(enabled=False)) as proxy:
        source = f"ria+file://{demo / 'ria'}#~laion-fmri"
        one_run(source, workdir, "one", (["random_0"], ["face"]), proxy)
        one_run(source, workdir, "sixteen", (SPLITS, ROI_SETS), proxy)


if __name__ == "__main__":
    main()
