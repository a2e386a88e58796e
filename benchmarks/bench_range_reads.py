"""An ROI's betas from real-size ``model.h5`` files by byte ranges (issue 36), side by side:
upstream's tutorial recipe, this project's reader, and one bare GET of the ROI's bytes.

    .venv/bin/python benchmarks/bench_range_reads.py --workdir /tmp/bench-ranges [--sessions 4]

Writes (once) ``--sessions`` files laid out as the bucket's (2.5 MB of diagnostics, then
``betasmd``: 272,607 voxels x 1,044 trials float32, contiguous: 1.14 GB each), serves them
from a real S3 server (SeaweedFS) on 127.0.0.1, and puts a proxy in front that waits 100 ms
before every answer (a user in Europe reading the us-west-2 bucket) and counts requests and
body bytes. For an FFA-sized ROI (two blobs, ~220 voxels) and a compact 3,000-voxel ROI:

* upstream: the tutorial's cell, one session after another: h5py opens the file through
  fsspec's HTTP file (16 kB blocks) for the offset, rows <= 8 apart merged, ``cat_ranges``
  16 at a time, no retries;
* ours: ``loaders/betas/modelfile.read_rows`` (what ``get_betas`` calls when the NIfTI is not
  here): headers, then every session's ranges in one concurrent batch; then the same again
  (from the row cache) and through 20% injected faults (503s, resets, cut bodies);
* bare: one GET per session of exactly the ROI's bytes, sessions in parallel (the floor);
* the gap threshold and concurrency: ours with other values, requests and bytes.

The NIfTI path's bytes are the whole compressed file per session: at least 1.1 GB at real size
(DESIGN §2.13), 3.6 GB for ``bench_betas.py``'s incompressible generator.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).parent))
from bench_betas import BRAIN, SHAPE, ellipsoid
from laion_fmri_datalad.devserver.s3load import admin_client, ensure_bucket
from laion_fmri_datalad.devserver.s3server import LocalS3Server
from laion_fmri_datalad.loaders.betas import modelfile
from laion_fmri_datalad.loaders.betas.modelfile import ModelFile, RowQuery, read_rows
from laion_fmri_datalad.loaders.betas.rangefetch import CONCURRENCY
from laion_fmri_datalad.loaders.betas.ranges import GAP_ROWS

N_TRIALS = 1044
BUCKET = "laion-fmri"
KEY = "derivatives/glmsingle-tedana/sub-01/{s}/func/sub-01_{s}_task-images_space-T1w_desc-GLMsingle_model.h5"
DELAY = 0.1
NIFTI_BYTES = 1.1e9  # the real NIfTI's compressed size per session, at least (DESIGN §2.13)


def rois(brain: npt.NDArray[np.bool_]) -> dict[str, npt.NDArray[np.intp]]:
    """Rows of ``betasmd``: FFA-like (two small blobs) and a compact ball of ~3,000 voxels."""
    i, j, k = np.indices(SHAPE)

    def blob(centre: tuple[int, int, int], radius: float) -> npt.NDArray[np.bool_]:
        a, b, c = centre
        return np.asarray((i - a) ** 2 + (j - b) ** 2 + (k - c) ** 2 <= radius**2)

    ffa = blob((50, 60, 50), 3.2) | blob((53, 66, 48), 2.9)
    compact = blob((85, 60, 65), 8.95)
    return {name: np.flatnonzero(mask[brain]) for name, mask in (("FFA", ffa), ("3000", compact))}


def write_model(path: Path, brain_voxels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w", track_order=False) as handle:
        for name in ("HRFindex", "R2", "FRACvalue", "meanvol", "noisepool"):
            handle.create_dataset(name, data=rng.random(brain_voxels, dtype=np.float32))
        betas = handle.create_dataset("betasmd", (brain_voxels, 1, 1, N_TRIALS), dtype="<f4")
        for start in range(0, brain_voxels, 16384):
            stop = min(start + 16384, brain_voxels)
            betas[start:stop, 0, 0, :] = rng.standard_normal(
                (stop - start, N_TRIALS), dtype=np.float32
            )


def upstream_recipe(
    url: str, rows: npt.NDArray[np.intp], n_voxels: int, limit: float | None = None
) -> npt.NDArray[np.float32]:
    """The tutorial's cell (no retries); ``limit``: seconds a connection may stall (the
    tutorial has none; the fault runs give one, so a stalled read fails instead of waiting
    for aiohttp's five minutes)."""
    import aiohttp
    import fsspec

    kwargs = {"timeout": aiohttp.ClientTimeout(sock_read=limit)} if limit else {}
    http = fsspec.filesystem("http", skip_instance_cache=True, client_kwargs=kwargs)
    with http.open(url, "rb", block_size=16384) as remote, h5py.File(remote, "r") as model:
        dataset = model["betasmd"]
        assert dataset.shape == (n_voxels, 1, 1, N_TRIALS) and dataset.chunks is None
        offset, dtype = dataset.id.get_offset(), dataset.dtype
    groups = np.split(rows, np.flatnonzero(np.diff(rows) > 8) + 1)
    row_bytes = N_TRIALS * dtype.itemsize
    starts = [offset + int(g[0]) * row_bytes for g in groups]
    ends = [offset + (int(g[-1]) + 1) * row_bytes for g in groups]
    blocks = http.cat_ranges([url] * len(groups), starts, ends, on_error="raise", batch_size=16)
    return np.concatenate(
        [
            np.frombuffer(b, dtype=dtype).reshape(-1, N_TRIALS)[g - g[0]]
            for b, g in zip(blocks, groups, strict=True)
        ]
    ).T


