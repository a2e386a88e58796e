"""The analysis's computation at the real grid (143³, 1,044 trials per session, the brain mask
of 272,607 voxels), side by side with its baseline (target of issue 22: the responses stage
plus 16 encoding jobs on 2 workers in <= 1.5 x one ISA-L pass over every session plus one
encoding job), and the peak RSS of every process.

    .venv/bin/python benchmarks/bench_realgrid.py --workdir /tmp/bench-realgrid [--sessions 2]

Writes (once) ``--sessions`` betas files with ``bench_betas.py``'s generator (3.6 GB gz,
12.2 GB raw each; the later ones copies of the first, so each has its own inode and cache),
one trial table per session (522 images, each shown twice per session and in every session)
and four ROI balls of about 4,900 voxels. Then, each in a fresh process: the bare ISA-L pass
over every session (baseline); the responses stage as ``analysis run`` does it: each
session's voxel-major cache built by its own task on a 2-worker Dask LocalCluster, then
``responses.write`` over the union of the four ROIs reading the voxel blocks; one encoding
job (``open_responses`` + ``RidgeCV`` over 768-dimensional features, the three maps written
with ``write_map``); 16 encoding jobs (4 train/test splits x 4 ROI
sets) on a 2-worker Dask LocalCluster, and the whole brain: its responses (from the cache)
and one encoding job over all 272,607 voxels, with their RSS beside the size of the
subject's responses. The subject is a stand-in object with the loaders' ``Subject``
methods the stage calls (no superdataset at this size fits this machine's disk twice); the
per-job wrapper (clone, hard-linked inputs, datalad run, push) is measured on the tiny
bucket by ``bench_fanout.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_betas import BRAIN, SHAPE, ball, ellipsoid, write_betas

ROIS = {"roiA": (60, 70, 75), "roiB": (85, 60, 65), "roiC": (70, 90, 60), "roiD": (50, 55, 80)}
IMAGES = 522  # per session, each shown twice; the same images in every session
DIMS = 768

SUBJECT = '''
import json, sys
from pathlib import Path
import numpy as np
import pandas as pd
WORK = Path(sys.argv[1])
SESSIONS = json.loads(sys.argv[2])
BRAIN = np.load(WORK / "brain.npy")
ROIS = {p.stem: np.load(p) for p in sorted((WORK / "rois").glob("*.npy"))}

class Files:
    roi_catalogue = {"balls": sorted(ROIS)}
    def betas(self, session): return WORK / f"{session}_betas.nii.gz"
    def trials(self, session): return WORK / f"{session}_trials.tsv"

class Content:
    def ensure_present(self, paths): pass

class Subject:
    """A stand-in with the methods responses.write calls."""
    subject_id = "sub-01"
    files = Files()
    content = Content()
    shape = tuple(BRAIN.shape)
    affine = np.diag([1.778, 1.778, 1.778, 1.0])
    n_voxels = int(BRAIN.sum())
    def get_sessions(self): return list(SESSIONS)
    def get_trial_info(self, session): return pd.read_csv(self.files.trials(session), sep="\\t")
    def get_brain_mask(self): return BRAIN.ravel()
    def get_roi_mask(self, names):
        names = [names] if isinstance(names, str) else names
        union = np.zeros(BRAIN.shape, dtype=bool)
        for n in names:
            union |= ROIS[n]
        return union[BRAIN]
'''

RESPONSES = """
from laion_fmri_datalad.analysis.responses import write
write(Subject(), sys.argv[3], Path(sys.argv[4]))
"""

ENCODE = f"DIMS = {DIMS}\n" + (
    """
from laion_fmri_datalad.analysis.encodejob import write_map
from laion_fmri_datalad.analysis.responses import open_responses
from laion_fmri_datalad.analysis.encoding import RidgeCV

