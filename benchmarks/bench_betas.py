"""Benchmark: reading masked single-trial betas from a real-size 4D ``.nii.gz``, with and
without the voxel-major cache.

    .venv/bin/python benchmarks/bench_betas.py [--workdir DIR] [--trials 1044] [--skip-nibabel]

Writes (once) a 143 x 143 x 143 x 1044 float32 betas file with realistic compressibility
(a smooth signal plus noise in an ellipsoid of 921k voxels, zeros outside, gzip level 1 as
nibabel writes: 3.63 GB gz, 12.2 GB raw), and a brain mask of 272,607 voxels (the size of
sub-01's ``res-1pt8`` mask). Then runs, each in a fresh process with the file in the page
cache, side by side: a bare stdlib-gzip pass over the file; the same with ISA-L; the first
read of a compact 4,945-voxel ROI without the cache; the same first read writing the cache;
a later read of a different compact ROI from the cache; the whole brain mask from the
cache (plain and z-scored); nibabel's full load then mask. Prints wall time and peak RSS
(``VmHWM``) of each, the cache's size, and the ratios the betas issue sets targets for.
Not a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt

SHAPE = (143, 143, 143)
BRAIN = 0.444  # the ellipsoid of the brain mask: 272,607 voxels
ROI_RADIUS = 10.6  # a ball of 4,945 voxels
ROI_A = (60, 70, 75)  # the first read's ROI
ROI_B = (85, 60, 65)  # a different one, read from the cache

SETUP = """
from laion_fmri_datalad.loaders.betas.cache import load_betas
BRAIN = np.load(sys.argv[2]); A = np.load(sys.argv[3]); B = np.load(sys.argv[4])
sel = lambda roi: np.asarray(roi[BRAIN])
"""
METHODS = {
    "bare stdlib gzip pass": """
import gzip
buffer = bytearray(1 << 20)
with gzip.open(PATH, "rb") as f:
    while f.readinto(buffer):
        pass
""",
    "bare ISA-L pass": """
from isal import igzip
buffer = bytearray(1 << 20)
with igzip.open(PATH, "rb") as f:
    while f.readinto(buffer):
        pass
""",
    "first read, ROI A, no cache": "result = load_betas(PATH, BRAIN, sel(A), None, use_cache=False)",
    "first read, ROI A, writing the cache": "result = load_betas(PATH, BRAIN, sel(A), None)",
    "cached read, ROI B": "result = load_betas(PATH, BRAIN, sel(B), None)",
    "cached read, whole brain": "result = load_betas(PATH, BRAIN, np.ones(int(BRAIN.sum()), bool), None)",
    "cached read, whole brain, zscore": (
        "result = load_betas(PATH, BRAIN, np.ones(int(BRAIN.sum()), bool), None, zscore=True)"
    ),
    "nibabel full load + mask, ROI A": """