class Proxy:
    """The fault proxy (``devserver/faultproxy.py``) in a process of its own, so that its
    work does not compete with the client's for this process's interpreter: it waits
    ``DELAY`` before every answer, counts requests and body bytes, and injects faults when
    told."""

    def __init__(self, upstream: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "laion_fmri_datalad.devserver.faultproxy", upstream,
             "--delay", str(DELAY)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def _control(self, query: str = "") -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/__faultproxy__/stats{query}") as answer:
            stats: dict[str, Any] = json.loads(answer.read())
        return stats

    def stats(self) -> dict[str, Any]:
        return self._control()

    def faults(self, rate: float, per_url: int = 3) -> dict[str, Any]:
        return self._control(f"?rate={rate}&per_url={per_url}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def measured(proxy: Proxy, work: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    before = proxy.stats()
    start = time.perf_counter()
    result = work(*args, **kwargs)
    seconds = time.perf_counter() - start
    after = proxy.stats()
    return {
        "seconds": round(seconds, 3),
        "requests": after["requests"] - before["requests"],
        "bytes": after["body_bytes"] - before["body_bytes"],
        "result": result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--sessions", type=int, default=4)
    args = parser.parse_args()
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    brain = ellipsoid(BRAIN)
    n_voxels = int(brain.sum())
    sessions = [f"ses-{i:02d}" for i in range(1, args.sessions + 1)]
    files = {s: work / f"{s}_model.h5" for s in sessions}
    for index, path in enumerate(files.values()):
        if not path.is_file():
            print(f"writing {path.name} ({n_voxels} x {N_TRIALS})", flush=True)
            write_model(path, n_voxels, index)
    row_bytes = N_TRIALS * 4
    report: dict[str, Any] = {"voxels": n_voxels, "file_bytes": files[sessions[0]].stat().st_size}
    with LocalS3Server(work / "s3", public_bucket=BUCKET) as server:
        client = admin_client(server)
        ensure_bucket(client, BUCKET)
        urls = {}
        for session, path in files.items():
            key = KEY.format(s=session)
            if not _uploaded(client, key, path.stat().st_size):
                print(f"uploading {key}", flush=True)
                client.upload_file(str(path), BUCKET, key)
            urls[session] = key
        proxy = Proxy(server.endpoint_url)
        try:
            url = {s: f"{proxy.url}/{BUCKET}/{k}" for s, k in urls.items()}
            served = Served(url, files, sessions, n_voxels)
            for roi, rows in rois(brain).items():
                roi_bytes = rows.size * row_bytes * len(sessions)
                line: dict[str, Any] = {"voxels": int(rows.size), "roi_bytes": roi_bytes}
                print(f"{roi}: the upstream recipe, bare GETs, ours", flush=True)
                up = measured(proxy, _upstream_sessions, url, sessions, rows, n_voxels)
                bare = measured(proxy, _bare_gets, url, files, sessions, row_bytes * rows.size)
                with tempfile.TemporaryDirectory() as cache:
                    queries = served.queries(rows, Path(cache))
                    ours = measured(proxy, read_rows, queries)
                    again = measured(proxy, read_rows, queries)
                for got, want in zip(ours["result"], up["result"], strict=True):
                    assert np.array_equal(got.T, want)
                line.update(
                    upstream={k: v for k, v in up.items() if k != "result"},
                    ours={k: v for k, v in ours.items() if k != "result"},
                    second_read={k: v for k, v in again.items() if k != "result"},
                    bare_get={k: v for k, v in bare.items() if k != "result"},
                )
                line["ours_bytes_over_roi"] = round(ours["bytes"] / roi_bytes, 3)
                line["ours_time_over_upstream"] = round(ours["seconds"] / up["seconds"], 3)
                line["ours_time_over_bare"] = round(ours["seconds"] / bare["seconds"], 3)
                line["upstream_time_over_bare"] = round(up["seconds"] / bare["seconds"], 3)
                line["nifti_bytes_over_roi"] = round(NIFTI_BYTES * len(sessions) / roi_bytes)
                line["requests_per_session"] = ours["requests"] / len(sessions)
                print(f"{roi}: through faults, then gap and concurrency", flush=True)
                line["faults"] = faults(proxy, served, rows, ours["result"])
                line["gap"] = gaps(proxy, served, rows)
                report[roi] = line
                print(json.dumps({roi: line}, indent=1), flush=True)
        finally:
            proxy.stop()
    (work / "report.json").write_text(json.dumps(report, indent=1))


def _uploaded(client: Any, key: str, size: int) -> bool:
    try:
        return int(client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]) == size
    except Exception:
        return False


@dataclass(frozen=True)
class Served:
    """The sessions' files as the proxy serves them."""

    url: dict[str, str]
    files: dict[str, Path]
    sessions: list[str]
    n_voxels: int

    def queries(self, rows: npt.NDArray[np.intp], cache: Path) -> list[RowQuery]:
        """What ``read_rows`` takes for ``rows`` of every session, its caches in ``cache``."""
        return [
            RowQuery(_model(self.files[s], self.url[s], cache), rows, self.n_voxels, N_TRIALS)
            for s in self.sessions
        ]


def _upstream_sessions(
    url: dict[str, str], sessions: list[str], rows: npt.NDArray[np.intp], n_voxels: int
) -> list[npt.NDArray[np.float32]]:
    return [upstream_recipe(url[s], rows, n_voxels) for s in sessions]


def _bare_gets(
    url: dict[str, str], files: dict[str, Path], sessions: list[str], size: int
) -> list[int]:
    with ThreadPoolExecutor(len(sessions)) as pool:
        return list(pool.map(lambda s: _bare_get(url[s], files[s], size), sessions))


def _model(path: Path, url: str, cache: Path) -> ModelFile:
    """A ModelFile whose caches live in ``cache`` (fresh per run)."""
    import os

    os.environ["LAION_FMRI_CACHE_DIR"] = str(cache)
    return ModelFile(path, f"BENCH-s{path.stat().st_size}--{path.stem}", url, path.stat().st_size)


def _bare_get(url: str, path: Path, size: int) -> int:
    import urllib.request

    with h5py.File(path, "r") as handle:
        offset = handle["betasmd"].id.get_offset()
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-{offset + size - 1}"})
    with urllib.request.urlopen(request) as answer:
        return len(answer.read())


def faults(
    proxy: Proxy,
    served: Served,
    rows: npt.NDArray[np.intp],
    expected: list[npt.NDArray[np.float32]],
) -> dict[str, Any]:
    """20% of requests answered with a 503, a reset or a cut body (each range at most 3)."""
    before = proxy.faults(0.2, 3)["counts"]
    survived = 0
    for session in served.sessions:
        try:
            upstream_recipe(served.url[session], rows, served.n_voxels, limit=30)
            survived += 1
        except Exception:
            pass
    with tempfile.TemporaryDirectory() as cache:
        got = read_rows(served.queries(rows, Path(cache)))
    identical = all(np.array_equal(a, b) for a, b in zip(got, expected, strict=True))
    after = proxy.faults(0.0)["counts"]
    injected = {k: v - before.get(k, 0) for k, v in after.items() if k != "forwarded"}
    return {
        "upstream_sessions_survived": survived,
        "ours_identical": identical,
        "injected": injected,
    }


def gaps(proxy: Proxy, served: Served, rows: npt.NDArray[np.intp]) -> dict[str, Any]:
    """The rows alone (headers read first), for gap thresholds at the chosen concurrency and
    for concurrencies at the chosen gap."""
    found = {}
    settings = [(g, CONCURRENCY) for g in (0, 2, 8, 32, 128)]
    settings += [(GAP_ROWS, c) for c in (8, 16, 32, 128) if c != CONCURRENCY]
    for gap, concurrency in settings:
        with tempfile.TemporaryDirectory() as cache:
            queries = served.queries(rows, Path(cache))
            modelfile.plan(queries)  # headers first: the rows alone are measured
            result = measured(proxy, read_rows, queries, gap=gap, concurrency=concurrency)
        found[f"gap {gap}, {concurrency} in flight"] = {
            k: v for k, v in result.items() if k != "result"
        }
    return found


if __name__ == "__main__":
    main()
