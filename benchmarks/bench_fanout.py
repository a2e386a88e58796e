"""Merging job branches: 100 and 1,000 trivial job branches (one small result file each,
pushed to a bare output repository as the jobs do), merged into the analysis dataset with
``analysis.merge.merge_job_branches``, side by side in one run.

Target (issue 16): 1,000 branches in <= 60 s, and the growth from 100 to 1,000 no worse
than linear (ratio of times <= 10 for 10x the branches).

    .venv/bin/python benchmarks/bench_fanout.py --workdir /tmp/bench-fanout

Not measured here (see benchmarks/README.md): the 1- vs 2-worker speed-up and the per-job
wrapper cost, which need the served bucket and a built superdataset.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path

from laion_fmri_datalad.analysis.dataset import OUTPUT
from laion_fmri_datalad.analysis.merge import _unmerged_tips, merge_job_branches
from laion_fmri_datalad.repo.env import apply_to_current_process, process_env


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True,
                          check=True, env=process_env())  # fmt: skip
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
        env = {**process_env(), "GIT_INDEX_FILE": str(index)}
        path = f"results/CLIP/random_0/{job}/{job}_roi-face_summary.tsv"
        subprocess.run(["git", "-C", str(analysis), "read-tree", base_tree], env=env, check=True)
        subprocess.run(["git", "-C", str(analysis), "update-index", "--add", "--cacheinfo",
                        f"100644,{blob},{path}"], env=env, check=True)  # fmt: skip
        tree = subprocess.run(["git", "-C", str(analysis), "write-tree"], env=env, check=True,
                              capture_output=True).stdout.decode().strip()  # fmt: skip
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-fanout"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    apply_to_current_process()
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
        print(f"merge {n:5d} job branches: {seconds:6.2f} s ({1000 * seconds / n:.1f} ms each), "
              f"one commit of {len(parents)} parents, {len(files)} results")  # fmt: skip
    small, large = min(times), max(times)
    if small != large:
        growth = times[large] / times[small]
        print(f"growth {small} -> {large} branches: x{growth:.2f} for x{large / small:.0f} "
              f"branches (linear: x{large / small:.0f}); {large} in {times[large]:.1f} s "
              f"(target <= 60 s)")  # fmt: skip


if __name__ == "__main__":
    main()
