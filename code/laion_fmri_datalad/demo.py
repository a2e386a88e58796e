"""The README's main command: the whole job on the embedded synthetic bucket."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .access import ALLOWED, probe_access
from .fixture.bucket import write_fixture
from .localbucket import start_bucket
from .progress import progress_bar
from .s3client import current_objects, iter_listing
from .s3server import ensure_writable_dir


def _group(key: str) -> str:
    parts = key.split("/")
    if parts[0] == "derivatives" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0] if len(parts) > 1 else "(top level)"


def run_demo(workdir: Path, scale: str = "tiny", seed: int = 0, port: int | None = None) -> int:
    workdir = ensure_writable_dir(Path(workdir), "demo directory")
    fixture = workdir / "fixture"
    print(f"[1/3] synthetic bucket ({scale}, seed {seed}) -> {fixture}", flush=True)
    with progress_bar("writing objects") as advance:
        write_fixture(fixture, scale, seed, progress=advance)
    with progress_bar("uploading objects") as advance:
        served = start_bucket(fixture, workdir / "s3", port, progress=advance)
    try:
        location = served.location
        print(f"[2/3] SeaweedFS S3 serving '{location.bucket}' at {location.endpoint_url}")
        versions = list(iter_listing(location))
        latest = current_objects(iter(versions))
        with progress_bar("probing access") as advance:
            status = probe_access(location, latest.values(), progress=advance)
        print(f"[3/3] anonymous listing of s3://{location.bucket}:")
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        denied: Counter[str] = Counter()
        for obj in latest.values():
            group = _group(obj.key)
            counts[group] += 1
            sizes[group] += obj.size
            denied[group] += status[obj.key] != ALLOWED
        print(f"  {'prefix':32s} {'objects':>8s} {'MB':>8s} {'denied':>7s}")
        for group in sorted(counts):
            print(f"  {group:32s} {counts[group]:8d} {sizes[group] / 1e6:8.2f} {denied[group]:7d}")
        older = len(versions) - len(latest)
        multipart = sum(o.multipart for o in latest.values())
        print(
            f"  total: {len(latest)} objects, {older} older versions, "
            f"{multipart} multipart uploads, {sum(denied.values())} denied on GET"
        )
    finally:
        served.server.stop()
    print("server stopped")
    return 0
