"""The demo's S3 server behind a counting proxy on the port the demo's URLs name (the
server moved to a free port for the run), for the benchmarks that measure a clone of the
demo: ``with behind_proxy(demo, schedule) as proxy: ...``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from laion_fmri_datalad.devserver.faultproxy import FaultProxy, Schedule
from laion_fmri_datalad.devserver.localbucket import STATE, port_to_serve, start_bucket
from laion_fmri_datalad.devserver.s3server import free_ports
from laion_fmri_datalad.repo.env import tool_env


def checked_demo(demo: Path) -> Path:
    """``demo``, absolute, if ``make demo`` made it; a ``SystemExit`` saying so if not."""
    demo = demo.absolute()
    if not (demo / "ria").is_dir() or port_to_serve(demo / "s3", None) is None:
        raise SystemExit(f"--demo {demo}: no RIA store or server data there; run make demo first")
    return demo


@contextmanager
def behind_proxy(demo: Path, schedule: Schedule) -> Iterator[FaultProxy]:
    """The demo's bucket served, the proxy with ``schedule`` in front of it, this process's
    git-annex allowed to reach them (a benchmark sets its own process up once)."""
    os.environ.update(tool_env(loopback=True))
    recorded = port_to_serve(demo / "s3", None)
    state = demo / "s3" / STATE
    saved = state.read_text()  # the server moves aside for the proxy, for this run only
    bucket = start_bucket(demo / "fixture", demo / "s3", port=free_ports(1)[0])
    state.write_text(saved)
    try:
        with FaultProxy(bucket.server.endpoint_url, schedule, port=recorded or 0) as proxy:
            yield proxy
    finally:
        bucket.server.stop()
