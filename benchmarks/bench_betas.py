"""Benchmark: reading masked single-trial betas from a real-size 4D ``.nii.gz``.

    .venv/bin/python benchmarks/bench_betas.py [--workdir DIR] [--trials 1044]

Writes (once) a 143 x 143 x 143 x 1044 float32 betas file with realistic compressibility
(a smooth brain-shaped signal plus noise, zeros outside the brain, gzip level 1 as nibabel
writes), then runs, each in a fresh process, side by side: a bare gzip decompression of the
file, this project's streaming reader, nibabel's full load then mask (upstream's default),
and nibabel per-volume proxy slicing (one file handle kept open). Prints wall time and peak
RSS of each, and the ratios the loaders issue sets targets for. Not a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import numpy.typing as npt

SHAPE = (143, 143, 143)
ROI_SLICE = (slice(55, 85), slice(50, 90), slice(40, 80))  # a 48,000-voxel block

METHODS = {
    "bare gzip": """
import zlib
d = zlib.decompressobj(31)
with open(PATH, "rb") as f:
    while chunk := f.read(1 << 20):
        d.decompress(chunk)
""",
    "streaming reader": """
from laion_fmri_datalad.loaders.betas import read_masked_betas
result = read_masked_betas(PATH, MASK)
""",
    "nibabel full load + mask": """
import nibabel as nib
data = nib.load(PATH).get_fdata(dtype=np.float32)
result = data[MASK].T
""",
    "nibabel proxy per volume": """
import nibabel as nib
image = nib.load(PATH, keep_file_open=True)
n = image.shape[3]
result = np.empty((n, int(MASK.sum())), dtype=np.float32)
for t in range(n):
    result[t] = np.asarray(image.dataobj[..., t], dtype=np.float32)[MASK]
""",
}

RUNNER = """
import json, resource, sys, time
import numpy as np
import numpy.typing as npt
from pathlib import Path
PATH = Path(sys.argv[1])
MASK = np.load(sys.argv[2])
start = time.perf_counter()
{code}
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().splitlines()
rss_mb = int(next(l for l in status if l.startswith("VmHWM")).split()[1]) / 1024
shape = list(result.shape) if "result" in dir() else None
print(json.dumps({{"seconds": seconds, "rss_mb": rss_mb, "shape": shape}}))
"""


def brain() -> npt.NDArray[np.bool_]:
    grid = np.meshgrid(*[np.linspace(-1, 1, n) for n in SHAPE], indexing="ij")
    return np.asarray(grid[0] ** 2 / 0.7 + grid[1] ** 2 / 0.9 + grid[2] ** 2 / 0.6 <= 1.0)


def write_betas(path: Path, trials: int) -> None:
    """Volume by volume into a gzip stream: memory stays at a few volumes."""
    inside = brain()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--trials", type=int, default=1044)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / f"betas-{args.trials}.nii.gz"
    if not path.exists():
        write_betas(path, args.trials)
    mask = np.zeros(SHAPE, dtype=bool)
    mask[ROI_SLICE] = True
    mask &= brain()
    mask_file = args.workdir / "mask.npy"
    np.save(mask_file, mask)
    result_mb = args.trials * int(mask.sum()) * 4 / 1e6
    print(f"file: {path} ({path.stat().st_size / 1e9:.2f} GB gz, "
          f"{np.prod(SHAPE) * args.trials * 4 / 1e9:.1f} GB raw); mask {int(mask.sum())} voxels; "
          f"result {result_mb:.0f} MB")  # fmt: skip
    figures = {}
    for name, code in METHODS.items():
        done = subprocess.run(
            [sys.executable, "-c", RUNNER.format(code=code), str(path), str(mask_file)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
        f = figures[name]
        print(f"{name:28s} {f['seconds']:8.1f} s  peak RSS {f['rss_mb']:8.0f} MB")
    bare, ours, full = (
        figures[k] for k in ("bare gzip", "streaming reader", "nibabel full load + mask")
    )
    print(
        f"reader time / bare decompression: {ours['seconds'] / bare['seconds']:.2f} (target <= 1.3)"
    )
    print(f"reader peak RSS - result size: {ours['rss_mb'] - result_mb:.0f} MB (target <= 150)")
    print(f"full-load RSS / reader RSS: {full['rss_mb'] / ours['rss_mb']:.1f} (target >= 3)")


if __name__ == "__main__":
    main()