def job(path, roi, split, out):
    responses = open_responses(Path(path), roi)
    n = len(responses.images)
    rng = np.random.default_rng(1000 + split)
    features = rng.normal(size=(n, DIMS))
    test = np.zeros(n, dtype=bool)
    test[rng.choice(n, n // 5, replace=False)] = True
    model = RidgeCV.prepare(features[~test], features[test])
    r = np.full(responses.columns.size, np.nan)
    r2 = np.full(responses.columns.size, np.nan)
    for cols, values in responses.blocks():
        a, b, _ = model.fit_block(values[~test], values[test])
        r[cols], r2[cols] = a, b
    for name, values in (("r", r), ("r2", r2), ("r2overnc", r2)):
        write_map(values, responses, Path(out) / f"{roi}_split-{split}_stat-{name}.nii.gz")
    return rss_mb()
"""
)

RSS = """
def rss_mb():
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(l for l in status if l.startswith("VmHWM")).split()[1]) / 1024
"""

ONE_JOB = """
import time
start = time.perf_counter()
job(sys.argv[3], sys.argv[4], 0, sys.argv[5])
print(json.dumps({"seconds": time.perf_counter() - start, "rss_mb": rss_mb()}))
"""

SIXTEEN = """
import time
from distributed import Client, LocalCluster
if __name__ == "__main__":
    rois = json.loads(sys.argv[4])
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: None)  # workers up before the clock starts
        start = time.perf_counter()
        futures = [client.submit(job, sys.argv[3], roi, split, sys.argv[5], pure=False) for split in range(4) for roi in rois]
        rss = client.gather(futures)
        seconds = time.perf_counter() - start
        workers = client.run(rss_mb)
    print(json.dumps({"seconds": seconds, "rss_mb": max(workers.values()), "job_rss_mb": max(rss)}))
"""

CACHES = """
import time
from distributed import Client, LocalCluster
from laion_fmri_datalad.loaders.betas.cache import ensure_cache
if __name__ == "__main__":
    sub = Subject()
    brain = sub.get_brain_mask().reshape(sub.shape)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(lambda: None)
        start = time.perf_counter()
        futures = [client.submit(ensure_cache, sub.files.betas(s), brain, pure=False) for s in SESSIONS]
        client.gather(futures)
        seconds = time.perf_counter() - start
        workers = client.run(rss_mb)
    print(json.dumps({"seconds": seconds, "rss_mb": max(workers.values())}))
"""

ISAL = """
import time
from isal import igzip
start = time.perf_counter()
buffer = bytearray(1 << 20)
for session in SESSIONS:
    with igzip.open(WORK / f"{session}_betas.nii.gz", "rb") as f:
        while f.readinto(buffer):
            pass
