"""Benchmark: building the superdataset from the real-size synthetic bucket, against
``datalad addurls`` on the same listing, side by side in one run.

    .venv/bin/python benchmarks/bench_build.py [--workdir DIR] [--scale real]

Prints the time of a full build (registration with hashing of multipart objects reported
separately), of a no-op rebuild, and of ``datalad addurls --key 'et:MD5-s{size}--{md5}'``
(as is, and with ``--exclude-autometa '*'``) on the annexed objects with a plain MD5 ETag,
with files per second and ratios. Not a test: run it by hand and record the figures in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from laion_fmri_datalad.builder.builder import build
from laion_fmri_datalad.builder.inventory import ANNEX, load_inventory
from laion_fmri_datalad.devserver.fixture.bucket import MANIFEST, write_fixture
from laion_fmri_datalad.devserver.localbucket import start_bucket
from laion_fmri_datalad.repo.env import tool_env

TARGETS = {"registration_s": 60.0, "addurls_ratio": 2.0, "noop_s": 10.0}


def addurls_rows(superdataset: Path) -> list[dict[str, object]]:
    """The annexed objects with an MD5 key, as addurls records (one dataset, same paths)."""
    rows: list[dict[str, object]] = []
    for inventory in sorted(superdataset.glob("**/.laion-fmri/inventory.tsv")):
        dataset = inventory.parent.parent
        prefix = dataset.relative_to(superdataset).as_posix()
        for entry in load_inventory(dataset).values():
            if entry.storage == ANNEX and entry.annex_key.startswith("MD5E-"):
                rows.append(
                    {
                        "filename": f"{prefix}/{entry.path}" if prefix != "." else entry.path,
                        "url": entry.url,
                        "size": entry.size,
                        "md5": entry.etag,
                    }
                )
    return rows


def run_addurls(workdir: Path, table: Path, extra: list[str]) -> float:
    import datalad.api as dl

    target = workdir / ("addurls" + ("-noautometa" if extra else ""))
    dl.create(path=str(target), result_renderer="disabled")
    cmd = [
        "datalad",
        "addurls",
        "-d",
        str(target),
        "--key",
        "et:MD5-s{size}--{md5}",
        *extra,
        str(table),
        "{url}",
        "{filename}",
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def verdict(what: str, met: bool) -> None:
    print(f"target {what}: {'met' if met else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--scale", default="real")
    parser.add_argument("--skip-addurls", action="store_true")
    parser.add_argument(
        "--addurls-sample",
        type=int,
        default=0,
        help="give the slow addurls configuration (with autometa) only the first N files; "
        "files/s is compared (default: all)",
    )
    args = parser.parse_args()
    # a benchmark is a program: its main sets its own process up once, as the CLI does
    os.environ.update(tool_env(loopback=True))
    workdir = args.workdir.absolute()
    fixture = workdir / f"fixture-{args.scale}"
    if not (fixture / MANIFEST).is_file():
        start = time.perf_counter()
        write_fixture(fixture, args.scale, 0)
        print(f"fixture written in {time.perf_counter() - start:.1f} s")
    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
    start = time.perf_counter()
    served = start_bucket(fixture, workdir / f"s3-{args.scale}")  # loaded once, then reused
    print(f"server started and loaded in {time.perf_counter() - start:.1f} s")
    try:
        superdataset = scratch / "superdataset"
        start = time.perf_counter()
        report = build(superdataset, served.location)
        full = time.perf_counter() - start
        assert report.ok, report.failures
        files = sum(c.added for c in report.datasets.values())
        hashing = report.timings.get("hash", 0.0)
        registration = full - hashing
        start = time.perf_counter()
        again = build(superdataset, served.location)
        noop = time.perf_counter() - start
        assert not again.committed
        print(json.dumps({k: round(v, 2) for k, v in report.timings.items()}))
        print(
            f"objects listed/routed: {files + report.total().withheld} "
            f"({files} registered, {report.total().withheld} withheld)"
        )
        print(f"full build:        {full:7.1f} s")
        print(
            f"  hashing:         {hashing:7.1f} s ({report.hashed_objects} multipart objects, "
            f"{report.hashed_bytes / 1e6:.1f} MB)"
        )
        print(
            f"  registration:    {registration:7.1f} s  {files / registration:8.0f} files/s "
            f"(target <= {TARGETS['registration_s']:.0f} s)"
        )
        print(f"no-op rebuild:     {noop:7.1f} s  (target <= {TARGETS['noop_s']:.0f} s)")
        if args.skip_addurls:
            return
        rows = addurls_rows(superdataset)
        ours_per_file = registration / files
        best_rate = 0.0
        for label, extra, count in (
            ("addurls", [], args.addurls_sample or len(rows)),
            ("addurls --exclude-autometa '*'", ["--exclude-autometa", "*"], len(rows)),
        ):
            table = scratch / f"addurls-{count}.json"
            table.write_text(json.dumps(rows[:count]))
            seconds = run_addurls(scratch, table, extra)
            rate = count / seconds
            best_rate = max(best_rate, rate)
            print(
                f"{label:32s} {seconds:7.1f} s  {rate:8.0f} files/s ({count} files); "
                f"builder is {1 / ours_per_file / rate:.1f}x faster per file"
            )
        verdict("registration", registration <= TARGETS["registration_s"])
        verdict("no-op rebuild", noop <= TARGETS["noop_s"])
        verdict("2x the faster addurls", 1 / ours_per_file / best_rate >= TARGETS["addurls_ratio"])
    finally:
        served.server.stop()
        subprocess.run(["chmod", "-R", "u+w", str(scratch)], check=False)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
