"""The fan-out of analysis jobs, side by side in one run (targets of issues 16 and 22):

1. the same encoding job set (5 subjects x random_0, tau, cluster_k5_0, ood; face; CLIP:
   20 jobs, after 5 responses jobs) run with 1 and with 2 Dask workers, each into a fresh
   analysis dataset (target: >= 1.6x with 2), with the time per stage;
2. the per-job cost of the wrapper (the task's clone, the hard-linked inputs, datalad run,
   the task's one push, removal) beside the bare computation of the same jobs (the job's
   script run directly on inputs already present) (target: <= 3 s per job);
3. merging 100 and 1,000 trivial task branches (one small result file each, pushed to a
   bare output repository as tasks do) with ``merge_job_branches`` (target: 1,000 in <= 60
   s, and growth from 100 to 1,000 no worse than linear).

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
from laion_fmri_datalad.analysis.merge import _store_tips, merge_job_branches
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
        message = f"[DATALAD RUNCMD] [laion-fmri] Encoding job CLIP_random_0_{job}_roi-face"
        commit = git(analysis, "commit-tree", tree, "-p", base, "-m", message).strip()
        refs.append(f"{commit}:refs/heads/job/encoding-{i:012d}")
    for start in range(0, len(refs), 500):
        git(analysis, "push", "-q", OUTPUT, *refs[start : start + 500])
    return analysis


def merge_only(analysis: Path) -> tuple[float, int]:
    """Seconds of the merge itself (fetch and deleting the merged branches from the store
    included), and jobs merged. The fsck step is not reached: these trivial outputs are in
    git, not annexed."""
    started = time.perf_counter()
    report = merge_job_branches(analysis, "merge")
    return time.perf_counter() - started, len(report.merged)


def fan_out(demo: Path, workdir: Path) -> None:
    """Parts 1 and 2: the same jobs with 1 and 2 workers, and the bare computation."""
    from laion_fmri_datalad.analysis import plan_run, request, run_jobs
    from laion_fmri_datalad.analysis.create import create_analysis
    from laion_fmri_datalad.analysis.software import ENVIRONMENT
    from laion_fmri_datalad.devserver.localbucket import start_bucket

    bucket = start_bucket(demo / "fixture", demo / "s3")
    splits = ["random_0", "tau", "cluster_k5_0", "ood"]
    try:
        source = f"ria+file://{demo.absolute() / 'ria'}#~laion-fmri"
        seconds: dict[int, float] = {}
        per_job: dict[int, float] = {}  # wall per job in its task
        for workers in (1, 2):
            analysis = workdir / f"analysis-{workers}"
            shutil.rmtree(analysis, ignore_errors=True)
            shutil.rmtree(workdir / f"analysis-{workers}-outputs", ignore_errors=True)
            create_analysis(analysis, source)
            jobs = request(analysis, ["all"], splits, ["face"], ["CLIP"])
            started = time.perf_counter()
            report = run_jobs(analysis, jobs, workers=workers, scratch=workdir / "scratch")
            seconds[workers] = time.perf_counter() - started
            assert report.ok, report.details()
            encoding = report.stages["encoding"]
            walls = [o.seconds for o in encoding.outcomes]
            computes = [o.compute_seconds for o in encoding.outcomes]
            per_job[workers] = float(np.mean(walls))
            stages = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
            print(
                f"{len(jobs)} encoding jobs in {encoding.tasks} tasks, {workers} worker(s): "
                f"{seconds[workers]:.1f} s in all ({stages}); per job {np.mean(walls):.2f} s "
                f"in its task, of which datalad run {np.mean(computes):.2f} s"
            )
        print(f"speed-up with 2 workers: x{seconds[1] / seconds[2]:.2f} (target >= 1.6)")
        analysis = workdir / "analysis-1"
        bare_dir = workdir / "bare"
        shutil.rmtree(bare_dir, ignore_errors=True)
        (bare_dir / "code").mkdir(parents=True)
        shutil.copy(analysis / ENVIRONMENT, bare_dir / ENVIRONMENT)
        plan = plan_run(analysis, jobs, None, 1)
        bare = []
        for job in plan.encoding:  # the job's script alone, its inputs present
            argv = [
                str(a) if not str(a).startswith(("responses/", "inputs/")) else str(analysis / a)
                for a in job.argv
            ]
            started = time.perf_counter()
            subprocess.run(
                [
                    "python",
                    str(analysis / job.script),
                    "--dataset",
                    str(analysis / ANALYSIS_INPUTS),
                    *argv,
                ],
                cwd=bare_dir,
                check=True,
                capture_output=True,
            )
            bare.append(time.perf_counter() - started)
        print(
            f"bare job script {np.mean(bare):.2f} s per job; wrapper per job (wall per job in "
            f"its task minus the bare script) {per_job[1] - np.mean(bare):.2f} s with 1 worker, "
            f"{per_job[2] - np.mean(bare):.2f} s with 2 (target <= 3 s)"
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
        assert len(_store_tips(analysis)[0]) == n
        seconds, merged = merge_only(analysis)
        assert merged == n and _store_tips(analysis) == ({}, [])
        merges = git(analysis, "log", "--merges", "--format=%P").splitlines()
        tips = sum(len(m.split()) - 1 for m in merges)  # each merge's first parent: HEAD
        files = git(analysis, "ls-files", "results").splitlines()
        assert tips == n and len(files) == n
        times[n] = seconds
        print(
            f"merge {n:5d} task branches: {seconds:6.2f} s ({1000 * seconds / n:.1f} ms each), "
            f"{len(merges)} merge commit(s) of at most {max(len(m.split()) for m in merges)} "
            f"parents, {len(files)} results"
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