print(json.dumps({"seconds": time.perf_counter() - start, "rss_mb": rss_mb()}))
"""

TIMED = """
import time
start = time.perf_counter()
{code}
print(json.dumps({{"seconds": time.perf_counter() - start, "rss_mb": rss_mb()}}))
"""


def child(script: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def prepare(work: Path, sessions: list[str], trials: int) -> None:
    work.mkdir(parents=True, exist_ok=True)
    first = work / f"{sessions[0]}_betas.nii.gz"
    if not first.is_file():
        print(f"writing {first} (once) ...", flush=True)
        write_betas(first, trials)
    for session in sessions[1:]:
        path = work / f"{session}_betas.nii.gz"
        if not path.exists():
            shutil.copyfile(first, path.with_suffix(".partial"))
            path.with_suffix(".partial").rename(path)
    objects = work / "objects"  # as in a clone: each file a symlink named by its annex key
    objects.mkdir(exist_ok=True)
    for session in sessions:
        path = work / f"{session}_betas.nii.gz"
        if not path.is_symlink():
            key = objects / f"MD5E-s{path.stat().st_size}--bench{session}.nii.gz"
            path.rename(key)
            path.symlink_to(key)
    brain = ellipsoid(BRAIN)
    np.save(work / "brain.npy", brain)
    (work / "rois").mkdir(exist_ok=True)
    for name, centre in ROIS.items():
        np.save(work / "rois" / f"{name}.npy", ball(centre) & brain)
    shows = trials // IMAGES
    for session in sessions:
        rng = np.random.default_rng(int(session.split("-")[1]))
        labels = np.repeat([f"shared_{i:05d}.png" for i in range(IMAGES)], shows)[:trials]
        labels = np.concatenate([labels, labels[: trials - labels.size]])
        rng.shuffle(labels)
        rows = [f"{session}\t{label}\t{i}\n" for i, label in enumerate(labels)]
        (work / f"{session}_trials.tsv").write_text("session\tlabel\tbeta_index\n" + "".join(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-realgrid"))
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--trials", type=int, default=1044)
    args = parser.parse_args()
    work = args.workdir.absolute()
    sessions = [f"ses-{i + 1:02d}" for i in range(max(2, args.sessions))]
    prepare(work, sessions, args.trials)
    setup = SUBJECT + RSS
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(work / "out", ignore_errors=True)
    (work / "out").mkdir()
    env = {**os.environ, "LAION_FMRI_CACHE_DIR": str(work / "cache")}
    common = (str(work), json.dumps(sessions))
    union = "+".join(ROIS)
    figures: dict[str, dict[str, float]] = {}
    figures["ISA-L pass over every session"] = child(setup + ISAL, *common)
    responses = work / "out" / "responses.h5"
    script = work / "caches.py"
    script.write_text(setup + CACHES)
    figures["session caches, 2 workers"] = child(script.read_text(), *common, env=env)
    figures["responses (from the caches)"] = child(
        setup
        + RESPONSES.replace("write(", "import time; _s = time.perf_counter(); write(")
        + 'print(json.dumps({"seconds": time.perf_counter() - _s, "rss_mb": rss_mb()}))',
        *common,
        union,
        str(responses),
        env=env,
    )
    figures["one encoding job (roiA)"] = child(
        setup + ENCODE + ONE_JOB, *common, str(responses), "roiA", str(work / "out"), env=env
    )
    script = work / "sixteen.py"
    script.write_text(setup + ENCODE + SIXTEEN)
    figures["16 encoding jobs on 2 workers"] = child(
        script.read_text(),
        *common,
        str(responses),
        json.dumps(list(ROIS)),
        str(work / "out"),
        env=env,
    )
    whole = work / "out" / "responses-all.h5"
    figures["responses, whole brain (from the cache)"] = child(
        setup + TIMED.format(code=RESPONSES.strip()), *common, "all", str(whole), env=env
    )
    figures["one encoding job, whole brain"] = child(
        setup + ENCODE + ONE_JOB, *common, str(whole), "all", str(work / "out"), env=env
    )
    n_brain = int(ellipsoid(BRAIN).sum())
    for name, found in figures.items():
        extra = f", job peak {found['job_rss_mb']:.0f} MB" if "job_rss_mb" in found else ""
        print(f"{name:42s} {found['seconds']:8.1f} s   peak RSS {found['rss_mb']:7.0f} MB{extra}")
    baseline = (
        figures["ISA-L pass over every session"]["seconds"]
        + figures["one encoding job (roiA)"]["seconds"]
    )
    total = sum(
        figures[k]["seconds"]
        for k in (
            "session caches, 2 workers",
            "responses (from the caches)",
            "16 encoding jobs on 2 workers",
        )
    )
    print(
        f"caches + responses + 16 jobs: {total:.1f} s; ISA-L pass + one job: {baseline:.1f} s; "
        f"ratio {total / baseline:.2f} (target <= 1.5)"
    )
    size_mb = IMAGES * n_brain * 4 / 1e6
    print(
        f"whole brain: {n_brain} voxels, the subject's responses {size_mb:.0f} MB; peak RSS "
        f"{figures['responses, whole brain (from the cache)']['rss_mb']:.0f} MB (responses stage), "
        f"{figures['one encoding job, whole brain']['rss_mb']:.0f} MB (encoding job)"
    )
    print(f"grid {SHAPE}, {len(sessions)} sessions x {args.trials} trials, {IMAGES} images")


if __name__ == "__main__":
    main()