import nibabel as nib
data = nib.load(PATH).get_fdata(dtype=np.float32)
result = data[A].T
""",
}

RUNNER = """
import json, resource, sys, time
import numpy as np
from pathlib import Path
PATH = Path(sys.argv[1])
{setup}
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().splitlines()
rss_mb = int(next(l for l in status if l.startswith("VmHWM")).split()[1]) / 1024
shape = list(result.shape) if "result" in dir() else None
result_mb = result.nbytes / 1e6 if "result" in dir() else 0.0
print(json.dumps({{"seconds": seconds, "rss_mb": rss_mb, "shape": shape, "result_mb": result_mb}}))
"""


def write_betas(path: Path, trials: int) -> None:
    """Volume by volume into a gzip stream: memory stays at a few volumes."""
    inside = ellipsoid(1.0)
    grid = np.meshgrid(*[np.linspace(0, 6, n) for n in SHAPE], indexing="ij")
    smooth = (np.sin(grid[0]) * np.cos(grid[1]) + np.sin(grid[2])).astype(np.float32)
    rng = np.random.default_rng(0)
    header = nib.Nifti1Header()
    header.set_data_shape((*SHAPE, trials))
    header.set_data_dtype(np.float32)
    header.set_zooms((1.778, 1.778, 1.778, 1.0))
    header.set_qform(np.diag([1.778, 1.778, 1.778, 1.0]), code=1)
    header.set_data_offset(352)
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        header.write_to(out)
        out.write(b"\0" * (int(header.get_data_offset()) - header.sizeof_hdr))
        for _ in range(trials):
            volume = smooth * rng.normal(1.0, 0.2) + rng.normal(0, 0.5, SHAPE).astype(np.float32)
            volume = np.where(inside, volume, 0).astype(np.float32)
            out.write(volume.tobytes(order="F"))
    partial.rename(path)


def ellipsoid(radius: float) -> npt.NDArray[np.bool_]:
    grid = np.meshgrid(*[np.linspace(-1, 1, n) for n in SHAPE], indexing="ij")
    return np.asarray(grid[0] ** 2 / 0.7 + grid[1] ** 2 / 0.9 + grid[2] ** 2 / 0.6 <= radius)


def ball(centre: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
    i, j, k = np.indices(SHAPE)
    a, b, c = centre
    return np.asarray((i - a) ** 2 + (j - b) ** 2 + (k - c) ** 2 <= ROI_RADIUS**2)


def run(name: str, path: Path, masks: list[Path], env: dict[str, str]) -> dict[str, float]:
    code = METHODS[name]
    setup = SETUP if "load_betas" in code else ""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER.format(setup=setup, code=code), str(path), *map(str, masks)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--trials", type=int, default=1044)
    parser.add_argument("--skip-nibabel", action="store_true", help="no full load (12 GB+)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"betas-{args.trials}.nii.gz"
    if not path.exists():
        write_betas(path, args.trials)
    brain_mask = ellipsoid(BRAIN)
    masks = []
    for name, mask in (("brain", brain_mask), ("roi-a", ball(ROI_A)), ("roi-b", ball(ROI_B))):
        assert name == "brain" or (mask & ~brain_mask).sum() == 0
        masks.append(args.workdir / f"{name}.npy")
        np.save(masks[-1], mask)
    cache_dir = args.workdir / "cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    env = {**os.environ, "LAION_FMRI_CACHE_DIR": str(cache_dir)}
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache
    n_brain = int(brain_mask.sum())
    masked_mb = n_brain * args.trials * 4 / 1e6
    print(
        f"file: {path} ({path.stat().st_size / 1e9:.2f} GB gz, "
        f"{np.prod(SHAPE) * args.trials * 4 / 1e9:.1f} GB raw); brain mask {n_brain} voxels "
        f"({masked_mb:.0f} MB float32); ROIs {int(ball(ROI_A).sum())} and "
        f"{int(ball(ROI_B).sum())} voxels"
    )
    figures = {}
    for name in METHODS:
        if args.skip_nibabel and name.startswith("nibabel"):
            continue
        figures[name] = f = run(name, path, masks, env)
        print(
            f"| {name} | {f['seconds']:.2f} s | {f['rss_mb']:.0f} MB | {f['result_mb']:.0f} MB "
            f"| {f['rss_mb'] - f['result_mb']:.0f} MB |",
            flush=True,
        )
    cache_mb = sum(p.stat().st_size for p in cache_dir.glob("**/*.h5")) / 1e6
    bare = figures["bare stdlib gzip pass"]["seconds"]
    first = figures["first read, ROI A, no cache"]["seconds"]
    writing = figures["first read, ROI A, writing the cache"]["seconds"]
    print(f"first read / stdlib pass: {first / bare:.2f} (target <= 0.65)")
    print(f"first read writing the cache / stdlib pass: {writing / bare:.2f} (target <= 1.0)")
    print(f"cached ROI read: {figures['cached read, ROI B']['seconds']:.2f} s (target <= 0.5)")
    print(
        f"cached whole brain: {figures['cached read, whole brain']['seconds']:.2f} s (target <= 5)"
    )
    print(
        f"cache size: {cache_mb:.0f} MB, {cache_mb / masked_mb:.3f}x the masked float32 data "
        "(target <= 1.1)"
    )
    worst = max(f["rss_mb"] - f["result_mb"] for k, f in figures.items() if "read" in k)
    print(f"largest peak RSS - result of the reader paths: {worst:.0f} MB (target <= 150)")


if __name__ == "__main__":
    main()
