"""The fan-out of analysis jobs, side by side in one run (targets of issue 16):

1. the same encoding job set (5 subjects x random_0, tau; face; CLIP) run with 1 and with
   2 Dask workers, each into a fresh analysis dataset (target: >= 1.6x with 2);
2. the per-job cost of the wrapper (ephemeral clone, datalad get of the inputs, datalad
   run, push, removal) beside the bare computation of the same jobs in one process on
   inputs already present (target: <= 3 s per job);
3. merging 100 and 1,000 trivial job branches (one small result file each, pushed to a bare
   output repository as jobs do) with ``merge_job_branches`` (target: 1,000 in <= 60 s, and
   growth from 100 to 1,000 no worse than linear).

Parts 1-2 use the demo's synthetic bucket and RIA store (run ``make demo`` first; the
bucket is served again from ``DEMO/s3``):

    .venv/bin/python benchmarks/bench_fanout.py --demo .demo --workdir /tmp/bench-fanout
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from laion_fmri_datalad.analysis.create import OUTPUT
from laion_fmri_datalad.analysis.merge import _unmerged_tips, merge_job_branches
from laion_fmri_datalad.layout.names import ANALYSIS_INPUTS
from laion_fmri_datalad.repo.env import tool_env


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        check=True,
        env=tool_env(loopback=True),
    )
    return done.stdout.decode()


def setup(root: Path, n: int) -> Path:
    """An analysis repository with ``n`` job branches in its bare output repository, each
    one commit adding ``results/CLIP/random_0/sub-NNNN/..._summary.tsv``."""
    shutil.rmtree(root, ignore_errors=True)
    analysis, store = root / "analysis", root / "store.git"
    analysis.mkdir(parents=True)
    git(analysis, "init", "-q", "-b", "main")
    (analysis / "README.md").write_text("analysis\n")
    git(analysis, "add", "README.md")
    git(analysis, "commit", "-q", "-m", "base")
    subprocess.run(["git", "init", "-q", "--bare", str(store)], check=True)
    git(analysis, "remote", "add", OUTPUT, str(store))
    base = git(analysis, "rev-parse", "HEAD").strip()
    base_tree = git(analysis, "rev-parse", "HEAD^{tree}").strip()
    refs = []
    for i in range(n):  # plumbing: a blob, a tree with it, a commit on the base
        job = f"sub-{i:04d}"
        blob = git(analysis, "hash-object", "-w", "--stdin", input=f"{i}\n".encode()).strip()
        index = root / "index"
        env = {**tool_env(loopback=True), "GIT_INDEX_FILE": str(index)}
        path = f"results/CLIP/random_0/{job}/{job}_roi-face_summary.tsv"
        subprocess.run(["git", "-C", str(analysis), "read-tree", base_tree], env=env, check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(analysis),
                "update-index",
                "--add",
                "--cacheinfo",
                f"100644,{blob},{path}",
            ],
            env=env,
            check=True,
        )
        tree = (
            subprocess.run(
                ["git", "-C", str(analysis), "write-tree"], env=env, check=True, capture_output=True
            )
            .stdout.decode()
            .strip()
        )
        commit = git(analysis, "commit-tree", tree, "-p", base, "-m", f"job {job}").strip()
        refs.append(f"{commit}:refs/heads/job/CLIP_random_0_{job}_roi-face")
    for start in range(0, len(refs), 500):
        git(analysis, "push", "-q", OUTPUT, *refs[start : start + 500])
    return analysis


def merge_only(analysis: Path) -> tuple[float, int]:
    """Seconds of the merge itself (fetch included), and branches merged. The fsck step is
    not reached: these trivial outputs are in git, not annexed."""
    started = time.perf_counter()
    report = merge_job_branches(analysis, "merge")
    return time.perf_counter() - started, len(report.merged)


def fan_out(demo: Path, workdir: Path) -> None:
    """Parts 1 and 2: the same jobs with 1 and 2 workers, and the bare computation."""
    from laion_fmri_datalad.analysis.create import create_analysis
    from laion_fmri_datalad.analysis.encodejob import fit, run
    from laion_fmri_datalad.analysis.fanout import request, run_jobs
    from laion_fmri_datalad.devserver.localbucket import start_bucket

    bucket = start_bucket(demo / "fixture", demo / "s3")
    try:
        source = f"ria+file://{demo.absolute() / 'ria'}#~laion-fmri"
        seconds: dict[int, float] = {}
        per_job: dict[int, list[float]] = {}
        for workers in (1, 2):
            analysis = workdir / f"analysis-{workers}"
            shutil.rmtree(analysis, ignore_errors=True)
            shutil.rmtree(workdir / f"analysis-{workers}-outputs", ignore_errors=True)
            create_analysis(analysis, source)
            jobs = request(analysis, ["all"], ["random_0", "tau"], ["face"], ["CLIP"])
            started = time.perf_counter()
            report = run_jobs(analysis, jobs, workers=workers, scratch=workdir / "scratch")
            seconds[workers] = time.perf_counter() - started
            assert report.ok, report.details()
            per_job[workers] = [o.seconds for o in report.outcomes]
            print(
                f"{len(jobs)} jobs, {workers} worker(s): {seconds[workers]:.1f} s in all, "
                f"{np.mean(per_job[workers]):.1f} s per job (wrapper included)"
            )
        print(f"speed-up with 2 workers: x{seconds[1] / seconds[2]:.2f} (target >= 1.6)")
        superdataset = workdir / "analysis-1" / ANALYSIS_INPUTS
        bare = []
        for job in jobs:
            fit(superdataset, job, fetch=True)  # inputs present, indexes built: not timed
            started = time.perf_counter()
            run(superdataset, job, workdir / "bare")
            bare.append(time.perf_counter() - started)
        wrapper = float(np.mean(per_job[1]) - np.mean(bare))
        print(
            f"bare computation {np.mean(bare):.2f} s per job; wrapper (clone, get, run, "
            f"push, removal) {wrapper:.2f} s per job (target <= 3 s)"
        )
    finally:
        bucket.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-fanout"))
    parser.add_argument(
        "--demo",
        type=Path,
        default=Path(".demo"),
        help="a `make demo` directory (fixture, s3, ria)",
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--merge-only", action="store_true", help="part 3 alone")
    args = parser.parse_args()
    # a benchmark is a program: its main sets its own process up once, as the CLI does
    os.environ.update(tool_env(loopback=True))
    if not args.merge_only:
        if not (args.demo / "ria").is_dir():
            parser.error(f"--demo {args.demo}: no RIA store there; run make demo first")
        fan_out(args.demo.absolute(), args.workdir.absolute())
    times: dict[int, float] = {}
    for n in args.sizes:
        analysis = setup(args.workdir / f"n{n}", n)
        assert len(_unmerged_tips(analysis)) == n
        seconds, merged = merge_only(analysis)
        assert merged == n and not _unmerged_tips(analysis)
        parents = git(analysis, "log", "-1", "--format=%P").split()
        files = git(analysis, "ls-files", "results").splitlines()
        assert len(parents) == n + 1 and len(files) == n
        times[n] = seconds
        print(
            f"merge {n:5d} job branches: {seconds:6.2f} s ({1000 * seconds / n:.1f} ms each), "
            f"one commit of {len(parents)} parents, {len(files)} results"
        )
    small, large = min(times), max(times)
    if small != large:
        growth = times[large] / times[small]
        print(
            f"growth {small} -> {large} branches: x{growth:.2f} for x{large / small:.0f} "
            f"branches (linear: x{large / small:.0f}); {large} in {times[large]:.1f} s "
            f"(target <= 60 s)"
        )


if __name__ == "__main__":
    main()
